// Goal: `npm start` works as a first-time user meets it (issue #8 acceptance 1, at the current stage of
// integration): it starts the four partner gateways on their own seeded embedded databases, prints each
// GraphQL URL as http://localhost:<port>/graphql with progress while starting, runs the printed sample
// operations (a query across types, a mutation, a subscription that sees the mutation), stops on Ctrl-C
// (SIGINT) with exit code 0, and loses nothing on restart; --fresh refuses to wipe a directory that is
// not a demo directory.
// Method: run exactly the command of package.json's `start` script (plus `--data <tmp> --port 0`) as a
// child process, read its stdout, query the printed URLs over HTTP, send SIGINT, and check the exit
// code; then start it again on the same data. (Not through npm itself: on SIGINT npm re-raises the
// signal on itself after its child exits, so npm's own status is "killed by SIGINT" whatever we do.)
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { eventually } from '../support/eventually.ts';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
// The first start creates four PGlite databases; on a loaded 2-core machine that takes a while.
const startTimeoutMs = 150_000;
const folders: string[] = [];

afterAll(async () => {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

interface Started {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exit: Promise<number | null>;
}

async function startScript(): Promise<readonly string[]> {
  const manifest = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = manifest.scripts.start.split(/\s+/);
  expect(words[0]).toBe('node');
  return words.slice(1);
}

async function npmStart(args: readonly string[]): Promise<Started> {
  const child = spawn(process.execPath, [...(await startScript()), ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

async function waitFor(started: Started, marker: string): Promise<string> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (started.output().includes(marker)) return started.output();
    if (started.child.exitCode !== null) throw new Error(`npm start exited early with ${started.child.exitCode}:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no "${marker}" within ${startTimeoutMs} ms:\n${started.output()}`);
}

async function stop(started: Started): Promise<number | null> {
  started.child.kill('SIGINT');
  return started.exit;
}

async function query(url: string, document: string): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: document }) });
  expect(response.status).toBe(200);
  return (await response.json()) as never;
}

/** The sample operations as printed: the JSON body of each printed `curl … -d '<body>'`. */
function printedOperations(printed: string): string[] {
  return [...printed.matchAll(/-d '(\{.*\})'$/gm)].map((match) => (JSON.parse(match[1]!) as { query: string }).query);
}

describe('npm start', () => {
  it('prints the four GraphQL URLs, serves them, stops on SIGINT with exit 0, and reuses its data', { timeout: 360_000 }, async () => {
    const data = await mkdtemp(join(tmpdir(), 'entente-demo-'));
    folders.push(data);
    const first = await npmStart(['--data', data, '--port', '0']);
    const printed = await waitFor(first, 'Press Ctrl-C to stop.');
    expect(printed).toContain('Starting manufacturer');
    const urls = [...printed.matchAll(/^\s+([a-z-]+)\s+(http:\/\/localhost:\d+\/graphql)/gm)].map((match) => ({ partner: match[1]!, url: match[2]! }));
    expect(urls.map((entry) => entry.partner)).toEqual(['manufacturer', 'parts-supplier', 'paint-shop', 'logistics']);
    for (const { url } of urls) {
      expect(await query(url, '{ ledger { height } }')).toEqual({ data: { ledger: { height: expect.any(Number) } } });
      expect((await fetch(url.replace('/graphql', '/ready'))).status).toBe(200);
    }
    const manufacturer = urls[0]!.url;
    const [crossTypeQuery, mutation] = printedOperations(printed);
    const listed = await query(manufacturer, crossTypeQuery!);
    expect(listed.errors).toBeUndefined();
    expect(listed.data).toMatchObject({ partOrders: { totalCount: 30 } });
    const subscriber = createClient({ url: manufacturer.replace('http://', 'ws://'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const events = subscriber.iterate({ query: 'subscription { partOrderChanged { operation node { id sku quantity } } }' });
    const firstEvent = events.next();
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the subscription reach the gateway
    const created = await query(manufacturer, mutation!);
    expect(created.errors).toBeUndefined();
    const createdId = (created.data as { createPartOrder: { partOrder: { id: string } } }).createPartOrder.partOrder.id;
    expect((await firstEvent).value).toEqual({ data: { partOrderChanged: { operation: 'INSERT', node: { id: createdId, sku: 'BRK-3310', quantity: 80 } } } });
    await subscriber.dispose();
    // Each partner serves its own data from its own database: the supplier its catalogue.
    expect(await query(urls[1]!.url, '{ part(sku: "ENG-1450") { name stock } }')).toEqual({ data: { part: { name: 'Turbocharger assembly', stock: 48 } } });
    // The mutation went through consensus: the supplier's replica holds the new order too.
    await eventually(async () => expect(await query(urls[1]!.url, `{ partOrder(id: "${createdId}") { sku quantity } }`)).toEqual({ data: { partOrder: { sku: 'BRK-3310', quantity: 80 } } }));
    expect(await stop(first)).toBe(0);
    expect(first.output()).toContain('Stopped.');
    expect((await readdir(data)).sort()).toEqual(['entente-demo.json', 'genesis.json', 'logistics', 'manufacturer', 'paint-shop', 'parts-supplier']);
    expect(await readdir(join(data, 'manufacturer'))).toContain('ledger');
    // Every partner's ledger verifies offline, as the README says.
    const verify = spawnSync(process.execPath, ['bin/entente.js', 'verify', '--data', join(data, 'parts-supplier', 'ledger'), '--json'], { cwd: projectRoot, encoding: 'utf8' });
    expect(verify.status, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, height: expect.any(Number) });
    expect((JSON.parse(verify.stdout) as { height: number }).height).toBeGreaterThan(0);

    const second = await npmStart(['--data', data, '--port', '0']);
    const again = await waitFor(second, 'Press Ctrl-C to stop.');
    expect(again).toContain(`Reusing data directory ${data}`);
    const manufacturerAgain = [...again.matchAll(/^\s+manufacturer\s+(http:\/\/localhost:\d+\/graphql)/gm)][0]![1]!;
    expect(await query(manufacturerAgain, `{ partOrders(where: { sku: { eq: "BRK-3310" }, quantity: { eq: 80 } }) { totalCount } }`)).toEqual({ data: { partOrders: { totalCount: 1 } } });
    expect(await stop(second)).toBe(0);
  });

  it('refuses --fresh on a directory that is not a demo directory', { timeout: 60_000 }, async () => {
    const data = await mkdtemp(join(tmpdir(), 'entente-not-demo-'));
    folders.push(data);
    await writeFile(join(data, 'precious.txt'), 'do not delete');
    const run = await npmStart(['--data', data, '--port', '0', '--fresh']);
    expect(await run.exit).toBe(2);
    expect(run.output()).toContain('is not an Entente demo directory');
    expect(await readdir(data)).toEqual(['precious.txt']);
  });
});
