// Goal: the ledger explorer works for a person in a real browser (issue #8 acceptance 2): served by the
// gateway with nothing from the internet, it shows the node's status, ledger height and schema version;
// checks a transaction proof in the page with the CLI's own verification code (and rejects a tampered
// one); runs a query in the bundled GraphQL IDE; and shows the block a mutation committed in, with its
// transaction, whose proof (from the partner's ledger directory, as `entente proof` reads it) checks.
// Method: the demo network (what `npm start` runs) in a temporary directory, headless Chromium through
// playwright-core (executablePath /usr/bin/chromium, or $CHROMIUM_PATH), every request outside the
// gateway blocked and recorded. The proof fixture is a signed 4-node test ledger written to disk and
// proved with `entente proof`, exactly as a user would. Screenshots go to test/artifacts/ (not committed).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../gateway/cli/main.ts';
import { startDemoNetwork, type DemoNetwork } from '../../gateway/demo/demo-network.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { proveTransaction } from '../../ledger/ledger-queries.ts';
import { writeTestLedger } from '../../ledger/testing/test-network.ts';
import { transactionId } from '../../ledger/transaction.ts';

const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));
// The first start creates four PGlite databases; on a loaded 2-core machine that takes a while.
const startTimeoutMs = 180_000;
const uiTimeoutMs = 20_000;
const networkReadyMs = 90_000;

let folder: string;
let network: DemoNetwork;
let browser: Browser;
let explorerUrl: string;
let graphqlUrl: string;
let fixtureProof: string;
const outsideRequests: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`No Chromium at ${chromiumPath}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
  folder = await mkdtemp(join(tmpdir(), 'entente-explorer-'));
  await mkdir(artifacts, { recursive: true });
  fixtureProof = await proofFromTestLedger(join(folder, 'fixture-ledger'));
  network = await startDemoNetwork({ dataDir: join(folder, 'demo'), fresh: false, basePort: 0, progress: () => undefined });
  graphqlUrl = network.partners[0]!.graphqlUrl;
  explorerUrl = graphqlUrl.replace(/\/graphql$/, '/explorer');
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
}, startTimeoutMs);

afterAll(async () => {
  await browser?.close();
  await network?.close();
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

/** `entente proof <txId> --data <dir>` on a freshly written, signed test ledger: the JSON a user would paste. */
async function proofFromTestLedger(directory: string): Promise<string> {
  const ledger = await writeTestLedger(directory, { nodes: 4, blocks: 3, txPerBlock: 4 });
  const txId = toHex(transactionId(nodeHasher, ledger.blocks[1]!.transactionBytes[2]!));
  const out: string[] = [];
  expect(await main(['proof', txId, '--data', directory], { stdout: (text) => out.push(text), stderr: () => undefined })).toBe(0);
  return out.join('');
}

/** A page that may only talk to the gateway: anything else is blocked and recorded (the explorer must work offline). */
async function openPage(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const origin = new URL(url).origin;
  await page.route('**/*', (route) => {
    const target = route.request().url();
    if (target.startsWith(origin) || target.startsWith('data:')) return route.continue();
    outsideRequests.push(target);
    return route.abort();
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url);
  return page;
}

async function graphql(document: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const response = await fetch(graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: document }) });
  return (await response.json()) as never;
}

describe('the ledger explorer in a browser', () => {
  it('shows the node status, the ledger height and the schema version, from the gateway alone', { timeout: 120_000 }, async () => {
    const page = await openPage(explorerUrl);
    // Right after start the gateways are still finding each other; the ledger check turns ready then.
    await expect.poll(() => page.textContent('#status-ready .card-value'), { timeout: networkReadyMs }).toBe('Yes');
    await expect.poll(() => page.textContent('#status-schema-version .card-value'), { timeout: uiTimeoutMs }).toBe('1');
    const height = (await graphql('{ ledger { height } }')).data as { ledger: { height: number } };
    // Consensus keeps committing (empty blocks too), so the page may already be further along.
    await expect.poll(async () => Number(await page.textContent('#status-height .card-value')), { timeout: uiTimeoutMs }).toBeGreaterThanOrEqual(height.ledger.height);
    expect(await page.textContent('.brand .partner')).toBe('manufacturer');
    await expect.poll(() => page.textContent('#status-peers .card-value'), { timeout: networkReadyMs }).toBe('3 of 3');
    await page.screenshot({ path: join(artifacts, 'explorer-status.png'), fullPage: true });
    await page.close();
    expect(outsideRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('checks a transaction proof in the page with the same code as `entente proof --check`, and rejects a tampered one', { timeout: 60_000 }, async () => {
    const page = await openPage(explorerUrl);
    await page.fill('#proof-input', fixtureProof);
    await page.click('#proof-check');
    const result = page.locator('#proof-result');
    await expect.poll(() => result.getAttribute('class'), { timeout: uiTimeoutMs }).toBe('proof-result good');
    const text = await result.textContent();
    expect(text).toContain('The proof holds');
    expect(text).toMatch(/Certified bypartner-\d, partner-\d, partner-\d/);
    expect(text).toContain(`Committed in block#2`);
    await page.screenshot({ path: join(artifacts, 'explorer-proof.png'), fullPage: true });

    const tampered = JSON.parse(fixtureProof) as { batch: { signature: string } };
    tampered.batch.signature = (tampered.batch.signature[0] === '0' ? '1' : '0') + tampered.batch.signature.slice(1);
    await page.fill('#proof-input', JSON.stringify(tampered));
    await page.click('#proof-check');
    await expect.poll(() => result.getAttribute('class'), { timeout: uiTimeoutMs }).toBe('proof-result bad');
    expect(await result.textContent()).toContain('batch signature');
    await page.close();
    expect(outsideRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('runs a query in the bundled GraphQL IDE', { timeout: 60_000 }, async () => {
    const page = await openPage(explorerUrl.replace(/\/explorer$/, '/explorer/graphql'));
    await page.waitForSelector('.graphiql-container', { timeout: uiTimeoutMs });
    await page.click('.graphiql-execute-button');
    await expect.poll(async () => (await page.textContent('.result-window')) ?? '', { timeout: uiTimeoutMs }).toContain('"height"');
    await page.screenshot({ path: join(artifacts, 'explorer-graphiql.png') });
    await page.close();
    expect(outsideRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('shows a new block after a mutation, with its transaction, and checks that transaction\'s proof', { timeout: 90_000 }, async () => {
    const page = await openPage(explorerUrl);
    await page.waitForSelector('body[data-ledger-height]', { timeout: uiTimeoutMs });
    const before = Number(await page.getAttribute('body', 'data-ledger-height'));
    const created = await graphql('mutation { createPartOrder(input: { sku: "BRK-3310", quantity: 12, status: PLACED, plant: "Graz", needBy: "2026-12-15" }) { partOrder { id } transactionId ledgerHeight } }');
    expect(created.errors).toBeUndefined();
    const { transactionId: txId, ledgerHeight } = (created.data as { createPartOrder: { transactionId: string | null; ledgerHeight: number | null } }).createPartOrder;
    expect(txId, 'the mutation was not committed through the ledger (transactionId is null)').not.toBeNull();
    await expect.poll(async () => Number(await page.getAttribute('body', 'data-ledger-height')), { timeout: uiTimeoutMs }).toBeGreaterThan(before);
    // Other partners' changes keep committing too, so the mutation's block is the one it reported, not
    // necessarily the newest.
    const block = page.locator(`.block-row[data-height="${ledgerHeight}"]`);
    await block.waitFor({ timeout: uiTimeoutMs });
    await block.click();
    const row = page.locator(`.transaction-row[data-transaction="${txId}"]`);
    await row.waitFor({ timeout: uiTimeoutMs });
    expect(await row.textContent()).toContain('PartOrder');
    expect(await row.textContent()).toContain('created');

    // One click: the gateway serves the complete proof and the page checks it with the CLI's code.
    await row.getByRole('button', { name: 'Proof' }).click();
    const inRow = page.locator('.transaction-detail .proof-result');
    await expect.poll(() => inRow.getAttribute('class'), { timeout: uiTimeoutMs }).toBe('proof-result good');
    expect(await inRow.textContent()).toContain('manufacturer');

    const proof = await proveTransaction(join(network.partners[0]!.dataDir, 'ledger'), txId!);
    await page.fill('#proof-input', JSON.stringify(proof));
    await page.click('#proof-check');
    await expect.poll(() => page.locator('#proof-result').getAttribute('class'), { timeout: uiTimeoutMs }).toBe('proof-result good');
    await page.screenshot({ path: join(artifacts, 'explorer-new-block.png'), fullPage: true });
    await page.close();
    expect(outsideRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
