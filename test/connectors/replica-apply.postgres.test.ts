// Replica apply on PostgreSQL: the usual height (upserts only) is one statement — the claim and the
// upserts in one round trip, atomic as a transaction — and every other height takes the transaction.
// Both must give the same rows and the same exactly-once answer. And `ensureTables`, which every gateway
// start runs, takes no lock on a replica table an application has open (a report in a transaction) when
// no column is missing; a column it must add waits for that application only briefly at a time, then
// fails naming the table, with nothing changed.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connector, ReplicaChange, ReplicaTableDefinition, Row } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithPostgres } from '../support/databases.ts';

describeWithPostgres('PostgreSQL replica: one statement for the usual height', (db) => {
  let connector: Connector;
  const parts: ReplicaTableDefinition = {
    name: 'bolt__parts',
    primaryKey: ['sku'],
    columns: [
      { name: 'sku', type: { kind: 'scalar', scalar: 'String' }, nullable: false },
      { name: 'stock', type: { kind: 'scalar', scalar: 'Int' }, nullable: true },
    ],
  };
  const orders: ReplicaTableDefinition = {
    name: 'acme__orders',
    primaryKey: ['id'],
    columns: [
      { name: 'id', type: { kind: 'scalar', scalar: 'BigInt' }, nullable: false },
      { name: 'total', type: { kind: 'scalar', scalar: 'Decimal' }, nullable: false },
    ],
  };
  const part = (sku: string, stock: number): Row => ({ sku, stock });
  const load = async (table: string, keys: string[], values: unknown[][]) => connector.loadByKeys(connector.replica.tableRef(table), keys, values as never);
  beforeAll(async () => {
    connector = await openConnector(db.url, { schemas: ['public'] });
    await connector.replica.ensureTables([parts, orders]);
  });
  afterAll(async () => {
    await connector?.close();
  });

  it('applies an upsert-only height over two tables in one statement, exactly once', async () => {
    // Height 1 also reads the tables' models (once per connector); later heights are one statement each.
    expect(await connector.replica.apply(1, [{ table: 'bolt__parts', op: 'insert', key: { sku: 'z' }, after: part('z', 0) }, { table: 'acme__orders', op: 'insert', key: { id: '1' }, after: { id: '1', total: '1.00' } }])).toBe('applied');
    let before = connector.statementCount();
    const height2: ReplicaChange[] = [
      { table: 'bolt__parts', op: 'insert', key: { sku: 'a' }, after: part('a', 1) },
      { table: 'bolt__parts', op: 'update', key: { sku: 'b' }, after: part('b', 2) },
      { table: 'acme__orders', op: 'insert', key: { id: '7' }, after: { id: '7', total: '12.50' } },
    ];
    expect(await connector.replica.apply(2, height2)).toBe('applied');
    expect(connector.statementCount() - before).toBe(1);
    before = connector.statementCount();
    expect(await connector.replica.apply(2, [{ table: 'bolt__parts', op: 'update', key: { sku: 'a' }, after: part('a', 99) }])).toBe('already-applied');
    expect(connector.statementCount() - before).toBe(1);
    expect(await load('bolt__parts', ['sku'], [['a'], ['b']])).toEqual([part('a', 1), part('b', 2)]);
    expect(await load('acme__orders', ['id'], [['7']])).toEqual([{ id: '7', total: '12.50' }]);
    expect(await connector.replica.appliedHeight()).toBe(2);
  });

  it('takes the transaction for a height with a delete, and applies nothing of a failing height', async () => {
    const before = connector.statementCount();
    expect(await connector.replica.apply(3, [
      { table: 'bolt__parts', op: 'delete', key: { sku: 'a' }, after: null },
      { table: 'bolt__parts', op: 'update', key: { sku: 'b' }, after: part('b', 3) },
    ])).toBe('applied');
    expect(connector.statementCount() - before).toBeGreaterThan(1);
    expect(await load('bolt__parts', ['sku'], [['a'], ['b']])).toEqual([null, part('b', 3)]);
    // Upserts only, so one statement: the second table's bad row undoes the first table's upsert and the claim.
    await expect(connector.replica.apply(4, [
      { table: 'bolt__parts', op: 'update', key: { sku: 'b' }, after: part('b', 4) },
      { table: 'acme__orders', op: 'insert', key: { id: '8' }, after: { id: '8', total: null } },
    ])).rejects.toThrow();
    expect(await connector.replica.appliedHeight()).toBe(3);
    expect(await load('bolt__parts', ['sku'], [['b']])).toEqual([part('b', 3)]);
  });

  it('ensures the tables again while an application reads them in an open transaction, adding a column only once it lets go', async () => {
    const application = new pg.Client({ connectionString: db.url });
    await application.connect();
    try {
      await application.query('begin');
      await application.query('select count(*) from entente_replica.bolt__parts');
      await connector.replica.ensureTables([parts, orders]);
      const withColour: ReplicaTableDefinition = { ...parts, columns: [...parts.columns, { name: 'colour', type: { kind: 'scalar', scalar: 'String' }, nullable: true }] };
      const failure = await connector.replica.ensureTables([withColour, orders], { lockWaitMs: 600 }).then(() => undefined, (error: unknown) => error);
      expect(failure).toMatchObject({ code: 'DB_CONFLICT' });
      expect((failure as Error).message).toContain('"entente_replica"."bolt__parts"');
      await application.query('commit');
      await connector.replica.ensureTables([withColour, orders]);
      expect(await load('bolt__parts', ['sku'], [['b']])).toEqual([{ ...part('b', 3), colour: null }]);
    } finally {
      await application.query('rollback').catch(() => undefined);
      await application.end();
    }
  });
});
