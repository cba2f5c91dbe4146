// Goal: the replica migration plan names every step a partner's replica needs between two versions —
// additive ones (ensureTables + backfill) apart from the documented migrations (drop, delete rows,
// rebuild) — for the partner concerned only.
// Method: plans over edits of the demo network's files (acme owns Product and PurchaseOrder; globex and
// initech replicate them; initech sees only its own purchase orders).
import { describe, expect, it } from 'vitest';
import { planReplicaMigration } from '../../../schema/evolution/replica-migration.ts';
import { compose, demoFiles, edit, supplierRowGrant } from './fixtures.ts';

const base = await demoFiles();
const v1 = compose(base);

function steps(next: ReturnType<typeof compose>, partner: string): string[] {
  return planReplicaMigration(v1, next, partner).steps.map((step) => `${step.kind} ${step.table} ${step.columns.join(',')}`.trim());
}

describe('replica migration plan', () => {
  it('has nothing to do between a version and itself', () => {
    expect(planReplicaMigration(v1, compose(base), 'globex')).toMatchObject({ steps: [], additiveOnly: true });
  });

  it('drops the replica of a type a partner may no longer read, and only that partner\'s', () => {
    const next = compose(edit(base, 'acme', '@grant(partners: ["*"], operations: [READ])', '@grant(partners: ["globex"], operations: [READ])'));
    expect(steps(next, 'initech')).toEqual(['drop-table acme__products']);
    expect(steps(next, 'globex')).toEqual([]);
    expect(planReplicaMigration(v1, next, 'initech').steps[0]!.reason).toBe('initech may no longer replicate Product.');
  });

  it('deletes rows when row rules narrow, and backfills when they widen', () => {
    const narrowed = compose(edit(base, 'acme', supplierRowGrant, '@grant(partners: ["globex", "initech"], operations: [READ, UPDATE], rows: [{ field: "supplierId", eq: "$partner" }, { field: "status", in: ["PLACED"] }])'));
    expect(steps(narrowed, 'globex')).toEqual(['delete-rows acme__purchase_orders']);
    const widened = compose(edit(base, 'acme', supplierRowGrant, '@grant(partners: ["globex", "initech"], operations: [READ, UPDATE])'));
    expect(steps(widened, 'globex')).toEqual(['backfill acme__purchase_orders']);
    expect(planReplicaMigration(v1, widened, 'globex').steps[0]!.reason).toBe('globex may now hold all rows of PurchaseOrder (was: rows where supplierId = $partner); those rows were never sent to it.');
  });

  it('drops a column a partner may no longer read, and adds one it now may', () => {
    const hidden = compose(edit(base, 'acme', '@readableBy(partners: ["globex"])', '@readableBy(partners: [])'));
    expect(steps(hidden, 'globex')).toEqual(['drop-columns acme__products unit_price']);
    const shown = compose(edit(base, 'acme', '@readableBy(partners: ["globex"])', '@readableBy(partners: ["globex", "initech"])'));
    expect(steps(shown, 'initech')).toEqual(['add-columns acme__products unit_price', 'backfill acme__products unit_price']);
    expect(planReplicaMigration(v1, shown, 'initech').additiveOnly).toBe(true);
  });

  it('rebuilds the table when the key or a value type changes', () => {
    const rekeyed = compose(edit(base, 'acme', 'type PurchaseOrder\n  @key(fields: "id")', 'type PurchaseOrder\n  @key(fields: "supplierId id")'));
    expect(steps(rekeyed, 'globex')).toEqual(['rebuild-table acme__purchase_orders']);
    const retyped = compose(edit(base, 'acme', '  quantity: Int! @column(name: "quantity", type: "integer")\n', '  quantity: Decimal! @column(name: "quantity", type: "numeric")\n'));
    expect(steps(retyped, 'initech')).toEqual(['rebuild-table acme__purchase_orders quantity']);
    expect(planReplicaMigration(v1, retyped, 'initech').additiveOnly).toBe(false);
  });

  it('keeps enum columns as they are when enum values change (they are stored as text)', () => {
    const next = compose(edit(base, 'acme', '  SHIPPED @enumValue(name: "shipped")\n', '  SHIPPED @enumValue(name: "shipped")\n  LOST @enumValue(name: "lost")\n'));
    expect(steps(next, 'globex')).toEqual([]);
  });
});
