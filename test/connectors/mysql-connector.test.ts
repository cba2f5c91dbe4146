// Goal: the MySQL/MariaDB connector introspects, reads and writes a real MariaDB schema faithfully —
// exact unsigned bigints and decimals, UTC date-times, json, year, bit, base64 bytes, geometry as WKT
// with a warning, utf8mb4 (4-byte characters) end to end — and names the fix in its errors.
// Method: a fresh database per file on the real server, created with plain mysql2 DDL; the connector
// is exercised through the public contract only and results are compared with values written by SQL.
import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { describeWithMariadb, withMariadbAdmin } from '../support/databases.ts';
import { openMysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import type { Connector, TableRef, Value } from '../../connectors/connector.ts';
import { isEntenteError } from '../../common/errors.ts';

const schemaSql = [
  `CREATE TABLE customers (
     id INT AUTO_INCREMENT PRIMARY KEY,
     email VARCHAR(200) NOT NULL,
     name VARCHAR(200) NOT NULL COMMENT 'display name',
     tier ENUM('gold','silver','it''s') NULL,
     tags SET('a','b','c') NULL,
     balance DECIMAL(12,2) NOT NULL DEFAULT 0,
     big BIGINT UNSIGNED NULL,
     created_at DATETIME(6) NULL,
     seen_at TIMESTAMP(3) NULL DEFAULT NULL,
     birth DATE NULL,
     opens TIME NULL,
     founded YEAR NULL,
     active BOOL NOT NULL DEFAULT TRUE,
     flags BIT(8) NULL,
     flag BIT(1) NULL,
     avatar BLOB NULL,
     profile JSON NULL,
     location POINT NULL,
     ratio DOUBLE NULL,
     CONSTRAINT customers_email_unique UNIQUE (email)
   ) COMMENT='people who buy'`,
  `CREATE TABLE order_lines (
     order_id INT NOT NULL, line_no INT NOT NULL, customer_id INT NOT NULL, sku VARCHAR(20) NULL, qty INT NULL,
     PRIMARY KEY (order_id, line_no),
     CONSTRAINT order_lines_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
   )`,
  `CREATE VIEW big_customers AS SELECT id, name FROM customers WHERE balance > 100`,
  `CREATE TABLE logs (msg TEXT)`,
];

describeWithMariadb('MySQL connector: introspect, read, write', (db) => {
  let connector: Connector;
  let admin: mysql.Connection;
  const customers = (): TableRef => ({ schema: db.name, name: 'customers' });

  beforeAll(async () => {
    admin = await mysql.createConnection({ ...db.settings, database: db.name, dateStrings: true });
    for (const statement of schemaSql) await admin.query(statement);
    await admin.query(
      `INSERT INTO customers (email, name, tier, tags, balance, big, created_at, seen_at, birth, opens, founded, active, flags, flag, avatar, profile, location, ratio)
       VALUES ('ada@example.com', 'Ada 🦄 Lovelace', 'it''s', 'a,c', 1234567890.55, 18446744073709551615, '2024-05-01 10:00:00.123456', '2024-05-01 10:00:00.5', '1815-12-10', '09:30:00', 1999, TRUE, b'10000001', b'1', X'00FF10', '{"vip": true, "n": 1}', ST_GeomFromText('POINT(1 2)'), 0.1)`,
    );
    await admin.query(`INSERT INTO customers (email, name, balance) VALUES ('bob@example.com', 'bob', 5), ('cy@example.com', 'Cy', 150)`);
    await admin.query(`INSERT INTO order_lines VALUES (1, 1, 1, 'A', 2), (1, 2, 1, 'B', 1), (2, 1, 2, 'A', 5), (3, 1, 3, NULL, NULL)`);
    connector = await openMysqlConnector(db.url);
  });
  afterAll(async () => {
    await connector?.close();
    await admin?.end();
  });

  it('introspects tables, views, keys, enums and comments as sorted plain data', async () => {
    const model = await connector.introspect();
    expect(model.family).toBe('mysql');
    expect(model.tables.map((table) => table.name)).toEqual(['big_customers', 'customers', 'logs', 'order_lines']);
    const table = model.tables.find((candidate) => candidate.name === 'customers');
    expect(table?.comment).toBe('people who buy');
    expect(table?.primaryKey).toEqual(['id']);
    expect(table?.uniqueConstraints).toEqual([{ name: 'customers_email_unique', columns: ['email'] }]);
    const column = (name: string) => table?.columns.find((candidate) => candidate.name === name);
    expect(column('id')?.generated).toBe(true);
    expect(column('name')?.comment).toBe('display name');
    expect(column('tier')?.type).toEqual({ kind: 'enum', name: 'customer_tier', values: ['gold', 'silver', "it's"] });
    expect(column('tags')?.type).toEqual({ kind: 'list', of: { kind: 'enum', name: 'customer_tags', values: ['a', 'b', 'c'] } });
    const scalars = Object.fromEntries(table?.columns.filter((c) => c.type.kind === 'scalar').map((c) => [c.name, c.type.kind === 'scalar' ? c.type.scalar : '']) ?? []);
    expect(scalars).toMatchObject({ id: 'Int', balance: 'Decimal', big: 'BigInt', created_at: 'DateTime', seen_at: 'DateTime', birth: 'Date', opens: 'Time', founded: 'Int', active: 'Boolean', flags: 'BigInt', flag: 'Boolean', avatar: 'Bytes', profile: 'JSON', location: 'Other', ratio: 'Float' });
    expect(column('profile')?.nativeType).toBe('json');
    const lines = model.tables.find((candidate) => candidate.name === 'order_lines');
    expect(lines?.primaryKey).toEqual(['order_id', 'line_no']);
    expect(lines?.foreignKeys).toEqual([{ name: 'order_lines_customer', columns: ['customer_id'], references: { schema: db.name, name: 'customers' }, referencedColumns: ['id'] }]);
    expect(model.tables.find((candidate) => candidate.name === 'big_customers')).toMatchObject({ kind: 'view', writable: false, primaryKey: null });
    expect(model.tables.find((candidate) => candidate.name === 'logs')).toMatchObject({ writable: false, primaryKey: null });
    expect(model.warnings.map((warning) => `${warning.code}:${warning.table?.name ?? ''}:${warning.column ?? ''}`)).toEqual(expect.arrayContaining(['NO_PRIMARY_KEY:logs:', 'UNSUPPORTED_TYPE:customers:location']));
    expect(model.enums.map((entry) => entry.name)).toEqual(['customer_tags', 'customer_tier']);
  });

  it('reads every type in its canonical form, exactly', async () => {
    const [row] = await connector.loadByKeys(customers(), ['id'], [[1]]);
    expect(row).toEqual({
      id: 1, email: 'ada@example.com', name: 'Ada 🦄 Lovelace', tier: "it's", tags: ['a', 'c'], balance: '1234567890.55',
      big: '18446744073709551615', created_at: '2024-05-01T10:00:00.123456Z', seen_at: '2024-05-01T10:00:00.500Z',
      birth: '1815-12-10', opens: '09:30:00', founded: 1999, active: true, flags: '129', flag: true,
      avatar: Buffer.from([0, 255, 16]).toString('base64'), profile: { vip: true, n: 1 }, location: 'POINT(1 2)', ratio: 0.1,
    });
  });

  it('loads many keys (composite too) in one statement, aligned with the request', async () => {
    const before = connector.statementCount();
    const rows = await connector.loadByKeys({ schema: db.name, name: 'order_lines' }, ['order_id', 'line_no'], [[2, 1], [9, 9], [1, 2]]);
    expect(connector.statementCount() - before).toBe(1);
    expect(rows.map((row) => row?.['sku'] ?? null)).toEqual(['A', null, 'B']);
  });

  it('lists with every filter operator, ilike emulation, ordering, keyset pages and counts', async () => {
    const names = async (where: Parameters<Connector['list']>[0]['where']) =>
      (await connector.list({ table: customers(), where, first: 10, orderBy: [{ column: 'id', direction: 'asc' }] })).rows.map((row) => row['name']);
    expect(await names({ column: 'name', op: 'ilike', value: 'ADA%' })).toEqual(['Ada 🦄 Lovelace']);
    expect(await names({ column: 'name', op: 'like', value: 'ADA%' })).toEqual([]);
    expect(await names({ column: 'name', op: 'like', value: '%🦄%' })).toEqual(['Ada 🦄 Lovelace']);
    expect(await names({ column: 'balance', op: 'gt', value: '100' })).toEqual(['Ada 🦄 Lovelace', 'Cy']);
    expect(await names({ column: 'balance', op: 'lte', value: '5.00' })).toEqual(['bob']);
    expect(await names({ column: 'id', op: 'in', values: [3, 2, null] })).toEqual(['bob', 'Cy']);
    expect(await names({ column: 'tier', op: 'isNull', value: true })).toEqual(['bob', 'Cy']);
    expect(await names({ not: { column: 'id', op: 'eq', value: 1 } })).toEqual(['bob', 'Cy']);
    expect(await names({ or: [{ column: 'id', op: 'eq', value: 1 }, { and: [{ column: 'id', op: 'gte', value: 3 }, { column: 'id', op: 'lt', value: 4 }] }] })).toEqual(['Ada 🦄 Lovelace', 'Cy']);
    expect(await names({ column: 'created_at', op: 'lt', value: '2024-05-01T11:00:00+01:00' })).toEqual([]);
    expect(await names({ column: 'created_at', op: 'lt', value: '2024-05-01T11:00:00.123457+01:00' })).toEqual(['Ada 🦄 Lovelace']);
    expect(await names({ column: 'id', op: 'ne', value: 2 })).toEqual(['Ada 🦄 Lovelace', 'Cy']);

    // Keyset pagination over a nullable order column: nulls last ascending, as in PostgreSQL.
    const seen: unknown[] = [];
    let after: readonly Value[] | undefined;
    for (let page = 0; page < 5; page += 1) {
      const result = await connector.list({ table: { schema: db.name, name: 'order_lines' }, orderBy: [{ column: 'sku', direction: 'asc' }], first: 1, after, includeTotalCount: true });
      expect(result.totalCount).toBe(4);
      expect(result.orderColumns.map((term) => term.column)).toEqual(['sku', 'order_id', 'line_no']);
      for (const row of result.rows) seen.push(`${String(row['sku'])}/${String(row['order_id'])}.${String(row['line_no'])}`);
      const last = result.rows.at(-1);
      if (!result.hasNextPage || last === undefined) break;
      after = result.orderColumns.map((term) => last[term.column] ?? null);
    }
    expect(seen).toEqual(['A/1.1', 'A/2.1', 'B/1.2', 'null/3.1']);
    expect(await connector.count({ schema: db.name, name: 'order_lines' }, { column: 'qty', op: 'gte', value: 2 })).toBe(2);
  });

  it('lists children of many parents in one statement', async () => {
    const before = connector.statementCount();
    const groups = await connector.listGrouped({ table: { schema: db.name, name: 'order_lines' }, columns: ['customer_id'], groups: [[3], [1], [42]], first: 1, orderBy: [{ column: 'line_no', direction: 'desc' }] });
    expect(connector.statementCount() - before).toBe(1);
    expect(groups.map((rows) => rows.map((row) => `${String(row['order_id'])}.${String(row['line_no'])}`))).toEqual([['3.1'], ['1.2'], []]);
  });

  it('writes in one transaction, returns re-read rows, upserts, and detects stale versions', async () => {
    const [inserted, upserted] = await connector.write([
      { op: 'insert', table: customers(), values: { email: 'dee@example.com', name: 'Dee 𝄞', balance: '0.10', big: '9007199254740993', created_at: '2024-01-02T03:04:05.000006Z', avatar: 'AAE=', profile: [1, 'x'], tags: ['b'] } },
      { op: 'upsert', table: customers(), values: { id: 2, email: 'bob@example.com', name: 'Bob', balance: '6.50' } },
    ]);
    expect(inserted?.row).toMatchObject({ id: 4, name: 'Dee 𝄞', balance: '0.10', big: '9007199254740993', created_at: '2024-01-02T03:04:05.000006Z', avatar: 'AAE=', profile: [1, 'x'], tags: ['b'], active: true });
    expect(upserted?.row).toMatchObject({ id: 2, name: 'Bob', balance: '6.50' });
    const [updated] = await connector.write([{ op: 'update', table: customers(), key: { id: 2 }, values: { name: 'Robert' }, expected: { name: 'Bob' } }]);
    expect(updated?.row['name']).toBe('Robert');
    await expect(connector.write([{ op: 'update', table: customers(), key: { id: 2 }, values: { name: 'Lost update' }, expected: { name: 'Bob' } }])).rejects.toSatisfy((error) => isEntenteError(error, 'DB_CONFLICT'));
    await expect(connector.write([{ op: 'delete', table: customers(), key: { id: 999 } }])).rejects.toSatisfy((error) => isEntenteError(error, 'DB_NOT_FOUND'));
    // A failing operation rolls back the whole call.
    await expect(
      connector.write([
        { op: 'update', table: customers(), key: { id: 3 }, values: { name: 'Cyrus' } },
        { op: 'insert', table: customers(), values: { email: 'ada@example.com', name: 'duplicate' } },
      ]),
    ).rejects.toSatisfy((error) => isEntenteError(error, 'DB_CONFLICT'));
    const [cy] = await connector.loadByKeys(customers(), ['id'], [[3]]);
    expect(cy?.['name']).toBe('Cy');
    await expect(connector.write([{ op: 'insert', table: { schema: db.name, name: 'big_customers' }, values: { name: 'x' } }])).rejects.toSatisfy((error) => isEntenteError(error, 'DB_UNSUPPORTED'));
    const [removed] = await connector.write([{ op: 'delete', table: customers(), key: { id: 4 }, expected: { name: 'Dee 𝄞' } }]);
    expect(removed?.row['email']).toBe('dee@example.com');
  });

  it('rejects values strict mode forbids, naming the sql_mode', async () => {
    const error = await connector.write([{ op: 'insert', table: { schema: db.name, name: 'order_lines' }, values: { order_id: 7, line_no: 1, customer_id: 1, sku: 'x'.repeat(50) } }]).catch((caught: unknown) => caught);
    expect(isEntenteError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/sql_mode/);
  });

  it('names the fix for an unreachable host, bad credentials and a missing database', async () => {
    const unreachable = await openMysqlConnector(`mysql://root@127.0.0.1:1/${db.name}`).catch((error: unknown) => error);
    expect(isEntenteError(unreachable, 'DB_UNREACHABLE')).toBe(true);
    expect((unreachable as Error).message).toMatch(/host and port/);
    const badPassword = await openMysqlConnector(`mysql://entente_nobody:wrong@${db.settings.host}:${db.settings.port}/${db.name}`).catch((error: unknown) => error);
    expect(isEntenteError(badPassword, 'DB_AUTH_FAILED')).toBe(true);
    const missing = await openMysqlConnector(`mysql://${db.settings.user}${db.settings.password === '' ? '' : ':' + db.settings.password}@${db.settings.host}:${db.settings.port}/${db.name}_missing`).catch((error: unknown) => error);
    expect(isEntenteError(missing, 'DB_NOT_FOUND')).toBe(true);
    const binlog = await openMysqlConnector(db.url, { captureMethod: 'binlog' }).catch((error: unknown) => error);
    expect(isEntenteError(binlog, 'DB_UNSUPPORTED')).toBe(true);
    const logBin = await withMariadbAdmin(db.settings, async (connection) => ((await connection.query("SHOW VARIABLES LIKE 'log_bin'"))[0] as { Value: string }[])[0]?.Value);
    expect((binlog as Error).message).toMatch(logBin === 'ON' ? /not available/ : /log_bin=ON/);
  });
});
