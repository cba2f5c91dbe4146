// The contract fixture (./fixture.ts) in PostgreSQL's dialect; PGlite runs the same DDL. Other families
// translate it: the logical names, nullability and keys must match, the native types are theirs.

export function postgresFixtureDdl(schema: string): string {
  const s = `"${schema}"`;
  return `
create schema if not exists ${s};
create type ${s}.customer_tier as enum ('bronze', 'silver', 'gold');
create type ${s}.order_status as enum ('open', 'paid', 'shipped', 'cancelled');
create domain ${s}.money_amount as numeric(12,2);
create table ${s}.customers (
  id integer primary key,
  name text not null,
  email varchar(200) null constraint customers_email_key unique,
  tier ${s}.customer_tier not null default 'bronze',
  tags text[] null,
  profile jsonb null,
  balance ${s}.money_amount not null,
  score double precision null,
  external_id uuid null,
  created_at timestamptz not null,
  avatar bytea null
);
comment on table ${s}.customers is 'People who buy things';
comment on column ${s}.customers.email is 'Contact address';
create table ${s}.orders (
  region text not null,
  order_no integer not null,
  customer_id integer not null constraint orders_customer_id_fkey references ${s}.customers(id),
  status ${s}.order_status not null,
  total numeric(12,2) not null,
  placed_at timestamptz not null,
  version integer not null default 1,
  note text null,
  primary key (region, order_no)
);
create table ${s}.order_lines (
  region text not null,
  order_no integer not null,
  line_no integer not null,
  sku text not null,
  quantity integer not null,
  unit_price numeric(12,2) not null,
  primary key (region, order_no, line_no),
  constraint order_lines_order_fkey foreign key (region, order_no) references ${s}.orders(region, order_no)
);
create table ${s}.events (
  id bigint not null,
  occurred_at timestamptz not null,
  kind text not null,
  payload jsonb null,
  primary key (id, occurred_at)
) partition by range (occurred_at);
create table ${s}.events_2024 partition of ${s}.events for values from ('2024-01-01') to ('2025-01-01');
create table ${s}.events_2025 partition of ${s}.events for values from ('2025-01-01') to ('2026-01-01');
create table ${s}.audit_log (
  at timestamptz not null,
  message text not null
);
create view ${s}.customer_order_totals as
  select customer_id, count(*) as order_count, sum(total) as total_amount from ${s}.orders group by customer_id;
`;
}

/** One INSERT of a canonical row through jsonb_populate_record (bytea columns: base64 → hex first). */
export function postgresInsertStatement(schema: string, table: string, row: Readonly<Record<string, unknown>>): { readonly text: string; readonly values: readonly string[] } {
  const columns = Object.keys(row);
  const prepared: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) {
    prepared[name] = name === 'avatar' && typeof value === 'string' ? `\\x${Buffer.from(value, 'base64').toString('hex')}` : value;
  }
  const quoted = columns.map((name) => `"${name}"`).join(', ');
  const target = `"${schema}"."${table}"`;
  return { text: `insert into ${target} (${quoted}) select ${quoted} from jsonb_populate_record(null::${target}, $1::jsonb)`, values: [JSON.stringify(prepared)] };
}
