// Goal: `entente node --config` runs a configured gateway on a real PostgreSQL database: the config file
// is honoured (database URL, port, schema folder, API keys hashed at rest), apps without a valid key
// get 401, an authorised app reads the partner's tables through the composed API and its mutation
// lands in the real database, /ready reports the database, and SIGINT drains and exits 0.
// Method: a fresh PostgreSQL database seeded with the demo manufacturer's tables (as its ERP would),
// a config file in a temp folder, the real `entente` binary as a child process, HTTP requests, and a
// direct SQL read of the database to see the mutation's row.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { issueApiKey } from '../../gateway/auth/api-keys.ts';
import { describeWithPgbouncer, describeWithPostgres, type FreshDatabase } from '../support/databases.ts';
import { startPgbouncer, type RunningPgbouncer } from '../support/pgbouncer.ts';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const networkDir = join(projectRoot, 'gateway/demo/network');

describeWithPostgres('entente node on PostgreSQL', (db) => {
  nodeOnPostgres(db, () => db.url);
});

// The same through PgBouncer in transaction pooling: the gateway finds the pooler by itself (the
// connector's pooled mode, no setting), and its reads, writes and readiness check work through it.
describeWithPgbouncer('entente node on PostgreSQL through PgBouncer', (db) => {
  let bouncer: RunningPgbouncer | undefined;
  beforeAll(async () => {
    bouncer = await startPgbouncer(db.settings, { poolMode: 'transaction', poolSize: 2 });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });
  nodeOnPostgres(db, () => {
    if (bouncer === undefined) throw new Error('PgBouncer did not start');
    return bouncer.url(db.name);
  });
});

/** Registers the node's tests on `db` (seeded and read directly), with the gateway configured to use `gatewayDatabaseUrl()`. */
function nodeOnPostgres(db: FreshDatabase, gatewayDatabaseUrl: () => string): void {
  let folder: string;
  let child: ChildProcess;
  let output = '';
  let exit: Promise<number | null>;
  const apiKey = issueApiKey(['buyer'], 'planning app');

  beforeAll(async () => {
    const client = new pg.Client(db.url);
    await client.connect();
    await client.query(await readFile(join(networkDir, 'manufacturer.sql'), 'utf8'));
    await client.end();
    folder = await mkdtemp(join(tmpdir(), 'entente-node-'));
    await writeFile(join(folder, 'api-keys.json'), JSON.stringify([apiKey.record]));
    await writeFile(
      join(folder, 'gateway.json'),
      JSON.stringify({ partner: 'manufacturer', database: { url: gatewayDatabaseUrl() }, listen: { port: 0 }, node: { keyFile: 'node.key' }, genesisFile: 'genesis.json', schemaDir: networkDir, auth: { apiKeysFile: 'api-keys.json' }, log: { level: 'warn' } }),
    );
    child = spawn(process.execPath, ['bin/entente.js', 'node', '--config', join(folder, 'gateway.json')], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/listening on http/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the node did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 90_000);

  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await rm(folder, { recursive: true, force: true });
  });

  const url = (): string => /listening on (http:\/\/\S+)/.exec(output)![1]!;
  const post = async (query: string, headers: Record<string, string> = {}) => {
    const response = await fetch(url(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
    return { status: response.status, body: (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] } };
  };

  it('refuses apps without a valid API key and serves those with one', async () => {
    const anonymous = await post('{ partOrders { totalCount } }');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.message).toContain('requires authentication');
    expect((await post('{ partOrders { totalCount } }', { 'x-api-key': issueApiKey(['buyer']).key })).status).toBe(401);
    const authorised = await post('{ partOrders { totalCount } paintJob(id: 3) { panel color } }', { 'x-api-key': apiKey.key });
    expect(authorised).toEqual({ status: 200, body: { data: { partOrders: { totalCount: 30 }, paintJob: { panel: 'rear bumper', color: 'Glacier White' } } } });
  });

  it('writes a mutation into the real database and reports the database as ready', async () => {
    const created = await post('mutation { createPartOrder(input: { sku: "ENG-1450", quantity: 6, status: PLACED, plant: "Leipzig", needBy: "2027-01-10" }) { partOrder { id } } }', { 'x-api-key': apiKey.key });
    expect(created.body.errors).toBeUndefined();
    const id = (created.body.data as { createPartOrder: { partOrder: { id: string } } }).createPartOrder.partOrder.id;
    const client = new pg.Client(db.url);
    await client.connect();
    const rows = await client.query('select sku, quantity, plant, need_by::text as need_by from part_orders where id = $1', [id]);
    await client.end();
    expect(rows.rows).toEqual([{ sku: 'ENG-1450', quantity: 6, plant: 'Leipzig', need_by: '2027-01-10' }]);
    const ready = await fetch(url().replace('/graphql', '/ready'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { database: { ok: true, detail: { family: 'postgres' } } } });
  });

  it('drains and exits 0 on SIGINT', async () => {
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(output).toContain('Stopped.');
  });
}

// Goal: `entente demo --db postgres://…/<base>` runs the same four-partner network on a real PostgreSQL
// server, one database per partner (<base>_<partner>), seeded on first start, and stops on SIGINT.
// Method: the real binary against the server, with the fresh test database's name as <base>; the four
// partner databases are dropped afterwards.
describeWithPostgres('entente demo --db on PostgreSQL', (db) => {
  const partners = ['manufacturer', 'parts_supplier', 'paint_shop', 'logistics'];

  afterAll(async () => {
    const admin = new pg.Client(db.url);
    await admin.connect();
    for (const partner of partners) await admin.query(`drop database if exists "${db.name}_${partner}" with (force)`);
    await admin.end();
  });

  it('starts the network on one database per partner and serves the seeded data', { timeout: 120_000 }, async () => {
    const folder = await mkdtemp(join(tmpdir(), 'entente-demo-db-'));
    const child = spawn(process.execPath, ['bin/entente.js', 'demo', '--db', db.url, '--data', join(folder, 'data'), '--port', '0'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('Press Ctrl-C')) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the demo did not start:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const supplier = /^\s+parts-supplier\s+(http:\/\/localhost:\d+\/graphql)/m.exec(output)![1]!;
      const response = await fetch(supplier, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ parts { totalCount } }' }) });
      expect(await response.json()).toEqual({ data: { parts: { totalCount: 12 } } });
      const admin = new pg.Client(db.url);
      await admin.connect();
      const databases = await admin.query('select datname from pg_database where datname like $1 order by datname', [`${db.name}_%`]);
      await admin.end();
      expect(databases.rows.map((row: { datname: string }) => row.datname)).toEqual([...partners].sort().map((partner) => `${db.name}_${partner}`));
      child.kill('SIGINT');
      expect(await exit).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(folder, { recursive: true, force: true });
    }
  });
});
