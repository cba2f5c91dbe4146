// Goal: a schema version activated while the gateway serves (SchemaHolder.replace) keeps open graphql-ws
// subscriptions alive and delivering, while new requests and new subscriptions use the new version —
// with the real generated API (per-viewer schemas of composed partner files) on a real database.
// Method: acme's gateway on PGlite with a shared Order type; a subscription opened on version 1; a column
// added to the table and version 2 (the new field) swapped in; writes through the version-2 API reach the
// version-1 subscription; a second subscription selects the new field.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Authenticator } from '../../../gateway/auth/caller.ts';
import { createGatewayServer, type GatewayServer } from '../../../gateway/server/gateway-server.ts';
import { createLogger } from '../../../gateway/server/logger.ts';
import { createGatewayMetrics } from '../../../gateway/server/metrics.ts';
import type { GatewayRequestContext } from '../../../gateway/server/request-context.ts';
import { SchemaHolder } from '../../../gateway/server/schema-holder.ts';
import type { Connector } from '../../../connectors/connector.ts';
import { createPgliteConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { buildExecutableSchema } from '../../../schema/api/build-schema.ts';
import { directWritePath, emptyLedger, InMemoryChangeFeed, type SchemaContext } from '../../../schema/api/context.ts';
import { composeSchemas } from '../../../schema/compose.ts';
import { planReplicaMigration } from '../../../schema/evolution/replica-migration.ts';
import type { UnifiedSchema } from '../../../schema/policy.ts';
import { freshPglite } from '../../support/databases.ts';
import { postGraphQL } from '../../gateway/support/test-gateway.ts';

const v1Sdl = `type Order @key(fields: "id") @table(name: "orders", schema: "public") @grant(partners: ["globex"]) {
  id: BigInt! @column(name: "id", generated: true)
  sku: String! @column(name: "sku")
}
`;
const v2Sdl = v1Sdl.replace('  sku: String! @column(name: "sku")\n', '  sku: String! @column(name: "sku")\n  note: String @column(name: "note")\n');
const compose = (source: string) => composeSchemas([{ path: 'acme.graphql', partner: 'acme', source }], { partners: ['acme', 'globex'] });
const authenticator: Authenticator = { authenticate: async () => ({ kind: 'anonymous', partner: 'acme', roles: [] }) };

const fresh = freshPglite();
let connector: Connector;
let holder: SchemaHolder;
let server: GatewayServer;
let base = '';
const clients: Client[] = [];

function versionOf(unified: UnifiedSchema) {
  return [buildExecutableSchema(unified, { partner: 'acme' }), (viewer: { partner: string; roles: readonly string[] }) => buildExecutableSchema(unified, { partner: 'acme', viewer })] as const;
}

beforeAll(async () => {
  await fresh.db.exec('create table public.orders (id bigint generated always as identity primary key, sku text not null)');
  connector = await createPgliteConnector(fresh.db);
  const feed = new InMemoryChangeFeed();
  const [schema, forViewer] = versionOf(compose(v1Sdl));
  holder = new SchemaHolder(schema, 1, forViewer);
  server = createGatewayServer<GatewayRequestContext & SchemaContext>({
    partner: 'acme', schema: holder, authenticator,
    createContext: (context) => ({ ...context, connector, writePath: directWritePath(connector, 'acme', feed), changeFeed: feed, ledger: emptyLedger }),
    logger: createLogger({ level: 'silent' }), metrics: createGatewayMetrics({ partner: 'acme' }, { processMetrics: false }),
  });
  base = (await server.listen({ port: 0 })).url.replace(/\/graphql$/, '');
});

afterAll(async () => {
  for (const client of clients) await client.dispose();
  await server?.close();
  await connector?.close();
});

function subscribe(query: string): AsyncIterator<unknown> {
  const client = createClient({ url: `${base.replace('http://', 'ws://')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  clients.push(client);
  return client.iterate({ query })[Symbol.asyncIterator]();
}

it('keeps a subscription opened on version 1 delivering after version 2 is swapped in; new requests see version 2', async () => {
  const before = subscribe('subscription { orderChanged { operation node { id sku } } }');
  const firstEvent = before.next();
  // The subscription is registered once the server has run its subscribe; a write before that would be missed.
  await expect.poll(() => server.activeSubscriptions()).toBe(1);
  expect((await postGraphQL(base, 'mutation { createOrder(input: { sku: "BOLT-1" }) { order { id } } }')).body.errors).toBeUndefined();
  expect((await firstEvent).value).toEqual({ data: { orderChanged: { operation: 'INSERT', node: { id: '1', sku: 'BOLT-1' } } } });
  expect((await postGraphQL(base, '{ orders { nodes { note } } }')).status).toBe(400);

  // Activation, in the order a gateway runs it: the owner's table already has the column (the owner's
  // DBA or application added it), the replica is migrated, then the API is swapped. Migrating the replica
  // (ensureTables) also drops the connector's cached table models, so writes see the new column; without
  // it the write below fails with 'Table public.orders has no column "note"'.
  await fresh.db.exec('alter table public.orders add column note text');
  const v1 = compose(v1Sdl);
  const v2 = compose(v2Sdl);
  await connector.replica.ensureTables(planReplicaMigration(v1, v2, 'acme').ensureTables);
  const [schema, forViewer] = versionOf(v2);
  holder.replace(schema, 2, forViewer);

  expect((await postGraphQL(base, '{ orders { nodes { id sku note } } }')).body).toEqual({ data: { orders: { nodes: [{ id: '1', sku: 'BOLT-1', note: null }] } } });
  const after = subscribe('subscription { orderChanged { node { id note } } }');
  const afterEvent = after.next();
  await expect.poll(() => server.activeSubscriptions()).toBe(2);
  const created = await postGraphQL(base, 'mutation { createOrder(input: { sku: "NUT-2", note: "rush" }) { order { id note } } }');
  expect(created.body).toEqual({ data: { createOrder: { order: { id: '2', note: 'rush' } } } });
  expect((await before.next()).value).toEqual({ data: { orderChanged: { operation: 'INSERT', node: { id: '2', sku: 'NUT-2' } } } });
  expect((await afterEvent).value).toEqual({ data: { orderChanged: { node: { id: '2', note: 'rush' } } } });
  expect(await (await fetch(`${base}/health`)).json()).toMatchObject({ schemaVersion: 2 });
  expect(server.activeSubscriptions()).toBe(2);
});
