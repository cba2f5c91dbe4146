// The replica migration suite, run on PGlite and PostgreSQL: the plan's promises hold on a real database.
// An additive version (a new shared column, a newly shared type) migrates with ensureTables alone and
// loses nothing: every row and value is still there, the new column is null until backfilled, and new
// changes carry it. A column that becomes nullable is the plan's 'relax-not-null' step, which ensureTables
// does not perform: a null value is refused until the migration runs.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connector, ReplicaChange, Row } from '../../../connectors/connector.ts';
import { planReplicaMigration } from '../../../schema/evolution/replica-migration.ts';
import { compose, demoFiles, edit, quantityLine } from './fixtures.ts';

const partner = 'globex';
const invoiceType = 'type Invoice @key(fields: "id") @table(name: "invoices", schema: "public") @grant(partners: ["globex"]) {\n  id: BigInt! @column(name: "id")\n  total: Decimal! @column(name: "total")\n}\n\nenum OrderStatus';

function order(id: string, quantity: number | null, extra: Row = {}): ReplicaChange {
  const after: Row = { id, supplier_id: partner, sku: 'BOLT-1', quantity, status: 'placed', placed_at: '2026-11-27T08:00:00.000000Z', ...extra };
  return { table: 'acme__purchase_orders', op: 'insert', key: { id }, after };
}

async function rows(connector: Connector, table: string): Promise<readonly Row[]> {
  return (await connector.list({ table: connector.replica.tableRef(table), first: 100, orderBy: [{ column: 'id', direction: 'asc' }] })).rows;
}

export function runReplicaMigrationSuite(open: () => Promise<Connector>): void {
  let connector: Connector;
  beforeAll(async () => {
    connector = await open();
  });
  afterAll(async () => {
    await connector.close();
  });

  it('migrates an additive version with ensureTables, keeping every row and value', async () => {
    const base = await demoFiles();
    const v1 = compose(base);
    const v2 = compose(edit(edit(base, 'acme', quantityLine, `${quantityLine}  note: String @column(name: "note")\n`), 'acme', 'enum OrderStatus', invoiceType));
    await connector.replica.ensureTables(planReplicaMigration(compose([]), v1, partner).ensureTables);
    await connector.replica.apply(1, [order('1', 5), order('2', 7)]);
    const before = await rows(connector, 'acme__purchase_orders');
    expect(before).toHaveLength(2);

    const plan = planReplicaMigration(v1, v2, partner);
    expect(plan.steps.map((step) => `${step.kind} ${step.table} ${step.columns.join(',')}`)).toEqual([
      'create-table acme__invoices ',
      'add-columns acme__purchase_orders note',
      'backfill acme__invoices ',
      'backfill acme__purchase_orders note',
    ]);
    expect(plan.additiveOnly).toBe(true);
    await connector.replica.ensureTables(plan.ensureTables);
    await connector.replica.ensureTables(plan.ensureTables); // a restart runs it again: still nothing lost

    expect(await rows(connector, 'acme__purchase_orders')).toEqual(before.map((row) => ({ ...row, note: null })));
    await connector.replica.apply(2, [order('2', 7, { note: 'rush' }), { table: 'acme__invoices', op: 'insert', key: { id: '10' }, after: { id: '10', total: '99.50' } }]);
    expect((await rows(connector, 'acme__purchase_orders')).map((row) => [row['id'], row['quantity'], row['note']])).toEqual([['1', 5, null], ['2', 7, 'rush']]);
    expect(await rows(connector, 'acme__invoices')).toEqual([{ id: '10', total: '99.50' }]);
  });

  it('plans relax-not-null for a column that becomes nullable, which ensureTables alone does not do', async () => {
    const base = await demoFiles();
    const v1 = compose(base);
    const v2 = compose(edit(base, 'acme', quantityLine, '  quantity: Int @column(name: "quantity", type: "integer")\n'));
    const plan = planReplicaMigration(v1, v2, partner);
    expect(plan.steps.map((step) => `${step.kind} ${step.table} ${step.columns.join(',')}`)).toEqual(['relax-not-null acme__purchase_orders quantity']);
    expect(plan.additiveOnly).toBe(false);
    await connector.replica.ensureTables(plan.ensureTables);
    await expect(connector.replica.apply(3, [order('3', null)])).rejects.toThrow();
    expect((await rows(connector, 'acme__purchase_orders')).map((row) => row['id'])).toEqual(['1', '2']);
  });
}
