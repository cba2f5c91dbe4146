// The connector contract suite: one set of behaviours every connector must show, run against each
// database family by a one-file target (contract.<family>.test.ts) that only knows how to create a fresh
// database holding the fixture (./fixture.ts) and open a connector on it. Goal: the layers above can
// rely on identical canonical values, filter semantics, ordering, paging, write atomicity, capture
// order and replica idempotence whatever the database. Method: seed the fixture outside the connector,
// then exercise each contract method against real databases and compare with the seed rows.
//
// Usage in a target file:
//   describeWithPostgres('connector contract: postgres', (db) => runContractSuite({ label: 'postgres', features, open: … }));
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CapturedTransaction,
  Connector,
  DatabaseModel,
  Filter,
  ReplicaChange,
  ReplicaTableDefinition,
  Row,
  TableModel,
  TableRef,
  Value,
} from '../../connectors/connector.ts';
import { isEntenteError } from '../../common/errors.ts';
import {
  fixtureCustomerTiers,
  seedCustomers,
  seedOrder,
  seedOrderLines,
  seedOrders,
  seedRows,
  toMillisecondPrecision,
  type FixtureFeature,
  type FixtureTableName,
} from './fixture.ts';

export interface ContractTarget {
  /** Shown in test names: 'postgres', 'pglite', 'mariadb', 'mongodb'. */
  readonly label: string;
  /** Fixture features this family has (see ./fixture.ts); the suite skips the assertions of the others. */
  readonly features: ReadonlySet<FixtureFeature>;
  /** A fresh database holding the fixture tables, empty, and a connector open on it. Called once (beforeAll). */
  open(): Promise<ContractDatabase>;
}

export interface ContractDatabase {
  readonly connector: Connector;
  /** Where the fixture lives: a PostgreSQL schema, a MySQL database, a MongoDB database. */
  readonly namespace: string;
  /**
   * Inserts rows (canonical values, see `Value`) outside the connector with the plain driver: seeds the
   * fixture and plays "another application" in the capture tests. One transaction per call.
   */
  insertOutside(table: FixtureTableName, rows: readonly Row[]): Promise<void>;
  /** Opens another connector on the same database (the gateway restarting). The suite closes it. */
  openAnother(): Promise<Connector>;
  /** Closes the connector and whatever `open` created (the harness drops the database). */
  close(): Promise<void>;
}

export function runContractSuite(target: ContractTarget): void {
  const has = (feature: FixtureFeature): boolean => target.features.has(feature);
  let database: ContractDatabase | undefined;
  const db = (): ContractDatabase => {
    if (database === undefined) throw new Error('the contract database is opened in beforeAll');
    return database;
  };
  const connector = (): Connector => db().connector;
  const table = (name: string): TableRef => ({ schema: db().namespace, name });
  const expectedCustomer = (row: Row): Row => {
    const seen = has('arrays') ? row : omit(row, ['tags']);
    const createdAt = seen['created_at'];
    if (has('microsecondDateTimes') || typeof createdAt !== 'string') return seen;
    return { ...seen, created_at: toMillisecondPrecision(createdAt) };
  };
  const seedCustomersSeen = (): readonly Row[] => seedCustomers.map(expectedCustomer);

  beforeAll(async () => {
    database = await target.open();
    for (const name of seedOrder) {
      const rows = name === 'customers' ? seedCustomersSeen() : seedRows[name];
      await database.insertOutside(name, rows);
    }
  });
  afterAll(async () => {
    await database?.close();
  });

  describe(`introspect (${target.label})`, () => {
    let model: DatabaseModel;
    const tableModel = (name: string): TableModel => {
      const found = model.tables.find((candidate) => candidate.schema === db().namespace && candidate.name === name);
      if (found === undefined) throw new Error(`introspection has no table ${name}`);
      return found;
    };
    beforeAll(async () => {
      model = await connector().introspect({ schemas: [db().namespace] });
    });

    it('returns plain, versioned data, sorted by schema then name in code-unit order, the same every time', async () => {
      expect(model.introspectionVersion).toBe(1);
      expect(model.family).toBe(connector().family);
      const keys = model.tables.map((entry) => `${entry.schema}\u0000${entry.name}`);
      expect(keys).toEqual([...keys].sort(codeUnitCompare));
      expect(JSON.parse(JSON.stringify(model))).toEqual(model);
      expect(await connector().introspect({ schemas: [db().namespace] })).toEqual(model);
    });

    it('lists the fixture tables and nothing of Entente or the system', () => {
      const names = model.tables.filter((entry) => entry.schema === db().namespace).map((entry) => entry.name);
      for (const name of ['customers', 'orders', 'order_lines', 'events', 'audit_log']) expect(names).toContain(name);
      if (has('views')) expect(names).toContain('customer_order_totals');
      if (has('partitionedTables')) {
        expect(names).not.toContain('events_2024');
        expect(names).not.toContain('events_2025');
      }
      expect(model.tables.every((entry) => !entry.schema.startsWith('entente') && entry.schema !== 'pg_catalog')).toBe(true);
    });

    it('maps every fixture column to its canonical type with nullability, ordinals and defaults', () => {
      const customers = tableModel('customers');
      const byName = new Map(customers.columns.map((column) => [column.name, column]));
      const scalar = (name: string): string | undefined => {
        const type = byName.get(name)?.type;
        return type?.kind === 'scalar' ? type.scalar : type?.kind;
      };
      expect(customers.columns.map((column) => column.ordinal)).toEqual([...customers.columns.map((column) => column.ordinal)].sort((a, b) => a - b));
      expect(scalar('id')).toBe('Int');
      expect(scalar('name')).toBe('String');
      expect(scalar('email')).toBe('String');
      expect(scalar('profile')).toBe('JSON');
      expect(scalar('balance')).toBe('Decimal');
      expect(scalar('score')).toBe('Float');
      expect(scalar('external_id')).toBe(target.label === 'mongodb' ? 'String' : 'UUID');
      expect(scalar('created_at')).toBe('DateTime');
      expect(scalar('avatar')).toBe('Bytes');
      expect(byName.get('name')?.nullable).toBe(false);
      expect(byName.get('email')?.nullable).toBe(true);
      if (has('enums')) {
        expect(byName.get('tier')?.type).toMatchObject({ kind: 'enum', values: [...fixtureCustomerTiers] });
        expect(byName.get('tier')?.defaultExpression ?? '').toContain('bronze');
      }
      if (has('arrays')) expect(byName.get('tags')?.type).toEqual({ kind: 'list', of: { kind: 'scalar', scalar: 'String' } });
      const events = tableModel('events');
      expect(events.columns.find((column) => column.name === 'id')?.type).toEqual({ kind: 'scalar', scalar: 'BigInt' });
    });

    it('reports primary keys (composite too), unique constraints and foreign keys', () => {
      expect(tableModel('customers').primaryKey).toEqual(['id']);
      expect(tableModel('orders').primaryKey).toEqual(['region', 'order_no']);
      expect(tableModel('order_lines').primaryKey).toEqual(['region', 'order_no', 'line_no']);
      expect(tableModel('customers').uniqueConstraints.map((unique) => unique.columns)).toContainEqual(['email']);
      if (has('foreignKeys')) {
        expect(tableModel('orders').foreignKeys).toContainEqual(
          expect.objectContaining({ columns: ['customer_id'], references: table('customers'), referencedColumns: ['id'] }),
        );
        expect(tableModel('order_lines').foreignKeys).toContainEqual(
          expect.objectContaining({ columns: ['region', 'order_no'], references: table('orders'), referencedColumns: ['region', 'order_no'] }),
        );
      }
      expect(tableModel('customers').writable).toBe(true);
    });

    it('shows views and tables without a primary key as read-only, with a warning for the latter', () => {
      if (has('tableWithoutPrimaryKey')) {
        const audit = tableModel('audit_log');
        expect(audit.primaryKey).toBeNull();
        expect(audit.writable).toBe(false);
        expect(model.warnings).toContainEqual(expect.objectContaining({ code: 'NO_PRIMARY_KEY', table: table('audit_log') }));
      }
      if (has('views')) {
        const view = tableModel('customer_order_totals');
        expect(view.kind).toBe('view');
        expect(view.writable).toBe(false);
      }
      if (has('partitionedTables')) {
        expect(tableModel('events').kind).toBe('partitioned-table');
        expect(tableModel('events').primaryKey).toEqual(['id', 'occurred_at']);
      }
    });

    it('lists enums with their labels in declaration order', () => {
      if (!has('enums')) return;
      expect(model.enums).toContainEqual(expect.objectContaining({ name: 'customer_tier', values: [...fixtureCustomerTiers] }));
    });
  });

  describe(`loadByKeys (${target.label})`, () => {
    it('returns every seeded row in canonical form, exactly', async () => {
      const rows = await connector().loadByKeys(table('customers'), ['id'], seedCustomers.map((row) => [row['id'] ?? null]));
      expect(rows).toEqual(seedCustomersSeen());
      const events = await connector().loadByKeys(table('events'), ['id', 'occurred_at'], seedRows.events.map((row) => [row['id'] ?? null, row['occurred_at'] ?? null]));
      expect(events).toEqual(seedRows.events);
    });

    it('aligns results with the keys (missing → null, duplicates repeated) in one statement', async () => {
      await connector().loadByKeys(table('orders'), ['region', 'order_no'], [['eu', 1]]);
      const before = connector().statementCount();
      const rows = await connector().loadByKeys(table('orders'), ['region', 'order_no'], [['us', 1], ['eu', 9], ['eu', 2], ['us', 1]]);
      expect(connector().statementCount() - before).toBe(1);
      expect(rows).toEqual([seedOrders[2], null, seedOrders[1], seedOrders[2]]);
    });

    it('returns an empty array for no keys without asking the database', async () => {
      const before = connector().statementCount();
      expect(await connector().loadByKeys(table('customers'), ['id'], [])).toEqual([]);
      expect(connector().statementCount()).toBe(before);
    });
  });

  describe(`list (${target.label})`, () => {
    const ids = async (where: Filter): Promise<readonly Value[]> => {
      const page = await connector().list({ table: table('customers'), where, first: 100, orderBy: [{ column: 'id', direction: 'asc' }] });
      return page.rows.map((row) => row['id'] ?? null);
    };

    it('supports every comparison operator, with SQL-style null semantics (comparisons never match null)', async () => {
      expect(await ids({ column: 'tier', op: 'eq', value: 'silver' })).toEqual([2, 4]);
      expect(await ids({ column: 'email', op: 'ne', value: 'ada@example.com' })).toEqual([2, 4]);
      expect(await ids({ column: 'balance', op: 'lt', value: '0' })).toEqual([2]);
      expect(await ids({ column: 'balance', op: 'lte', value: '0.00' })).toEqual([2, 3]);
      expect(await ids({ column: 'balance', op: 'gt', value: '1250.50' })).toEqual([4]);
      expect(await ids({ column: 'balance', op: 'gte', value: '1250.5' })).toEqual([1, 4]);
      expect(await ids({ column: 'created_at', op: 'gte', value: '2024-06-15T23:59:59.000000Z' })).toEqual([2, 4]);
      expect(await ids({ column: 'id', op: 'in', values: [4, 1, 99] })).toEqual([1, 4]);
      expect(await ids({ column: 'id', op: 'in', values: [] })).toEqual([]);
      expect(await ids({ column: 'name', op: 'like', value: '%Hop%' })).toEqual([2]);
      if (has('ilike')) expect(await ids({ column: 'name', op: 'ilike', value: 'E%' })).toEqual([4]);
      expect(await ids({ column: 'email', op: 'isNull', value: true })).toEqual([3]);
      expect(await ids({ column: 'email', op: 'isNull', value: false })).toEqual([1, 2, 4]);
      expect(await ids({ column: 'external_id', op: 'eq', value: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' })).toEqual([4]);
    });

    it('combines filters with and / or / not, where not(x) holds whenever x does not (nulls included)', async () => {
      expect(await ids({ and: [{ column: 'tier', op: 'eq', value: 'silver' }, { column: 'balance', op: 'gt', value: '0' }] })).toEqual([4]);
      expect(await ids({ or: [{ column: 'id', op: 'eq', value: 1 }, { column: 'email', op: 'isNull', value: true }] })).toEqual([1, 3]);
      expect(await ids({ not: { column: 'email', op: 'like', value: '%example.com' } })).toEqual([3]);
      expect(await ids({ and: [] })).toEqual([1, 2, 3, 4]);
      expect(await ids({ or: [] })).toEqual([]);
    });

    it('orders by any column with the key as tie-breaker; nulls sort last ascending, first descending', async () => {
      const byBalance = await connector().list({ table: table('customers'), first: 10, orderBy: [{ column: 'balance', direction: 'desc' }] });
      expect(byBalance.rows.map((row) => row['id'])).toEqual([4, 1, 3, 2]);
      expect(byBalance.orderColumns).toEqual([{ column: 'balance', direction: 'desc' }, { column: 'id', direction: 'asc' }]);
      const byEmail = await connector().list({ table: table('customers'), first: 10, orderBy: [{ column: 'email', direction: 'asc' }] });
      expect(byEmail.rows.map((row) => row['id'])).toEqual([4, 1, 2, 3]);
      const byEmailDesc = await connector().list({ table: table('customers'), first: 10, orderBy: [{ column: 'email', direction: 'desc' }] });
      expect(byEmailDesc.rows.map((row) => row['id'])).toEqual([3, 2, 1, 4]);
    });

    it('pages with keyset cursors over nullable and composite orders, with totals', async () => {
      for (const orderBy of [
        [{ column: 'email', direction: 'asc' }],
        [{ column: 'email', direction: 'desc' }],
        [{ column: 'score', direction: 'asc' }],
        [{ column: 'tier', direction: 'desc' }, { column: 'created_at', direction: 'asc' }],
      ] as const) {
        const whole = await connector().list({ table: table('customers'), first: 100, orderBy });
        const seen: Value[] = [];
        let after: readonly Value[] | undefined;
        for (let pageIndex = 0; pageIndex < 10; pageIndex += 1) {
          const page = await connector().list({ table: table('customers'), first: 1, orderBy, ...(after === undefined ? {} : { after }), includeTotalCount: true });
          expect(page.totalCount).toBe(4);
          const last = page.rows.at(-1);
          if (last !== undefined) seen.push(last['id'] ?? null);
          if (!page.hasNextPage || last === undefined) break;
          after = page.orderColumns.map((term) => last[term.column] ?? null);
        }
        expect(seen).toEqual(whole.rows.map((row) => row['id']));
        expect(whole.hasNextPage).toBe(false);
      }
    });

    it('pages over a composite primary key and counts with a filter', async () => {
      const first = await connector().list({ table: table('orders'), first: 2, includeTotalCount: true, where: { column: 'region', op: 'eq', value: 'eu' } });
      expect(first.rows.map((row) => [row['region'], row['order_no']])).toEqual([['eu', 1], ['eu', 2]]);
      expect(first.hasNextPage).toBe(true);
      expect(first.totalCount).toBe(3);
      const last = first.rows.at(-1) as Row;
      const second = await connector().list({ table: table('orders'), first: 2, where: { column: 'region', op: 'eq', value: 'eu' }, after: first.orderColumns.map((term) => last[term.column] ?? null) });
      expect(second.rows.map((row) => [row['region'], row['order_no']])).toEqual([['eu', 3]]);
      expect(second.hasNextPage).toBe(false);
      expect(await connector().count(table('orders'))).toBe(5);
      expect(await connector().count(table('orders'), { column: 'status', op: 'in', values: ['paid', 'open'] })).toBe(3);
    });

    it('returns only the asked columns plus key and order columns', async () => {
      const page = await connector().list({ table: table('orders'), first: 1, columns: ['total'], orderBy: [{ column: 'placed_at', direction: 'desc' }] });
      expect(Object.keys(page.rows[0] ?? {}).sort()).toEqual(['order_no', 'placed_at', 'region', 'total']);
    });

    it('reads views and tables without a primary key', async () => {
      if (has('views')) {
        const totals = await connector().list({ table: table('customer_order_totals'), first: 10, orderBy: [{ column: 'customer_id', direction: 'asc' }] });
        expect(totals.rows.map((row) => [row['customer_id'], row['total_amount']])).toEqual([[1, '120.25'], [2, '307.10'], [4, '0.99']]);
      }
      const audit = await connector().list({ table: table('audit_log'), first: 10, orderBy: [{ column: 'at', direction: 'asc' }] });
      expect(audit.rows).toEqual(seedRows.audit_log);
    });
  });

  describe(`listGrouped (${target.label})`, () => {
    it('returns the first rows of every group in one statement, aligned with the groups', async () => {
      const query = {
        table: table('order_lines'),
        columns: ['region', 'order_no'],
        groups: [['eu', 1], ['us', 1], ['xx', 9], ['eu', 3], ['eu', 1]],
        orderBy: [{ column: 'line_no', direction: 'desc' }],
        first: 1,
      } as const;
      await connector().listGrouped(query);
      const before = connector().statementCount();
      const groups = await connector().listGrouped(query);
      expect(connector().statementCount() - before).toBe(1);
      const lines = (region: string, orderNo: number): readonly Row[] => seedOrderLines.filter((row) => row['region'] === region && row['order_no'] === orderNo);
      expect(groups).toEqual([[lines('eu', 1)[1]], [lines('us', 1)[0]], [], [lines('eu', 3)[1]], [lines('eu', 1)[1]]]);
      const all = await connector().listGrouped({ ...query, first: 10, where: { column: 'quantity', op: 'lt', value: 5 } });
      expect(all.map((group) => group.map((row) => row['line_no']))).toEqual([[1], [1], [], [2, 1], [1]]);
    });
  });

  describe(`write (${target.label})`, () => {
    it('inserts, updates, upserts and deletes in one transaction and returns the rows', async () => {
      const results = await connector().write([
        { op: 'insert', table: table('customers'), values: { id: 10, name: 'Barbara Liskov', balance: '10.10', created_at: '2024-02-29T12:00:00.000000Z' } },
        { op: 'update', table: table('customers'), key: { id: 10 }, values: { email: 'bl@example.com', profile: ['a', 1] } },
        { op: 'upsert', table: table('customers'), values: { id: 11, name: 'Ken', balance: '1', created_at: '2024-02-29T12:00:00.000000Z' } },
        { op: 'upsert', table: table('customers'), values: { id: 11, name: 'Ken Thompson', balance: '2', created_at: '2024-02-29T12:00:00.000000Z' } },
        { op: 'delete', table: table('customers'), key: { id: 11 } },
      ]);
      expect(results.map((result) => result.row['name'])).toEqual(['Barbara Liskov', 'Barbara Liskov', 'Ken', 'Ken Thompson', 'Ken Thompson']);
      expect(results[0]?.row).toMatchObject({ tier: 'bronze', email: null, balance: '10.10' });
      expect(results[1]?.row).toMatchObject({ email: 'bl@example.com', profile: ['a', 1] });
      expect(await connector().loadByKeys(table('customers'), ['id'], [[10], [11]])).toEqual([results[1]?.row, null]);
    });

    it('rolls back every operation when one fails', async () => {
      await expect(
        connector().write([
          { op: 'insert', table: table('customers'), values: { id: 12, name: 'Rolled back', balance: '0', created_at: '2024-01-01T00:00:00.000000Z' } },
          { op: 'insert', table: table('customers'), values: { id: 1, name: 'Duplicate key', balance: '0', created_at: '2024-01-01T00:00:00.000000Z' } },
        ]),
      ).rejects.toThrow();
      expect(await connector().loadByKeys(table('customers'), ['id'], [[12]])).toEqual([null]);
    });

    it('applies optimistic concurrency: a stale expected version is a DB_CONFLICT and changes nothing', async () => {
      const key = { region: 'us', order_no: 1 };
      const error = await connector()
        .write([{ op: 'update', table: table('orders'), key, values: { note: 'stale', version: 2 }, expected: { version: 1 } }])
        .catch((caught: unknown) => caught);
      expect(isEntenteError(error, 'DB_CONFLICT')).toBe(true);
      const [fresh] = await connector().write([{ op: 'update', table: table('orders'), key, values: { note: 'fresh', version: 4 }, expected: { version: 3 } }]);
      expect(fresh?.row).toMatchObject({ note: 'fresh', version: 4 });
      const missing = await connector().write([{ op: 'update', table: table('orders'), key: { region: 'zz', order_no: 1 }, values: { note: 'x' } }]).catch((caught: unknown) => caught);
      expect(isEntenteError(missing, 'DB_NOT_FOUND')).toBe(true);
      const staleDelete = await connector().write([{ op: 'delete', table: table('orders'), key, expected: { version: 3 } }]).catch((caught: unknown) => caught);
      expect(isEntenteError(staleDelete, 'DB_CONFLICT')).toBe(true);
    });

    it('refuses writes to views and tables without a primary key with an error naming the fix', async () => {
      if (!has('tableWithoutPrimaryKey')) return;
      const error = await connector().write([{ op: 'insert', table: table('audit_log'), values: { at: '2024-01-01T00:00:00.000000Z', message: 'x' } }]).catch((caught: unknown) => caught);
      expect(isEntenteError(error, 'DB_UNSUPPORTED')).toBe(true);
      expect(String((error as Error).message)).toMatch(/primary key/i);
    });
  });

  describe(`capture (${target.label})`, () => {
    const captured = (): readonly TableRef[] => [table('customers'), table('orders')];
    const readAll = async (target: Connector, after: string | null): Promise<readonly CapturedTransaction[]> => target.capture.read(after, { transactionsMax: 1000, changesMax: 10_000 });

    it('installs idempotently, only on the given tables', async () => {
      await connector().capture.install(captured());
      await connector().capture.install(captured());
      expect([...(await connector().capture.installedTables())].sort(compareRefs)).toEqual([...captured()].sort(compareRefs));
      expect(await readAll(connector(), null)).toEqual([]);
    });

    it('reads committed transactions in commit order with origin, images and keys; acknowledges and prunes', async () => {
      await connector().write(
        [
          { op: 'insert', table: table('customers'), values: { id: 20, name: 'Captured', balance: '1.00', created_at: '2024-01-01T00:00:00.000000Z' } },
          { op: 'update', table: table('orders'), key: { region: 'eu', order_no: 2 }, values: { note: 'captured' } },
        ],
        { origin: 'mutation-1' },
      );
      await db().insertOutside('customers', [{ id: 21, name: 'Outside', tier: 'gold', balance: '2.00', created_at: '2024-01-01T00:00:00.000000Z' }]);
      await connector().write([{ op: 'delete', table: table('customers'), key: { id: 20 } }]);
      await connector().write([{ op: 'insert', table: table('order_lines'), values: { region: 'eu', order_no: 2, line_no: 9, sku: 'NOT-CAPTURED', quantity: 1, unit_price: '1.00' } }]);

      const transactions = await readAll(connector(), null);
      expect(transactions.map((tx) => tx.origin)).toEqual(['mutation-1', null, null]);
      expect(transactions.map((tx) => tx.changes.map((change) => `${change.table.name}:${change.op}`))).toEqual([
        ['customers:insert', 'orders:update'],
        ['customers:insert'],
        ['customers:delete'],
      ]);
      const [first, second, third] = transactions as [CapturedTransaction, CapturedTransaction, CapturedTransaction];
      expect(first.changes[0]).toMatchObject({ key: { id: 20 }, before: null, after: { id: 20, name: 'Captured', tier: 'bronze', balance: '1.00', created_at: '2024-01-01T00:00:00.000000Z' } });
      expect(first.changes[1]).toMatchObject({ key: { region: 'eu', order_no: 2 }, after: { note: 'captured', total: '20.25' } });
      expect(second.changes[0]?.after).toMatchObject({ id: 21, tier: 'gold' });
      expect(third.changes[0]).toMatchObject({ key: { id: 20 }, after: null, before: { id: 20, name: 'Captured' } });
      const positions = transactions.map((tx) => tx.position);
      expect([...positions].sort((a, b) => connector().capture.comparePositions(a, b))).toEqual(positions);
      expect(new Set(transactions.map((tx) => tx.sourceTransactionId)).size).toBe(3);

      expect(await connector().capture.read(first.position, { transactionsMax: 1, changesMax: 100 })).toEqual([second]);
      expect(await connector().capture.acknowledgedPosition()).toBeNull();
      await connector().capture.acknowledge(second.position);
      expect(await connector().capture.acknowledgedPosition()).toBe(second.position);
      expect(await readAll(connector(), null)).toEqual([third]);
      const restarted = await db().openAnother();
      try {
        expect(await restarted.capture.acknowledgedPosition()).toBe(second.position);
        expect(await readAll(restarted, second.position)).toEqual([third]);
      } finally {
        await restarted.close();
      }
      await connector().capture.acknowledge(third.position);
    });

    it('records the origin of a single-operation write, and only for that write', async () => {
      const start = await connector().capture.acknowledgedPosition();
      const customer = { name: 'Single', balance: '3.00', created_at: '2024-01-01T00:00:00.000000Z' };
      await connector().write([{ op: 'update', table: table('customers'), key: { id: 21 }, values: { name: 'Single' } }], { origin: 'mutation-2' });
      await connector().write([{ op: 'upsert', table: table('customers'), values: { id: 22, ...customer } }], { origin: 'mutation-3' });
      await connector().write([{ op: 'delete', table: table('customers'), key: { id: 22 } }], { origin: 'mutation-4' });
      // Without an origin, a write must not inherit the one before it (same connection, same session).
      await connector().write([{ op: 'insert', table: table('customers'), values: { id: 22, ...customer } }]);
      await connector().write([{ op: 'delete', table: table('customers'), key: { id: 22 } }]);

      const fresh = await readAll(connector(), start);
      expect(fresh.map((tx) => [tx.origin, tx.changes.map((change) => `${change.table.name}:${change.op}`)])).toEqual([
        ['mutation-2', ['customers:update']],
        ['mutation-3', ['customers:insert']],
        ['mutation-4', ['customers:delete']],
        [null, ['customers:insert']],
        [null, ['customers:delete']],
      ]);
      await connector().capture.acknowledge(fresh.at(-1)!.position);
    });

    it('returns from a wait at once when the last read stopped at its limits', async () => {
      const start = await connector().capture.acknowledgedPosition();
      for (const name of ['Limit 1', 'Limit 2', 'Limit 3']) await connector().write([{ op: 'update', table: table('customers'), key: { id: 21 }, values: { name } }]);
      const first = await connector().capture.read(start, { transactionsMax: 1, changesMax: 100 });
      expect(first.map((tx) => tx.changes[0]?.after?.['name'])).toEqual(['Limit 1']);
      // The other two are committed and waiting: a gateway waits after every read, not only an empty one.
      const started = performance.now();
      await connector().capture.waitForChanges(5_000);
      expect(performance.now() - started).toBeLessThan(1_000);
      const rest = await readAll(connector(), first[0]!.position);
      expect(rest.map((tx) => tx.changes[0]?.after?.['name'])).toEqual(['Limit 2', 'Limit 3']);
      await connector().capture.acknowledge(rest.at(-1)!.position);
    });

    it('wakes a waiting reader when a change commits', async () => {
      const started = Date.now();
      const waiting = connector().capture.waitForChanges(10_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await connector().write([{ op: 'update', table: table('customers'), key: { id: 21 }, values: { name: 'Woken' } }]);
      await waiting;
      expect(Date.now() - started).toBeLessThan(5_000);
      const last = await connector().capture.acknowledgedPosition();
      const fresh = await readAll(connector(), last);
      expect(fresh.map((tx) => tx.changes[0]?.after?.['name'])).toEqual(['Woken']);
    });

    it('uninstalls everything it installed', async () => {
      await connector().capture.uninstall();
      expect(await connector().capture.installedTables()).toEqual([]);
      await connector().write([{ op: 'update', table: table('customers'), key: { id: 21 }, values: { name: 'After uninstall' } }]);
      await connector().capture.uninstall();
      const error = await readAll(connector(), null).catch((caught: unknown) => caught);
      expect(isEntenteError(error, 'CAPTURE_NOT_INSTALLED')).toBe(true);
    });
  });

  describe(`replica (${target.label})`, () => {
    const items: ReplicaTableDefinition = {
      name: 'partner_items',
      primaryKey: ['partner', 'item_no'],
      columns: [
        { name: 'partner', type: { kind: 'scalar', scalar: 'String' }, nullable: false },
        { name: 'item_no', type: { kind: 'scalar', scalar: 'BigInt' }, nullable: false },
        { name: 'price', type: { kind: 'scalar', scalar: 'Decimal' }, nullable: false },
        { name: 'listed_at', type: { kind: 'scalar', scalar: 'DateTime' }, nullable: true },
        { name: 'attributes', type: { kind: 'scalar', scalar: 'JSON' }, nullable: true },
      ],
    };
    const itemKey = (itemNo: string): Row => ({ partner: 'acme', item_no: itemNo });
    const item = (itemNo: string, price: string): Row => ({ ...itemKey(itemNo), price, listed_at: '2024-05-01T10:00:00.000001Z', attributes: { colour: 'red' } });

    it('creates tables idempotently and applies each height exactly once, recording it in the same transaction', async () => {
      const replica = connector().replica;
      await replica.ensureTables([items]);
      await replica.ensureTables([items]);
      expect(await replica.appliedHeight()).toBe(0);
      expect(await replica.apply(1, [{ table: 'partner_items', op: 'insert', key: itemKey('1'), after: item('1', '9.99') }, { table: 'partner_items', op: 'insert', key: itemKey('2'), after: item('2', '5.00') }])).toBe('applied');
      expect(await replica.apply(1, [{ table: 'partner_items', op: 'delete', key: itemKey('1'), after: null }])).toBe('already-applied');
      expect(await replica.apply(2, [{ table: 'partner_items', op: 'update', key: itemKey('1'), after: item('1', '10.50') }, { table: 'partner_items', op: 'delete', key: itemKey('2'), after: null }])).toBe('applied');
      expect(await replica.appliedHeight()).toBe(2);
      const rows = await connector().loadByKeys(replica.tableRef('partner_items'), ['partner', 'item_no'], [['acme', '1'], ['acme', '2']]);
      expect(rows).toEqual([item('1', '10.50'), null]);
    });

    it('applies nothing, not even the height, when one change of a height fails', async () => {
      const replica = connector().replica;
      const bad = { table: 'partner_items', op: 'insert', key: itemKey('3'), after: { ...itemKey('3'), price: null } } as const;
      await expect(replica.apply(3, [{ table: 'partner_items', op: 'insert', key: itemKey('4'), after: item('4', '1.00') }, bad])).rejects.toThrow();
      expect(await replica.appliedHeight()).toBe(2);
      expect(await connector().loadByKeys(replica.tableRef('partner_items'), ['partner', 'item_no'], [['acme', '4']])).toEqual([null]);
    });

    it('evolves a table by adding columns without losing rows', async () => {
      const replica = connector().replica;
      await replica.ensureTables([{ ...items, columns: [...items.columns, { name: 'stock', type: { kind: 'scalar', scalar: 'Int' }, nullable: true }] }]);
      const [row] = await connector().loadByKeys(replica.tableRef('partner_items'), ['partner', 'item_no'], [['acme', '1']]);
      expect(row).toEqual({ ...item('1', '10.50'), stock: null });
      expect(await replica.apply(3, [{ table: 'partner_items', op: 'update', key: itemKey('1'), after: { ...item('1', '11.00'), stock: 4 } }])).toBe('applied');
    });

    it('applies several changes to one key within a height in their order', async () => {
      const replica = connector().replica;
      const upsert = (itemNo: string, price: string, extra: Row = {}): ReplicaChange => ({ table: 'partner_items', op: 'update', key: itemKey(itemNo), after: { ...item(itemNo, price), ...extra } });
      const remove = (itemNo: string): ReplicaChange => ({ table: 'partner_items', op: 'delete', key: itemKey(itemNo), after: null });
      const changes = [
        upsert('5', '1.00', { stock: 1 }), upsert('5', '2.00'), remove('5'), upsert('5', '3.00'), // stock dropped with the delete
        upsert('6', '1.00'), remove('6'),
        remove('1'), upsert('1', '12.00'), // stock 4 gone: deleted, then written without it
        upsert('7', '1.00', { stock: 7 }), upsert('7', '2.00'), // stock kept: the second image does not name it
      ];
      expect(await replica.apply(4, changes)).toBe('applied');
      const rows = await connector().loadByKeys(replica.tableRef('partner_items'), ['partner', 'item_no'], [['acme', '5'], ['acme', '6'], ['acme', '1'], ['acme', '7']]);
      expect(rows).toEqual([{ ...item('5', '3.00'), stock: null }, null, { ...item('1', '12.00'), stock: null }, { ...item('7', '2.00'), stock: 7 }]);
    });

    it('stores a text with a lone surrogate as the replacement character, without stopping at that height', async () => {
      const replica = connector().replica;
      const key = { partner: 'lone \ud800 surrogate', item_no: '8' };
      expect(await replica.apply(5, [{ table: 'partner_items', op: 'insert', key, after: { ...item('8', '1.00'), ...key } }])).toBe('applied');
      const [row] = await connector().loadByKeys(replica.tableRef('partner_items'), ['partner', 'item_no'], [['lone \ufffd surrogate', '8']]);
      expect(row?.['partner']).toBe('lone \ufffd surrogate');
    });
  });
}

function omit(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(Object.entries(row).filter(([name]) => !columns.includes(name)));
}

function codeUnitCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareRefs(a: TableRef, b: TableRef): number {
  return codeUnitCompare(`${a.schema}.${a.name}`, `${b.schema}.${b.name}`);
}
