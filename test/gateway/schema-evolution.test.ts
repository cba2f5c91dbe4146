// Acceptance of issue #11 (schema evolution through the ledger) on three gateways in one process — acme on
// PostgreSQL, bolt on PGlite, cargo on PostgreSQL — whose genesis holds the first schema files and a
// governance policy under which sharing a new field needs every affected partner:
//   1. with live subscriptions and steady writes, acme proposes a new shared field; bolt and cargo approve
//      through their own gateways; acme's gateway activates it; every gateway migrates its replica and swaps
//      its API; no write is lost, the subscriptions opened before keep delivering, the field is queryable
//      everywhere;
//   2. a breaking change (removing a field bolt reads) is refused until bolt approves, and the answer says so;
//   3. after a third version, cargo's gateway is restarted on an empty database: it replays its ledger —
//      data and schema activations in block order — to the same active version and the same replica rows
//      (checksums equal), then keeps following the network.
// Method: real databases and consensus; writes by SQL on acme's database (a legacy app) every 50 ms; the
// GraphQL API for proposals, approvals and reads; /ready for the active version.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Connector } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';
import type { Authenticator } from '../../gateway/auth/caller.ts';
import { main } from '../../gateway/cli/main.ts';
import { startNetworkGateway, type NetworkGateway } from '../../gateway/node/network-gateway.ts';
import { createLogger } from '../../gateway/server/logger.ts';
import { generateEd25519KeyPair } from '../../ledger/crypto/ed25519.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { createMembership } from '../../ledger/membership.ts';
import { verifyLedger } from '../../ledger/verify-ledger.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { createSchemaJudge, genesisSchemaState } from '../../schema/evolution/schema-judge.ts';
import { freshPglite, freshPostgresDatabase } from '../support/databases.ts';
import { describeWithService } from '../support/databases.ts';
import { eventually } from '../support/eventually.ts';

const partners = ['acme', 'bolt', 'cargo'] as const;
type Partner = (typeof partners)[number];
const schemaDir = fileURLToPath(new URL('./network3/', import.meta.url));
const appAuthenticator = (partner: string): Authenticator => ({ authenticate: async () => ({ kind: 'anonymous', partner, roles: ['staff'] }) });
const priorityLine = '  priority: Int @column(name: "priority", type: "integer")\n';
const noteLine = '  note: String @column(name: "note", type: "text") @readableBy(partners: ["bolt"])\n';

describeWithService('postgres', 'schema evolution through the ledger on three gateways (PostgreSQL, PGlite, PostgreSQL)', () => {
  const acmeDb = freshPostgresDatabase();
  const cargoDb = freshPostgresDatabase();
  /** cargo's database after the restart: empty, so its replica is rebuilt from the ledger alone. */
  const cargoRestartDb = freshPostgresDatabase();
  const boltDb = freshPglite();
  const root = mkdtempSync(join(tmpdir(), 'entente-schema-evolution-'));
  const gateways = new Map<Partner, NetworkGateway>();
  const connectors = new Map<Partner, Connector>();
  const clients: Client[] = [];
  const files = new Map<Partner, string>();
  const keys = new Map(partners.map((partner) => [partner, generateEd25519KeyPair()]));
  let genesis: Genesis;

  /** A restarted gateway takes its old ports, where the other gateways' peers still point. */
  const start = async (partner: Partner, databaseUrl?: string, ports = { http: 0, consensus: 0 }): Promise<NetworkGateway> => {
    const connector = partner === 'bolt' ? await createPgliteConnector(boltDb.db) : await openConnector(databaseUrl ?? (partner === 'acme' ? acmeDb : cargoDb).url);
    connectors.set(partner, connector);
    const unified = composeSchemas(partners.map((name) => ({ path: `${name}.graphql`, partner: name, source: files.get(name)! })));
    const gateway = await startNetworkGateway({
      unified, partner, connector, genesis, secretKey: keys.get(partner)!.secretKey, ledgerDirectory: join(root, partner, 'ledger'),
      listen: { host: '127.0.0.1', port: ports.http }, consensusListen: { host: '127.0.0.1', port: ports.consensus },
      appAuthenticator: appAuthenticator(partner), anonymousAllowed: true, logger: createLogger({ level: 'silent' }), emptyBlockDelayMs: 300,
    });
    gateways.set(partner, gateway);
    return gateway;
  };
  const peersOf = () => [...gateways.values()].map((gateway) => ({ partner: gateway.partner, url: gateway.url.replace(/\/graphql$/, ''), consensusUrl: gateway.consensusUrl }));

  beforeAll(async () => {
    await exec(acmeDb.url, `create table orders (id bigint generated by default as identity primary key, customer text not null, status text not null, total numeric(12,2) not null, note text);
      insert into orders (customer, status, total, note) values ('Initech', 'shipped', 120.50, 'rush');`);
    await exec(cargoDb.url, 'create table shipments (id bigint generated by default as identity primary key, order_id bigint not null, carrier text not null)');
    await boltDb.db.exec("create table parts (sku text primary key, name text not null, stock integer not null); insert into parts values ('B-1', 'bolt M8', 500)");
    for (const partner of partners) files.set(partner, await readFile(join(schemaDir, `${partner}.graphql`), 'utf8'));
    genesis = {
      network: 'schema-evolution', timeMs: Date.now() - 1000, schemaVersion: 1,
      membership: createMembership(partners.map((partner) => ({ partner, publicKey: keys.get(partner)!.publicKey }))),
      ownership: new Map([['Order', 'acme'], ['Part', 'bolt'], ['Shipment', 'cargo']]),
      // Sharing more (a new field others may read) needs the owner and every partner who gains it.
      governance: { widening: 'all-affected' },
      schema: partners.map((partner) => ({ partner, source: files.get(partner)! })),
    };
    for (const partner of partners) await start(partner);
    for (const gateway of gateways.values()) gateway.join(peersOf().filter((peer) => peer.partner !== gateway.partner));
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    for (const gateway of gateways.values()) await gateway.close();
    for (const connector of connectors.values()) await connector.close();
    rmSync(root, { recursive: true, force: true });
  });

  const gql = async (partner: Partner, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: Record<string, unknown>; errors?: { message: string }[] }> => {
    const response = await fetch(graphqlUrl(gateways.get(partner)!), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
  };
  const subscribe = (partner: Partner, query: string): { events: unknown[]; closed: () => boolean } => {
    const events: unknown[] = [];
    let closed = false;
    const client = createClient({ url: graphqlUrl(gateways.get(partner)!).replace('http://', 'ws://'), webSocketImpl: WebSocket, retryAttempts: 0 });
    clients.push(client);
    client.subscribe({ query }, { next: (value) => events.push(value.data), error: (error) => { closed = true; events.push({ error: String(error) }); }, complete: () => { closed = true; } });
    return { events, closed: () => closed };
  };
  const readyVersion = async (partner: Partner): Promise<number> => {
    const response = await fetch(`${gateways.get(partner)!.url.replace(/\/graphql$/, '')}/ready`);
    const body = (await response.json()) as { checks: Record<string, { detail?: { version?: number } }> };
    return body.checks['schema']?.detail?.version ?? -1;
  };
  const propose = async (partner: Partner, source: string) => {
    const answer = await gql(partner, 'mutation ($files: [SchemaFileInput!]!) { proposeSchemaChange(files: $files) { proposal version approved missing message } }', { files: [{ partner, source }] });
    expect(answer.errors).toBeUndefined();
    return answer.data!['proposeSchemaChange'] as { proposal: string; version: number; approved: boolean; missing: string[]; message: string };
  };
  const approve = async (partner: Partner, proposal: string) => {
    // The approver's gateway must have applied the proposal's block first.
    await eventually(async () => expect(((await gql(partner, '{ schemaEvolution { pending { proposal } } }')).data?.['schemaEvolution'] as { pending: { proposal: string }[] }).pending).toContainEqual({ proposal }));
    const answer = await gql(partner, 'mutation ($p: String!) { approveSchemaChange(proposal: $p) { approved missing } }', { p: proposal });
    expect(answer.errors).toBeUndefined();
    return answer.data!['approveSchemaChange'] as { approved: boolean; missing: string[] };
  };

  it('1. an additive change is proposed, approved and goes live on all three while subscriptions stay open and steady writes lose nothing', async () => {
    await eventually(async () => expect(((await gql('bolt', '{ orders(first: 5) { nodes { customer } } }')).data?.['orders'] as { nodes: unknown[] } | undefined)?.nodes).toHaveLength(1));
    const boltSubscription = subscribe('bolt', 'subscription { orderChanged { operation node { customer } } }');
    const cargoSubscription = subscribe('cargo', 'subscription { orderChanged { operation node { customer } } }');
    await delay(300);
    let written = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await exec(acmeDb.url, `insert into orders (customer, status, total) values ('W-${written}', 'shipped', 1.00)`);
        written++;
        await delay(50);
      }
    })();

    // acme's database gets the column first (null everywhere); the schema then shares it.
    await exec(acmeDb.url, 'alter table orders add column priority integer');
    const v2 = files.get('acme')!.replace(noteLine, noteLine + priorityLine);
    const proposed = await propose('acme', v2);
    expect(proposed).toMatchObject({ version: 2, approved: false, missing: ['bolt', 'cargo'] });
    expect(proposed.message).toContain('It needs approval from bolt, cargo.');
    expect((await approve('bolt', proposed.proposal)).missing).toEqual(['cargo']);
    // cargo's answer counts the approvals its gateway has applied so far (bolt's may still be on its way).
    expect((await approve('cargo', proposed.proposal)).missing).not.toContain('cargo');
    files.set('acme', v2);
    for (const partner of partners) await eventually(async () => expect(await readyVersion(partner)).toBe(2));

    await exec(acmeDb.url, "insert into orders (customer, status, total, priority) values ('Urgent Co', 'shipped', 9.00, 7)");
    // On a quiet machine the change can go live within a few writes: let the writer go on past it, so the
    // check below always covers writes made on both sides of the switch (it once stopped at 4).
    const writtenAtSwitch = written;
    while (written < Math.max(5, writtenAtSwitch + 2)) await delay(20);
    writing = false;
    await writer;
    for (const partner of ['bolt', 'cargo'] as const) {
      await eventually(async () => {
        const answer = await gql(partner, '{ orders(first: 5, where: { customer: { eq: "Urgent Co" } }) { nodes { customer priority } } }');
        expect(answer.data?.['orders']).toEqual({ nodes: [{ customer: 'Urgent Co', priority: 7 }] });
      });
    }
    const own = await gql('acme', '{ orders(first: 5, where: { customer: { eq: "Urgent Co" } }) { nodes { priority } } }');
    expect(own.data?.['orders']).toEqual({ nodes: [{ priority: 7 }] });

    // Every steady write reached both replicas and both subscriptions opened on version 1, which are still open.
    const expected = Array.from({ length: written }, (_, i) => `W-${i}`);
    for (const subscription of [boltSubscription, cargoSubscription]) {
      await eventually(() => {
        const seen = new Set(subscription.events.map((event) => (event as { orderChanged?: { node: { customer: string } } }).orderChanged?.node.customer));
        expect(expected.filter((customer) => !seen.has(customer))).toEqual([]);
        expect(seen.has('Urgent Co')).toBe(true);
      });
      expect(subscription.closed()).toBe(false);
    }
    const acmeCount = await query(acmeDb.url, 'select count(*)::int as n from orders');
    for (const partner of ['bolt', 'cargo'] as const) {
      const connector = connectors.get(partner)!;
      expect([{ n: await connector.count(connector.replica.tableRef('acme__orders')) }]).toEqual(acmeCount);
    }
    expect(written).toBeGreaterThanOrEqual(5);
  }, 120_000);

  it('2. a breaking change without the required approvals is refused, naming who must approve', async () => {
    const v3 = files.get('acme')!.replace(noteLine, '');
    const proposed = await propose('acme', v3);
    expect(proposed).toMatchObject({ version: 3, approved: false, missing: ['bolt'] });
    expect(proposed.message).toMatch(/^The schema change is refused\. It needs approval from bolt\.\n {2}- breaking change \(Order\.note\)/);
    // Blocks go on (a write committed after the proposal reaches bolt); nobody activates it.
    await exec(acmeDb.url, "insert into orders (customer, status, total) values ('After Proposal', 'open', 1.00)");
    await eventually(async () => expect((await gql('bolt', '{ orders(first: 5, where: { customer: { eq: "After Proposal" } }) { nodes { note } } }')).data?.['orders']).toEqual({ nodes: [{ note: null }] }));
    for (const partner of partners) expect(await readyVersion(partner)).toBe(2);
    const status = await gql('cargo', '{ schemaEvolution { version pending { version proposer approvals } } }');
    expect(status.data?.['schemaEvolution']).toEqual({ version: 2, pending: [{ version: 3, proposer: 'acme', approvals: [] }] });
  }, 60_000);

  it('3. a gateway restarted after several versions replays the ledger to the same version and the same replica contents', async () => {
    // Version 3: cargo shares a new column of its own table (the pending breaking proposal becomes void).
    await exec(cargoDb.url, 'alter table shipments add column eta date');
    const v3 = files.get('cargo')!.replace('  carrier: String!', '  eta: Date @column(name: "eta", type: "date")\n  carrier: String!');
    // Through the CLI this time: cargo proposes with --url, acme approves with its gateway.json.
    const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      const output = { stdout: '', stderr: '' };
      const code = await main(args, { stdout: (text) => { output.stdout += text; }, stderr: (text) => { output.stderr += text; } });
      return { code, ...output };
    };
    const cargoFile = join(root, 'cargo.graphql');
    await writeFile(cargoFile, v3);
    const proposedByCli = await cli('schema', 'propose', cargoFile, '--url', graphqlUrl(gateways.get('cargo')!), '--json');
    expect(proposedByCli.stderr).toBe('');
    expect(proposedByCli.code).toBe(0);
    const proposed = JSON.parse(proposedByCli.stdout) as { proposal: string; version: number; missing: string[] };
    expect(proposed).toMatchObject({ version: 3, missing: ['acme'] });
    const acmeConfig = join(root, 'acme-gateway.json');
    const acmePort = Number(new URL(gateways.get('acme')!.url).port);
    await writeFile(acmeConfig, JSON.stringify({ partner: 'acme', database: { url: acmeDb.url }, listen: { host: '127.0.0.1', port: acmePort }, node: { keyFile: 'node.key' }, genesisFile: 'genesis.json', auth: { anonymous: { roles: ['staff'] } } }));
    await eventually(async () => expect(((await gql('acme', '{ schemaEvolution { pending { proposal } } }')).data?.['schemaEvolution'] as { pending: { proposal: string }[] }).pending).toContainEqual({ proposal: proposed.proposal }));
    const approvedByCli = await cli('schema', 'approve', proposed.proposal, '--config', acmeConfig);
    expect(approvedByCli).toMatchObject({ code: 0, stderr: '' });
    expect(approvedByCli.stdout).toContain('Every required approval is in');
    files.set('cargo', v3);
    for (const partner of partners) await eventually(async () => expect(await readyVersion(partner)).toBe(3));
    await exec(cargoDb.url, "insert into shipments (order_id, carrier, eta) values (1, 'Pony Express', '2026-12-01')");
    await eventually(async () => expect((await gql('acme', '{ shipments(first: 5) { nodes { carrier eta } } }')).data?.['shipments']).toEqual({ nodes: [{ carrier: 'Pony Express', eta: '2026-12-01' }] }));

    const cargo = gateways.get('cargo')!;
    const before = { orders: await replicaChecksum(cargo.connector, 'acme__orders'), parts: await replicaChecksum(cargo.connector, 'bolt__parts') };
    const appliedBefore = cargo.runtime.applier.appliedHeight;
    await cargo.close();
    await connectors.get('cargo')!.close();
    await exec(cargoRestartDb.url, 'create table shipments (id bigint generated by default as identity primary key, order_id bigint not null, carrier text not null, eta date)');
    const restarted = await start('cargo', cargoRestartDb.url, { http: cargo.port, consensus: Number(new URL(cargo.consensusUrl).port) });
    restarted.join(peersOf().filter((peer) => peer.partner !== 'cargo'));
    await eventually(() => expect(restarted.runtime.applier.appliedHeight).toBeGreaterThanOrEqual(appliedBefore), 60_000);
    expect(await readyVersion('cargo')).toBe(3);
    expect({ orders: await replicaChecksum(restarted.connector, 'acme__orders'), parts: await replicaChecksum(restarted.connector, 'bolt__parts') }).toEqual(before);
    // And it keeps following: a new order with a priority arrives on version 3's API.
    await exec(acmeDb.url, "insert into orders (customer, status, total, priority) values ('After Restart', 'shipped', 2.00, 1)");
    await eventually(async () => expect((await gql('cargo', '{ orders(first: 5, where: { customer: { eq: "After Restart" } }) { nodes { priority } } }')).data?.['orders']).toEqual({ nodes: [{ priority: 1 }] }));
    // `entente verify` replays the schema state offline from the genesis files and the public payloads.
    for (const partner of partners) {
      const verified = await cli('verify', '--data', join(root, partner, 'ledger'), '--json');
      expect(verified.code).toBe(0);
      expect((JSON.parse(verified.stdout) as { ok: boolean }).ok).toBe(true);
      const judged = await verifyLedger(join(root, partner, 'ledger'), { schemaJudgeFor: (g, hasher) => createSchemaJudge(hasher, genesisSchemaState(hasher, g)!) });
      expect(judged.violation).toBeUndefined();
    }
  }, 120_000);
});

async function replicaChecksum(connector: Connector, table: string): Promise<string> {
  const page = await connector.list({ table: connector.replica.tableRef(table), first: 1000 });
  const rows = page.rows.map((row) => JSON.stringify(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).sort();
  return createHash('sha256').update(rows.join('\n')).digest('hex');
}

function graphqlUrl(gateway: NetworkGateway): string {
  return gateway.url.endsWith('/graphql') ? gateway.url : `${gateway.url.replace(/\/$/, '')}/graphql`;
}

async function exec(url: string, sql: string): Promise<void> {
  await query(url, sql);
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(sql);
    return Array.isArray(result) ? [] : result.rows;
  } finally {
    await client.end();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
