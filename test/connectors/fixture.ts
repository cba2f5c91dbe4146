// The logical fixture every connector's contract target creates in its own dialect, and the rows the
// contract suite seeds and expects back. Names and canonical values are shared by all families, so one
// suite can compare what every connector returns. Each target creates these tables (empty) in `open()`;
// the suite seeds them through `ContractDatabase.insertOutside`.
//
// Logical tables (the column list is the contract; the native types are the target's choice):
//
//   customers        id Int PK; name String NOT NULL; email String NULL UNIQUE (customers_email_key);
//                    tier enum customer_tier('bronze','silver','gold') NOT NULL DEFAULT 'bronze';
//                    tags [String] NULL (feature 'arrays'); profile JSON NULL; balance Decimal(12,2) NOT NULL;
//                    score Float NULL; external_id UUID NULL; created_at DateTime NOT NULL; avatar Bytes NULL
//   orders           region String, order_no Int, PRIMARY KEY (region, order_no);
//                    customer_id Int NOT NULL FK orders_customer_id_fkey → customers(id);
//                    status enum order_status('open','paid','shipped','cancelled') NOT NULL;
//                    total Decimal(12,2) NOT NULL; placed_at DateTime NOT NULL; version Int NOT NULL DEFAULT 1;
//                    note String NULL
//   order_lines      region String, order_no Int, line_no Int, PRIMARY KEY (region, order_no, line_no);
//                    FK order_lines_order_fkey (region, order_no) → orders(region, order_no);
//                    sku String NOT NULL; quantity Int NOT NULL; unit_price Decimal(12,2) NOT NULL
//   events           (feature 'partitionedTables': partitioned by range of occurred_at, partitions
//                    events_2024 and events_2025, which introspection must NOT list)
//                    id BigInt, occurred_at DateTime, PRIMARY KEY (id, occurred_at); kind String NOT NULL;
//                    payload JSON NULL
//   audit_log        (feature 'tableWithoutPrimaryKey') at DateTime NOT NULL; message String NOT NULL
//   customer_order_totals  (feature 'views') VIEW: customer_id Int, order_count BigInt, total_amount Decimal
//                    = select customer_id, count(*), sum(total) from orders group by customer_id
//
// PostgreSQL DDL for all of it: `postgresFixtureDdl` in ./postgres-fixture.ts (a template for others).
import type { Row } from '../../connectors/connector.ts';

export type FixtureTableName = 'customers' | 'orders' | 'order_lines' | 'events' | 'audit_log';

export type FixtureFeature =
  | 'enums'
  | 'arrays'
  | 'foreignKeys'
  | 'views'
  | 'partitionedTables'
  | 'tableWithoutPrimaryKey'
  | 'ilike'
  /** `Float` NaN/Infinity round-trip. */
  | 'floatSpecials'
  /** DateTime keeps microseconds (BSON dates hold milliseconds: MongoDB reads '.123456Z' back as '.123000Z'). */
  | 'microsecondDateTimes';

export const allFixtureFeatures: ReadonlySet<FixtureFeature> = new Set<FixtureFeature>([
  'enums',
  'arrays',
  'foreignKeys',
  'views',
  'partitionedTables',
  'tableWithoutPrimaryKey',
  'ilike',
  'floatSpecials',
  'microsecondDateTimes',
]);

/** A canonical DateTime as a millisecond-precision store returns it: microseconds beyond the millisecond become zeros. */
export function toMillisecondPrecision(dateTime: string): string {
  return dateTime.replace(/\.(\d{3})\d{3}Z$/, '.$1000Z');
}

export const fixtureCustomerTiers = ['bronze', 'silver', 'gold'] as const;
export const fixtureOrderStatuses = ['open', 'paid', 'shipped', 'cancelled'] as const;

/** Seed rows in canonical form (see `Value` in connectors/connector.ts). */
export const seedCustomers: readonly Row[] = [
  {
    id: 1,
    name: 'Ada Lovelace',
    email: 'ada@example.com',
    tier: 'gold',
    tags: ['math', 'engines'],
    profile: { vip: true, languages: ['en', 'fr'], limits: { daily: 500 } },
    balance: '1250.50',
    score: 9.5,
    external_id: '6f1c1d3e-8a4b-4c59-9d1e-2b7f0c3a4d5e',
    created_at: '2024-05-01T10:00:00.123456Z',
    avatar: 'AAEC/w==',
  },
  {
    id: 2,
    name: 'Grace Hopper',
    email: 'grace@example.com',
    tier: 'silver',
    tags: [],
    profile: null,
    balance: '-12.50',
    score: null,
    external_id: null,
    created_at: '2024-06-15T23:59:59.000000Z',
    avatar: null,
  },
  {
    id: 3,
    name: 'Alan Turing',
    email: null,
    tier: 'bronze',
    tags: null,
    profile: { vip: false },
    balance: '0.00',
    score: -1.25,
    external_id: null,
    created_at: '2023-01-01T00:00:00.000001Z',
    avatar: null,
  },
  {
    id: 4,
    name: 'edsger dijkstra',
    email: 'EWD@example.com',
    tier: 'silver',
    tags: ['go to', 'considered "harmful"', 'a,b{c}'],
    profile: { note: 'quotes " and \\ backslashes' },
    balance: '99999999.99',
    score: 1e-7,
    external_id: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    created_at: '2025-12-31T12:30:00.500000Z',
    avatar: '',
  },
];

export const seedOrders: readonly Row[] = [
  { region: 'eu', order_no: 1, customer_id: 1, status: 'paid', total: '100.00', placed_at: '2024-05-02T09:00:00.000000Z', version: 1, note: null },
  { region: 'eu', order_no: 2, customer_id: 1, status: 'open', total: '20.25', placed_at: '2024-05-03T09:00:00.000000Z', version: 1, note: 'gift' },
  { region: 'us', order_no: 1, customer_id: 2, status: 'shipped', total: '300.10', placed_at: '2024-05-04T09:00:00.000000Z', version: 3, note: null },
  { region: 'us', order_no: 2, customer_id: 4, status: 'cancelled', total: '0.99', placed_at: '2024-05-05T09:00:00.000000Z', version: 1, note: null },
  { region: 'eu', order_no: 3, customer_id: 2, status: 'paid', total: '7.00', placed_at: '2024-05-06T09:00:00.000000Z', version: 2, note: null },
];

export const seedOrderLines: readonly Row[] = [
  { region: 'eu', order_no: 1, line_no: 1, sku: 'BOOK-1', quantity: 2, unit_price: '25.00' },
  { region: 'eu', order_no: 1, line_no: 2, sku: 'PEN-9', quantity: 10, unit_price: '5.00' },
  { region: 'eu', order_no: 2, line_no: 1, sku: 'CARD', quantity: 1, unit_price: '20.25' },
  { region: 'us', order_no: 1, line_no: 1, sku: 'LAMP', quantity: 1, unit_price: '300.10' },
  { region: 'eu', order_no: 3, line_no: 1, sku: 'PEN-9', quantity: 1, unit_price: '5.00' },
  { region: 'eu', order_no: 3, line_no: 2, sku: 'INK', quantity: 1, unit_price: '2.00' },
];

export const seedEvents: readonly Row[] = [
  { id: '9007199254740993', occurred_at: '2024-03-01T00:00:00.000000Z', kind: 'signup', payload: { customer: 1 } },
  { id: '2', occurred_at: '2025-03-01T00:00:00.000000Z', kind: 'login', payload: null },
  { id: '3', occurred_at: '2025-07-01T08:00:00.250000Z', kind: 'login', payload: { ip: '10.0.0.1' } },
];

export const seedAuditLog: readonly Row[] = [
  { at: '2024-01-01T00:00:00.000000Z', message: 'created' },
  { at: '2024-01-02T00:00:00.000000Z', message: 'created' },
];

export const seedRows: Readonly<Record<FixtureTableName, readonly Row[]>> = {
  customers: seedCustomers,
  orders: seedOrders,
  order_lines: seedOrderLines,
  events: seedEvents,
  audit_log: seedAuditLog,
};

/** Insertion order that satisfies the foreign keys. */
export const seedOrder: readonly FixtureTableName[] = ['customers', 'orders', 'order_lines', 'events', 'audit_log'];
