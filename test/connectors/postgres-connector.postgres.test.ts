// PostgreSQL-specific connector behaviour beyond the contract suite, on the real server. Goals:
// acceptance 5 (a list-with-relation over 10,000 rows issues a bounded number of statements, asserted
// through statementCount), errors that name the fix (unreachable host, unknown role, missing database,
// missing privilege for reads and for installing capture), and faithful values for the awkward types
// (int8 beyond 2^53, numeric beyond double precision, float specials, enum arrays, ranges and
// geometry served as text with a warning). Method: a fresh database; a role without privileges is
// created for the privilege checks and dropped afterwards.
import DataLoader from 'dataloader';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres } from '../support/databases.ts';
import { postgresUrl } from '../support/services.ts';
import { openConnector } from '../../connectors/index.ts';
import type { Connector, Row, Value } from '../../connectors/connector.ts';
import { isEntenteError } from '../../common/errors.ts';

const partsCount = 10_000;
const suppliersCount = 100;

async function errorOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the operation to fail');
}

describeWithPostgres('postgres connector on a real server', (db) => {
  let admin: pg.Client;
  let connector: Connector;
  const role = `entente_noprivs_${Math.random().toString(36).slice(2, 10)}`;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`
      create table suppliers (id integer primary key, name text not null);
      create table parts (id integer primary key, supplier_id integer not null references suppliers(id), name text not null);
      insert into suppliers select g, 'supplier ' || g from generate_series(1, ${suppliersCount}) g;
      insert into parts select g, 1 + (g % ${suppliersCount}), 'part ' || g from generate_series(1, ${partsCount}) g;
      create type mood as enum ('sad', 'ok', 'happy');
      create table oddities (
        id bigint primary key, amount numeric, ratio double precision, moods mood[], grid integer[][],
        period tstzrange, spot point, at_local timestamp, day date, clock time, span interval, addr inet
      );
      insert into oddities values
        (9223372036854775807, 123456789012345678901234567890.123456789, 'NaN', '{happy,NULL,sad}', '{{1,2},{3,4}}',
         '[2024-01-01 00:00:00+00,2024-02-01 00:00:00+00)', '(1.5,2)', '2024-05-01 10:00:00.5', '2024-02-29', '23:59:59.999999', '1 day 02:00:00', '10.0.0.1/32'),
        (-1, '-0.000000000000000000001', '-Infinity', '{}', null, null, null, null, null, null, null, null);
      create role ${role} login;
    `);
    connector = await openConnector(db.url);
  });
  afterAll(async () => {
    await connector?.close();
    await admin?.query(`drop role if exists ${role}`).catch(() => undefined);
    await admin?.end();
  });

  it('lists 10,000 rows with their relation in a bounded number of statements (acceptance 5)', async () => {
    const parts = { schema: 'public', name: 'parts' };
    const suppliers = { schema: 'public', name: 'suppliers' };
    await connector.loadByKeys(suppliers, ['id'], [[1]]);
    await connector.loadByKeys(parts, ['id'], [[1]]);
    const before = connector.statementCount();
    const supplierLoader = new DataLoader<Value, Row | null, string>(
      async (ids) => connector.loadByKeys(suppliers, ['id'], ids.map((id) => [id])),
      { maxBatchSize: connector.limits.keysPerLoadMax, cacheKeyFn: (id) => String(id) },
    );
    const seen: { part: Row; supplier: Row | null }[] = [];
    let after: readonly Value[] | undefined;
    let pages = 0;
    for (;;) {
      const page = await connector.list({ table: parts, first: connector.limits.pageSizeMax, ...(after === undefined ? {} : { after }) });
      pages += 1;
      const resolved = await Promise.all(page.rows.map(async (part) => ({ part, supplier: await supplierLoader.load(part['supplier_id'] ?? null) })));
      seen.push(...resolved);
      const last = page.rows.at(-1);
      if (!page.hasNextPage || last === undefined) break;
      after = page.orderColumns.map((term) => last[term.column] ?? null);
    }
    const grouped = await connector.listGrouped({ table: parts, columns: ['supplier_id'], groups: Array.from({ length: suppliersCount }, (_, index) => [index + 1]), first: 3 });
    const statements = connector.statementCount() - before;

    expect(seen).toHaveLength(partsCount);
    expect(seen.every(({ part, supplier }) => supplier?.['id'] === part['supplier_id'])).toBe(true);
    expect(grouped.every((group) => group.length === 3)).toBe(true);
    // One statement per page, one supplier batch (all 100 suppliers are cached after the first page), one for the groups.
    const bound = 2 * Math.ceil(partsCount / connector.limits.pageSizeMax) + 2;
    expect(statements).toBeLessThanOrEqual(bound);
    expect(pages).toBe(Math.ceil(partsCount / connector.limits.pageSizeMax));
  });

  it('keeps awkward values faithful and serves unsupported types as text with a warning', async () => {
    const [big, small] = await connector.loadByKeys({ schema: 'public', name: 'oddities' }, ['id'], [['9223372036854775807'], ['-1']]);
    expect(big).toEqual({
      id: '9223372036854775807',
      amount: '123456789012345678901234567890.123456789',
      ratio: 'NaN',
      moods: ['happy', null, 'sad'],
      grid: [[1, 2], [3, 4]],
      period: '["2024-01-01 00:00:00+00","2024-02-01 00:00:00+00")',
      spot: '(1.5,2)',
      at_local: '2024-05-01T10:00:00.500000Z',
      day: '2024-02-29',
      clock: '23:59:59.999999',
      span: '1 day 02:00:00',
      addr: '10.0.0.1',
    });
    expect(small).toMatchObject({ amount: '-0.000000000000000000001', ratio: '-Infinity', moods: [] });
    const model = await connector.introspect();
    const oddities = model.tables.find((table) => table.name === 'oddities');
    expect(oddities?.columns.find((column) => column.name === 'moods')?.type).toEqual({ kind: 'list', of: { kind: 'enum', name: 'mood', values: ['sad', 'ok', 'happy'] } });
    expect(model.warnings.filter((warning) => warning.code === 'UNSUPPORTED_TYPE').map((warning) => warning.column)).toEqual(['period', 'spot']);
    const [written] = await connector.write([{ op: 'insert', table: { schema: 'public', name: 'oddities' }, values: { id: '5', moods: ['ok'], ratio: 'Infinity', period: '(,)' } }]);
    expect(written?.row).toMatchObject({ id: '5', moods: ['ok'], ratio: 'Infinity', period: '(,)' });
  });

  it('keeps capturing through schema changes: added columns appear, a dropped table does not stall the stream', async () => {
    await admin.query('create table evolving (id integer primary key, name text); create table doomed (id integer primary key)');
    const tables = [{ schema: 'public', name: 'evolving' }, { schema: 'public', name: 'doomed' }];
    await connector.capture.install(tables);
    await connector.write([{ op: 'insert', table: tables[0]!, values: { id: 1, name: 'before' } }]);
    await connector.write([{ op: 'insert', table: tables[1]!, values: { id: 7 } }]);
    await admin.query('alter table evolving add column price numeric(10,2)');
    await admin.query(`insert into evolving values (2, 'after', 12.30)`);
    await admin.query('drop table doomed');
    const cached = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
    expect(cached.map((tx) => tx.changes[0]?.after)).toEqual([{ id: 1, name: 'before' }, { id: 7 }, { id: 2, name: 'after', price: '12.30' }]);
    // A restarted gateway has never seen the dropped table: its images come as plain JSON, keyless.
    const restarted = await openConnector(db.url);
    try {
      const fresh = await restarted.capture.read(null, { transactionsMax: 10, changesMax: 100 });
      expect(fresh.map((tx) => tx.changes[0]?.key)).toEqual([{ id: 1 }, {}, { id: 2 }]);
      expect(fresh[1]?.changes[0]?.after).toEqual({ id: 7 });
    } finally {
      await restarted.close();
    }
    await connector.capture.uninstall();
  });

  it('writes on with its prepared statements after a returned column changes type', async () => {
    // The write statements are prepared once per connection; a column's new type changes their result
    // type, which the server refuses to run under the old plan. The executor prepares them afresh.
    await admin.query('create table notes (id integer primary key, body varchar(20), stars smallint)');
    const notes = { schema: 'public', name: 'notes' };
    const insert = (id: number) => connector.write([{ op: 'insert', table: notes, values: { id, body: `note ${id}`, stars: 1 } }]);
    const pair = (id: number) => connector.write([
      { op: 'update', table: notes, key: { id: 1 }, values: { stars: id } },
      { op: 'insert', table: notes, values: { id, body: `note ${id}`, stars: 2 } },
    ]);
    for (let id = 1; id <= 3; id += 1) await insert(id);
    await pair(4);
    await admin.query('alter table notes alter column body type text');
    expect((await insert(5))[0]?.row).toEqual({ id: 5, body: 'note 5', stars: 1 });
    await admin.query('alter table notes alter column stars type integer');
    expect((await pair(6)).map((result) => result.row['id'])).toEqual([1, 6]);
    expect((await insert(7))[0]?.row).toEqual({ id: 7, body: 'note 7', stars: 1 });
  });

  it('names the fix when the host is unreachable, the role unknown or the database missing', async () => {
    const settings = db.settings;
    const unreachable = await errorOf(() => openConnector(postgresUrl({ ...settings, port: 1 }, db.name)));
    expect(isEntenteError(unreachable, 'DB_UNREACHABLE')).toBe(true);
    expect(String((unreachable as Error).message)).toMatch(/server runs|host and port/);
    const unknownRole = await errorOf(() => openConnector(postgresUrl({ ...settings, user: 'entente_no_such_role' }, db.name)));
    expect(isEntenteError(unknownRole, 'DB_AUTH_FAILED')).toBe(true);
    const missing = await errorOf(() => openConnector(postgresUrl(settings, `${db.name}_missing`)));
    expect(isEntenteError(missing, 'DB_NOT_FOUND')).toBe(true);
    const badScheme = await errorOf(() => openConnector('oracle://scott:tiger@host/db'));
    expect(isEntenteError(badScheme, 'CONFIG_INVALID')).toBe(true);
    expect(String((badScheme as Error).message)).not.toContain('tiger');
  });

  it('names the GRANT that is missing for reads and for installing capture', async () => {
    const weak = await openConnector(postgresUrl({ ...db.settings, user: role }, db.name));
    try {
      const read = await errorOf(() => weak.loadByKeys({ schema: 'public', name: 'parts' }, ['id'], [[1]]));
      expect(isEntenteError(read, 'DB_PRIVILEGE_MISSING')).toBe(true);
      expect(String((read as Error).message)).toMatch(/GRANT SELECT/);
      const install = await errorOf(() => weak.capture.install([{ schema: 'public', name: 'parts' }]));
      expect(isEntenteError(install, 'DB_PRIVILEGE_MISSING')).toBe(true);
      expect(String((install as Error).message)).toMatch(/GRANT CREATE ON DATABASE/);
      expect(String((install as Error).message)).toMatch(/GRANT TRIGGER ON "public"."parts"/);
    } finally {
      await weak.close();
    }
  });
});
