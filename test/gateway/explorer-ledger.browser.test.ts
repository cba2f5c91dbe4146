// Goal: the explorer's ledger views work on real, signed blocks today, before the demo commits through
// consensus: blocks are listed newest first, a block committed while the page is open appears within
// seconds, opening it lists its transactions (when, which type, created/updated, which record), "Show
// data" shows the changed row as this partner may read it, and the transaction's full proof checks in
// the page.
// Method: the manufacturer's seeded PGlite database and the demo API on a gateway whose LedgerReader
// (the seam in schema/api/context.ts the ledger wiring fills) answers from a signed chain built with the
// ledger's test builder (ledger/testing); blocks are appended while headless Chromium watches the page.
// The reader here is a small test implementation of that seam, not the gateway's block store.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector, Row } from '../../connectors/connector.ts';
import { openPartnerDatabase, type PartnerDatabase } from '../../gateway/demo/partner-database.ts';
import { loadDemoUnifiedSchema } from '../../gateway/demo/partner-gateway.ts';
import { explorerRoute } from '../../gateway/explorer/explorer-route.ts';
import { createGatewayServer, type GatewayServer } from '../../gateway/server/gateway-server.ts';
import { createLogger } from '../../gateway/server/logger.ts';
import { createGatewayMetrics } from '../../gateway/server/metrics.ts';
import type { GatewayRequestContext } from '../../gateway/server/request-context.ts';
import { SchemaHolder } from '../../gateway/server/schema-holder.ts';
import { blockHash, transactionLeafHashes, type Block } from '../../ledger/block.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { genesisHash } from '../../ledger/genesis.ts';
import { inclusionProof } from '../../ledger/merkle.ts';
import { buildTransactionProof } from '../../ledger/proof.ts';
import { createTestNetwork, TestChainBuilder, type TestNetwork } from '../../ledger/testing/test-network.ts';
import { transactionId } from '../../ledger/transaction.ts';
import { buildExecutableSchema } from '../../schema/api/build-schema.ts';
import { directWritePath, InMemoryChangeFeed, type LedgerBlockView, type LedgerReader, type LedgerTransactionView, type SchemaContext } from '../../schema/api/context.ts';
import { replicaTablesFor } from '../../schema/replica.ts';

const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));
const partner = 'manufacturer';
const uiTimeoutMs = 20_000;

/** A signed chain in memory, read through the LedgerReader seam the way the gateway's block store will be. */
class ChainReader implements LedgerReader {
  readonly blocks: Block[] = [];
  private readonly network: TestNetwork;

  constructor(network: TestNetwork) {
    this.network = network;
  }

  height = async (): Promise<number> => this.blocks.length;
  head = async (): Promise<string | null> => (this.blocks.length === 0 ? null : this.hashOf(this.blocks.at(-1)!));

  block = async (height: number): Promise<LedgerBlockView | null> => {
    const block = this.blocks[height - 1];
    if (block === undefined) return null;
    const { header } = block;
    return {
      height,
      hash: this.hashOf(block),
      previousHash: height === 1 ? null : toHex(header.previousHash),
      merkleRoot: toHex(header.txRoot),
      time: new Date(header.timeMs).toISOString(),
      proposer: this.network.genesis.membership.nodes[header.proposer]!.partner,
      schemaVersion: header.schemaVersion,
      transactionIds: block.transactionBytes.map((bytes) => toHex(transactionId(this.network.hasher, bytes))),
    };
  };

  transaction = async (id: string): Promise<LedgerTransactionView | null> => {
    const found = this.locate(id);
    if (found === null) return null;
    const { block, index } = found;
    const tx = block.transactions[index]!;
    const leaves = transactionLeafHashes(this.network.hasher, block.transactionBytes);
    return {
      id,
      height: block.header.height,
      type: tx.entityType,
      operation: tx.operation === 'create' ? 'insert' : tx.operation === 'delete' ? 'delete' : 'update',
      key: JSON.parse(tx.key) as Row,
      owner: tx.owner,
      proofDocument: this.fullProof(id),
      proof: { blockHeight: block.header.height, blockHash: this.hashOf(block), merkleRoot: toHex(block.header.txRoot), leafHash: toHex(leaves[index]!), leafIndex: index, siblings: inclusionProof(this.network.hasher, leaves, index).map(toHex) },
    };
  };

  /** The self-contained proof `entente proof` would print for this transaction. */
  fullProof(id: string): unknown {
    const { block, index } = this.locate(id)!;
    const { genesis, hasher } = this.network;
    return buildTransactionProof(hasher, { network: genesis.network, genesisHash: genesisHash(hasher, genesis), membership: genesis.membership, block, txIndex: index });
  }

  private locate(id: string): { readonly block: Block; readonly index: number } | null {
    for (const block of this.blocks) {
      const index = block.transactionBytes.findIndex((bytes) => toHex(transactionId(this.network.hasher, bytes)) === id);
      if (index >= 0) return { block, index };
    }
    return null;
  }

  private hashOf(block: Block): string {
    return toHex(blockHash(this.network.hasher, block.headerBytes));
  }
}

let folder: string;
let database: PartnerDatabase;
let server: GatewayServer;
let browser: Browser;
let baseUrl: string;
let reader: ChainReader;
let builder: TestChainBuilder;
let orderIds: string[];

async function partOrderIds(connector: Connector): Promise<string[]> {
  const page = await connector.list({ table: { schema: 'public', name: 'part_orders' }, columns: ['id'], orderBy: [{ column: 'id', direction: 'asc' }], first: 3 });
  return page.rows.map((row) => String(row['id']));
}

beforeAll(async () => {
  if (!existsSync(chromiumPath)) throw new Error(`No Chromium at ${chromiumPath}. Install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
  folder = await mkdtemp(join(tmpdir(), 'entente-explorer-ledger-'));
  await mkdir(artifacts, { recursive: true });
  const unified = await loadDemoUnifiedSchema();
  database = await openPartnerDatabase(partner, join(folder, 'db'));
  const { connector } = database;
  await connector.replica.ensureTables(replicaTablesFor(unified, partner));
  orderIds = await partOrderIds(connector);
  const network = createTestNetwork({ ownership: new Map([['PartOrder', 'partner-0']]) });
  builder = new TestChainBuilder(network);
  reader = new ChainReader(network);
  reader.blocks.push(builder.nextBlock([{ owner: 0, operation: 'create', entityType: 'PartOrder', key: JSON.stringify({ id: orderIds[0] }) }]));
  reader.blocks.push(builder.nextBlock([{ owner: 0, operation: 'create', entityType: 'PartOrder', key: JSON.stringify({ id: orderIds[1] }) }]));
  const feed = new InMemoryChangeFeed();
  server = createGatewayServer<GatewayRequestContext & SchemaContext>({
    partner,
    schema: new SchemaHolder(buildExecutableSchema(unified, { partner }), 1, (viewer) => buildExecutableSchema(unified, { partner, viewer })),
    authenticator: { authenticate: async () => ({ kind: 'anonymous', partner, roles: ['demo'] }) },
    createContext: (base) => ({ ...base, connector, writePath: directWritePath(connector, partner, feed), changeFeed: feed, ledger: reader }),
    logger: createLogger({ level: 'silent' }),
    metrics: createGatewayMetrics({ partner }, { processMetrics: false }),
    anonymousAllowed: true,
    routes: [explorerRoute({ partner })],
  });
  const listening = await server.listen({ port: 0 });
  baseUrl = listening.url.replace(/\/graphql$/, '');
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await database?.close();
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

describe('the explorer on a signed chain', () => {
  it('lists blocks, shows one committed while watching, its transactions, the row, and checks its proof', { timeout: 90_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${baseUrl}/explorer`);
    await expect.poll(() => page.locator('.block-row').count(), { timeout: uiTimeoutMs }).toBe(2);
    expect(await page.locator('.block-row').first().getAttribute('data-height')).toBe('2');

    // A block commits while the page is open: it appears on top within the polling period.
    const committed = builder.nextBlock([{ owner: 0, operation: 'update', entityType: 'PartOrder', key: JSON.stringify({ id: orderIds[2] }) }]);
    reader.blocks.push(committed);
    await expect.poll(() => page.locator('.block-row').first().getAttribute('data-height'), { timeout: uiTimeoutMs }).toBe('3');
    expect(await page.textContent('#status-height .card-value')).toBe('3');
    expect(await page.textContent('#schema-versions')).toBe('Schema version in the blocks shown: v1.');

    await page.locator('.block-row').first().click();
    const txId = toHex(transactionId(builder.network.hasher, committed.transactionBytes[0]!));
    const row = page.locator(`.transaction-row[data-transaction="${txId}"]`);
    await row.waitFor({ timeout: uiTimeoutMs });
    const text = await row.textContent();
    expect(text).toContain('PartOrder');
    expect(text).toContain('updated');
    expect(text).toContain(`id "${orderIds[2]}"`);

    await row.getByRole('button', { name: 'Show data' }).click();
    const record = page.locator('.transaction-detail table.record');
    await record.waitFor({ timeout: uiTimeoutMs });
    expect(await record.textContent()).toMatch(/sku[A-Z]{3}-\d+/);

    await page.fill('#proof-input', JSON.stringify(reader.fullProof(txId)));
    await page.click('#proof-check');
    await expect.poll(() => page.locator('#proof-result').getAttribute('class'), { timeout: uiTimeoutMs }).toBe('proof-result good');
    expect(await page.textContent('#proof-result')).toContain('Signed by its ownerpartner-0');

    // A block with nothing this partner may see is hidden unless asked for.
    reader.blocks.push(builder.nextBlock([]));
    await expect.poll(() => page.textContent('#blocks-hidden'), { timeout: uiTimeoutMs }).toBe('1 of the 4 newest blocks hold no changes you may see and are hidden.');
    expect(await page.locator('.block-row').first().getAttribute('data-height')).toBe('3');
    await page.check('#show-empty-blocks');
    expect(await page.locator('.block-row').first().getAttribute('data-height')).toBe('4');
    await page.uncheck('#show-empty-blocks');
    await page.screenshot({ path: join(artifacts, 'explorer-blocks.png'), fullPage: true });
    await page.close();
    expect(errors).toEqual([]);
  });
});
