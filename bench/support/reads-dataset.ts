// The dataset of `npm run bench:reads`: suppliers → products → order lines, 1,002,000 rows made by
// generate_series in one transaction (seconds, not minutes), with the indexes both servers need for
// their lookups (primary keys, foreign keys, the region filter). The database is kept between runs and
// rebuilt only when its row counts differ or `fresh` is asked for.
import pg from 'pg';

export const datasetSize = { suppliers: 2_000, products: 200_000, orderLines: 800_000, regions: 200 } as const;

const ddl = `
drop table if exists order_lines, products, suppliers;
create table suppliers (id integer primary key, name text not null, region text not null);
create table products (id integer primary key, supplier_id integer not null references suppliers(id), name text not null,
  price numeric(10,2) not null, stock integer not null);
create table order_lines (id bigint primary key, product_id integer not null references products(id), quantity integer not null,
  placed_at timestamptz not null);
insert into suppliers select g, 'Supplier ' || g, 'R' || (g % ${datasetSize.regions}) from generate_series(1, ${datasetSize.suppliers}) g;
insert into products select g, 1 + (g % ${datasetSize.suppliers}), 'Product ' || g, 1 + (g % 10000) / 100.0, g % 500
  from generate_series(1, ${datasetSize.products}) g;
insert into order_lines select g, 1 + (g % ${datasetSize.products}), 1 + g % 20, timestamptz '2024-01-01T00:00:00Z' + g * interval '1 minute'
  from generate_series(1, ${datasetSize.orderLines}) g;
create index suppliers_region on suppliers (region);
create index products_supplier_id on products (supplier_id);
create index order_lines_product_id on order_lines (product_id);
`;

/** Creates `database` on the server at `adminUrl` if needed and fills it; returns the row count. */
export async function ensureReadsDataset(adminUrl: string, database: string, fresh: boolean): Promise<number> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await admin.query(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const expected = datasetSize.suppliers + datasetSize.products + datasetSize.orderLines;
    if (!fresh && (await rowCount(client)) === expected) return expected;
    await client.query('begin');
    await client.query(ddl);
    await client.query('commit');
    await client.query('analyze');
    // Awaited here: returned unawaited, `finally` closed the connection under the count ("0 rows").
    return await rowCount(client);
  } finally {
    await client.end();
  }
}

async function rowCount(client: pg.Client): Promise<number> {
  try {
    const result = await client.query<{ n: string }>('select (select count(*) from suppliers) + (select count(*) from products) + (select count(*) from order_lines) as n');
    return Number(result.rows[0]?.n ?? 0);
  } catch {
    return 0; // tables not there yet
  }
}

/** The dataset database's URL on the same server. */
export function datasetUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
