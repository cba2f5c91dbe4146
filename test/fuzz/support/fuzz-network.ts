// The network the GraphQL fuzzing test attacks: three partners' SDL (acme owns the gateway under test,
// globex and initech own a type each, kept on acme's side as replicas), with every kind of access rule
// the schema layer has — a type granted to one partner only, row rules ($partner), a field readable by
// one partner, a field readable by the owner only — and a marker string planted in every value that
// some caller may NOT read. A response that contains a marker its caller may not read is a leak.
//
// Mutations: acme's own users are limited to READ by explicit grants, so the only writes any fuzzed
// caller can make are globex's and initech's on their own `Note` rows (a row rule on `author`). The
// database checksum therefore covers every other row and the catalog, and stays fixed.
import type { Writable } from 'node:stream';
import pg from 'pg';
import type { Connector, ReplicaChange } from '../../../connectors/connector.ts';
import { openPostgresConnector } from '../../../connectors/postgres/postgres-connector.ts';
import type { Authenticator, Caller } from '../../../gateway/auth/caller.ts';
import { createGatewayServer, type GatewayServer } from '../../../gateway/server/gateway-server.ts';
import type { GatewayLimits } from '../../../gateway/server/limits.ts';
import { createLogger } from '../../../gateway/server/logger.ts';
import { createGatewayMetrics } from '../../../gateway/server/metrics.ts';
import type { GatewayRequestContext } from '../../../gateway/server/request-context.ts';
import { SchemaHolder } from '../../../gateway/server/schema-holder.ts';
import { buildExecutableSchema } from '../../../schema/api/build-schema.ts';
import { directWritePath, emptyLedger, InMemoryChangeFeed, type SchemaContext } from '../../../schema/api/context.ts';
import { composeSchemas } from '../../../schema/compose.ts';
import type { UnifiedSchema } from '../../../schema/policy.ts';
import { replicaTableName, replicaTablesFor } from '../../../schema/replica.ts';
import { markers, partnerHeader, rolesHeader } from './markers.ts';

const acmeSdl = `
type Product @key(fields: "sku") @table(name: "products", schema: "public")
  @grant(partners: ["*"], operations: [READ]) @grant(partners: ["acme"], operations: [READ]) {
  sku: String! @column(name: "sku", type: "text")
  name: String! @column(name: "name", type: "text")
  weight: Float @column(name: "weight", type: "double precision")
  unitPrice: Decimal! @column(name: "unit_price", type: "numeric(12,2)")
  supplierNote: String! @column(name: "supplier_note", type: "text") @readableBy(partners: ["globex"])
  internalNote: String! @column(name: "internal_note", type: "text") @readableBy(partners: ["acme"])
  purchaseOrders: [PurchaseOrder!]! @relation(fields: ["sku"], references: ["sku"])
}

type PurchaseOrder @key(fields: "id") @table(name: "purchase_orders", schema: "public")
  @grant(partners: ["globex", "initech"], operations: [READ], rows: [{ field: "supplierId", eq: "$partner" }])
  @grant(partners: ["acme"], operations: [READ]) {
  id: BigInt! @column(name: "id", type: "bigint", generated: true)
  supplierId: String! @column(name: "supplier_id", type: "text")
  sku: String! @column(name: "sku", type: "text")
  quantity: Int! @column(name: "quantity", type: "integer")
  price: Decimal! @column(name: "price", type: "numeric(12,2)")
  status: OrderStatus! @column(name: "status", type: "order_status")
  memo: String! @column(name: "memo", type: "text")
  tags: [String!] @column(name: "tags", type: "text[]")
  placedAt: DateTime! @column(name: "placed_at", type: "timestamptz", hasDefault: true)
  product: Product! @relation(fields: ["sku"], references: ["sku"])
}

enum OrderStatus {
  PLACED @enumValue(name: "placed")
  CONFIRMED @enumValue(name: "confirmed")
  IN_TRANSIT @enumValue(name: "in-transit")
}

type Invoice @key(fields: "id") @table(name: "invoices", schema: "public")
  @grant(partners: ["globex"], operations: [READ]) @grant(partners: ["acme"], operations: [READ]) {
  id: Int! @column(name: "id", type: "integer")
  number: String! @column(name: "number", type: "text")
  amount: Decimal! @column(name: "amount", type: "numeric(14,4)")
  issuedOn: Date! @column(name: "issued_on", type: "date")
  data: JSON @column(name: "data", type: "jsonb")
}

type Note @key(fields: "id") @table(name: "notes", schema: "public")
  @grant(partners: ["globex", "initech"], operations: [READ, CREATE, UPDATE, DELETE], rows: [{ field: "author", eq: "$partner" }])
  @grant(partners: ["acme"], operations: [READ]) {
  id: BigInt! @column(name: "id", type: "bigint", generated: true)
  author: String! @column(name: "author", type: "text")
  body: String! @column(name: "body", type: "text")
  score: Int @column(name: "score", type: "integer")
  ratio: Float @column(name: "ratio", type: "double precision")
  amount: Decimal @column(name: "amount", type: "numeric(20,6)")
  big: BigInt @column(name: "big", type: "bigint")
  at: DateTime @column(name: "at", type: "timestamptz")
  day: Date @column(name: "day", type: "date")
  time: Time @column(name: "time", type: "time")
  uid: UUID @column(name: "uid", type: "uuid")
  blob: Bytes @column(name: "blob", type: "bytea")
  payload: JSON @column(name: "payload", type: "jsonb")
  flag: Boolean @column(name: "flag", type: "boolean")
  labels: [String!] @column(name: "labels", type: "text[]")
}
`;

const globexSdl = `
type Shipment @key(fields: "id") @table(name: "shipments", schema: "public")
  @grant(partners: ["acme"], operations: [READ]) {
  id: BigInt! @column(name: "id", type: "bigint", generated: true)
  purchaseOrderId: BigInt! @column(name: "purchase_order_id", type: "bigint")
  trackingCode: String! @column(name: "tracking_code", type: "text")
  purchaseOrder: PurchaseOrder @relation(fields: ["purchaseOrderId"], references: ["id"])
}

extend type PurchaseOrder {
  shipments: [Shipment!]! @relation(fields: ["id"], references: ["purchaseOrderId"])
}
`;

const initechSdl = `
type Quote @key(fields: "id") @table(name: "quotes", schema: "public")
  @grant(partners: ["acme"], operations: [READ]) {
  id: Int! @column(name: "id", type: "integer")
  sku: String! @column(name: "sku", type: "text")
  offer: String! @column(name: "offer", type: "text")
}
`;

export function fuzzUnifiedSchema(): UnifiedSchema {
  return composeSchemas([
    { path: 'fuzz/acme.graphql', partner: 'acme', source: acmeSdl },
    { path: 'fuzz/globex.graphql', partner: 'globex', source: globexSdl },
    { path: 'fuzz/initech.graphql', partner: 'initech', source: initechSdl },
  ]);
}

const productCount = 8;
const orderCount = 60;

const ddl = `
create type order_status as enum ('placed', 'confirmed', 'in-transit');
create table products (sku text primary key, name text not null, weight double precision, unit_price numeric(12,2) not null,
  supplier_note text not null, internal_note text not null);
create table purchase_orders (id bigint generated by default as identity primary key, supplier_id text not null,
  sku text not null references products(sku), quantity integer not null, price numeric(12,2) not null, status order_status not null,
  memo text not null, tags text[], placed_at timestamptz not null default now());
create table invoices (id integer primary key, number text not null, amount numeric(14,4) not null, issued_on date not null, data jsonb);
create table notes (id bigint generated by default as identity primary key, author text not null, body text not null, score integer,
  ratio double precision, amount numeric(20,6), big bigint, at timestamptz, day date, time time, uid uuid unique, blob bytea, payload jsonb,
  flag boolean, labels text[]);
`;

function seedSql(): string {
  const products = Array.from({ length: productCount }, (_, index) =>
    `('P${index}', 'Part ${index}', ${index}.25, ${index}.5${index}, '${markers.globexField} ${index}', '${markers.acmeOnlyField} ${index}')`).join(', ');
  const suppliers = ['globex', 'initech', 'nobody'];
  const orderMarker = { globex: markers.globexOrderRow, initech: markers.initechOrderRow, nobody: markers.nobodysOrderRow } as const;
  const orders = Array.from({ length: orderCount }, (_, index) => {
    const supplier = suppliers[index % 3] as 'globex' | 'initech' | 'nobody';
    const status = ['placed', 'confirmed', 'in-transit'][index % 4 % 3]!;
    return `(${index + 1}, '${supplier}', 'P${index % productCount}', ${index * 7 - 30}, ${index}.75, '${status}', '${orderMarker[supplier]} ${index}', array['t${index % 5}', '${orderMarker[supplier]}'], '2024-05-01T10:00:00Z'::timestamptz + interval '${index} hours')`;
  }).join(', ');
  const invoices = Array.from({ length: 12 }, (_, index) => `(${index + 1}, '${markers.globexInvoice} ${index}', ${index}.1234, date '2024-01-01' + ${index}, '{"marker": "${markers.globexInvoice}", "n": ${index}}')`).join(', ');
  const noteRows = ['acme', 'globex', 'initech'].flatMap((author) => Array.from({ length: 6 }, (_, index) => {
    const marker = author === 'acme' ? markers.acmeNote : author === 'globex' ? markers.globexNote : markers.initechNote;
    return `('${author}', '${marker} ${index}', ${index}, ${index}.5, ${index}.000001, ${index}000000000000, '2024-05-0${index + 1}T00:00:00Z', '2024-05-0${index + 1}', '10:00:0${index}', null, '\\x${marker.length.toString(16).padStart(2, '0')}', '{"m": "${marker}"}', ${index % 2 === 0}, array['${marker}'])`;
  })).join(', ');
  return `insert into products values ${products};
insert into purchase_orders (id, supplier_id, sku, quantity, price, status, memo, tags, placed_at) values ${orders};
select setval(pg_get_serial_sequence('purchase_orders', 'id'), 10000);
insert into invoices values ${invoices};
insert into notes (author, body, score, ratio, amount, big, at, day, time, uid, blob, payload, flag, labels) values ${noteRows};`;
}

function replicaRows(unified: UnifiedSchema): { readonly shipments: ReplicaChange[]; readonly quotes: ReplicaChange[] } {
  const shipmentTable = replicaTableName(unified.types.find((type) => type.name === 'Shipment')!);
  const quoteTable = replicaTableName(unified.types.find((type) => type.name === 'Quote')!);
  const shipments = Array.from({ length: 10 }, (_, index): ReplicaChange => {
    const row = { id: String(index + 1), purchase_order_id: String(index + 1), tracking_code: `${markers.globexShipment} ${index}` };
    return { table: shipmentTable, op: 'insert', key: { id: row.id }, after: row };
  });
  const quotes = Array.from({ length: 10 }, (_, index): ReplicaChange => {
    const row = { id: index + 1, sku: `P${index % productCount}`, offer: `${markers.initechQuote} ${index}` };
    return { table: quoteTable, op: 'insert', key: { id: row.id }, after: row };
  });
  return { shipments, quotes };
}

/** Reads the caller from test headers, the way a peer-forwarded identity arrives (auth is not under test here). */
const headerAuthenticator: Authenticator = {
  authenticate: async ({ headers }): Promise<Caller> => {
    const partner = String(headers[partnerHeader] ?? 'mallory');
    const roles = String(headers[rolesHeader] ?? '').split(',').filter((role) => role.length > 0);
    return { kind: 'peer', partner, nodeId: 'fuzz', roles, onBehalfOf: `${partner}-fuzzer` };
  },
};

export interface FuzzGateway {
  readonly base: string;
  readonly server: GatewayServer;
  readonly connector: Connector;
  close(): Promise<void>;
}

/** acme's gateway over a fresh PostgreSQL database at `databaseUrl`, seeded, with `limits`; logs go to `logSink`. */
export async function startFuzzGateway(databaseUrl: string, logSink: Writable, limits: Partial<GatewayLimits>): Promise<FuzzGateway> {
  const unified = fuzzUnifiedSchema();
  await withClient(databaseUrl, async (client) => {
    await client.query(ddl);
    await client.query(seedSql());
  });
  const connector = await openPostgresConnector(databaseUrl);
  await connector.replica.ensureTables(replicaTablesFor(unified, 'acme'));
  const replicas = replicaRows(unified);
  await connector.replica.apply(1, [...replicas.shipments, ...replicas.quotes]);
  const changeFeed = new InMemoryChangeFeed();
  const writePath = directWritePath(connector, 'acme', changeFeed);
  const holder = new SchemaHolder(buildExecutableSchema(unified, { partner: 'acme' }), 1, (viewer) => buildExecutableSchema(unified, { partner: 'acme', viewer }));
  const server = createGatewayServer<GatewayRequestContext & SchemaContext>({
    partner: 'acme',
    schema: holder,
    authenticator: headerAuthenticator,
    createContext: (base) => ({ ...base, connector, writePath, changeFeed, ledger: emptyLedger }),
    logger: createLogger({ level: 'warn', destination: logSink, bindings: { partner: 'acme' } }),
    metrics: createGatewayMetrics({ partner: 'acme' }, { processMetrics: false }),
    drainTimeoutMs: 2_000,
    limits,
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    base: `http://127.0.0.1:${port}`,
    server,
    connector,
    async close() {
      await server.close();
      await connector.close();
    },
  };
}

async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * One digest of everything the fuzzer must not be able to change: every row of every table except the
 * notes globex and initech may write (their own rows), and the catalog (tables, columns, types, enum
 * labels). Also returns the notes whose author is not one of the two writers (must be none).
 */
export async function databaseDigest(databaseUrl: string): Promise<{ readonly digest: string; readonly strayNotes: number }> {
  return withClient(databaseUrl, async (client) => {
    const tables = await client.query<{ name: string }>(`select table_name as name from information_schema.tables where table_schema = 'public' order by table_name`);
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const where = name === 'notes' ? ` where author = 'acme'` : '';
      const result = await client.query<{ digest: string | null; n: string }>(`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest, count(*) as n from public."${name}" t${where}`);
      parts.push(`${name}:${result.rows[0]?.n}:${result.rows[0]?.digest}`);
    }
    const catalog = await client.query<{ digest: string }>(`select md5(string_agg(table_name || '.' || column_name || ':' || data_type || ':' || is_nullable, ',' order by table_name, column_name)) as digest
      from information_schema.columns where table_schema = 'public'`);
    const enums = await client.query<{ labels: string }>(`select string_agg(enumlabel, ',' order by enumsortorder) as labels from pg_enum e join pg_type t on t.oid = e.enumtypid where t.typname = 'order_status'`);
    const stray = await client.query<{ n: string }>(`select count(*) as n from notes where author not in ('acme', 'globex', 'initech')`);
    return { digest: [...parts, `catalog:${catalog.rows[0]?.digest}`, `enum:${enums.rows[0]?.labels}`].join('\n'), strayNotes: Number(stray.rows[0]?.n ?? 0) };
  });
}
