// Goal: `diffSchemas` classifies every kind of change the way schema/README.md ("Schema evolution")
// promises — graphql-inspector for structure, Entente's rules for ownership, keys, storage and sharing — and
// names the data owner and the affected partners each time (governance is built on those names).
// Method: the demo network's partner files, one exact text edit per test, composed and diffed.
import { describe, expect, it } from 'vitest';
import type { SchemaChange } from '../../../schema/evolution/change.ts';
import { diffSchemas } from '../../../schema/evolution/schema-diff.ts';
import { compose, demoFiles, edit, quantityLine, supplierRowGrant } from './fixtures.ts';

const base = await demoFiles();
const old = compose(base);

function diffAfter(partner: string, from: string, to: string, partners?: readonly string[]) {
  return diffSchemas(partners === undefined ? old : compose(base, partners), compose(edit(base, partner, from, to), partners));
}

function summary(changes: readonly SchemaChange[]): string[] {
  return changes.map((change) => `${change.level} ${change.kind} ${change.path} owners=${change.owners.join(',')} affected=${change.affected.join(',')}`);
}

describe('schema diff', () => {
  it('finds nothing between a version and itself', () => {
    const diff = diffSchemas(old, compose(base));
    expect(diff).toEqual({ changes: [], level: 'safe', counts: { safe: 0, dangerous: 0, breaking: 0 } });
  });

  it('calls a new field that is not shared safe', () => {
    const diff = diffAfter('acme', quantityLine, `${quantityLine}  note: String @column(name: "note") @readableBy(partners: [])\n`);
    expect(summary(diff.changes)).toEqual(['safe structure PurchaseOrder.note owners=acme affected=']);
    expect(diff.level).toBe('safe');
  });

  it('calls a new field every reader of the type sees a widening the owner must agree to', () => {
    const diff = diffAfter('acme', quantityLine, `${quantityLine}  note: String @column(name: "note")\n`);
    expect(summary(diff.changes)).toEqual([
      'safe structure PurchaseOrder.note owners=acme affected=globex,initech',
      'dangerous widening PurchaseOrder.note owners=acme affected=globex,initech',
    ]);
    expect(diff.changes[1]!.message).toBe('New field PurchaseOrder.note is shared with globex, initech (no @readableBy: every reader of the type sees it): the owner acme must agree.');
  });

  it('calls a removed field breaking for every partner that reads it', () => {
    const diff = diffAfter('acme', quantityLine, '');
    expect(summary(diff.changes)).toEqual(['breaking structure PurchaseOrder.quantity owners=acme affected=globex,initech']);
    expect(diff.changes[0]).toMatchObject({ source: 'graphql-inspector', inspectorType: 'FIELD_REMOVED', message: "Field 'quantity' was removed from object type 'PurchaseOrder'." });
  });

  it('calls a field that becomes nullable breaking for its readers (graphql-inspector)', () => {
    const diff = diffAfter('acme', quantityLine, '  quantity: Int @column(name: "quantity", type: "integer")\n');
    expect(summary(diff.changes)).toEqual(['breaking structure PurchaseOrder.quantity owners=acme affected=globex,initech']);
  });

  it('calls moving a type to another partner breaking, naming both owners', () => {
    const shipment = base.find((file) => file.partner === 'globex')!.source;
    const typeText = shipment.slice(shipment.indexOf('"A shipment'), shipment.indexOf('# Shipments of an order'));
    const moved = edit(edit(base, 'globex', typeText, ''), 'acme', 'enum OrderStatus', `${typeText.replace('@grant(partners: ["acme"], operations: [READ])', '@grant(partners: ["globex"], operations: [READ])')}\nenum OrderStatus`);
    const diff = diffSchemas(old, compose(moved));
    expect(summary(diff.changes.filter((change) => change.source === 'entente'))).toEqual(['breaking ownership Shipment owners=globex,acme affected=']);
    expect(diff.level).toBe('breaking');
  });

  it('calls a primary key change breaking for every replica holder', () => {
    const diff = diffAfter('acme', 'type PurchaseOrder\n  @key(fields: "id")', 'type PurchaseOrder\n  @key(fields: "supplierId id")');
    expect(summary(diff.changes)).toEqual(['breaking key PurchaseOrder owners=acme affected=globex,initech']);
  });

  it('calls a moved table or column a storage change: dangerous, the API unchanged', () => {
    const table = diffAfter('acme', '@table(name: "purchase_orders", schema: "public")', '@table(name: "orders", schema: "sales")');
    expect(summary(table.changes)).toEqual(['dangerous storage PurchaseOrder owners=acme affected=globex,initech']);
    const column = diffAfter('acme', quantityLine, '  quantity: Int! @column(name: "qty", type: "integer")\n');
    expect(summary(column.changes)).toEqual(['dangerous storage PurchaseOrder.quantity owners=acme affected=globex,initech']);
  });

  it('tells widening (rows shared with more partners) from narrowing (a partner losing access)', () => {
    const widened = diffAfter('acme', supplierRowGrant, '@grant(partners: ["globex", "initech"], operations: [READ, UPDATE])');
    expect(summary(widened.changes)).toEqual([
      'dangerous widening PurchaseOrder owners=acme affected=globex',
      'dangerous widening PurchaseOrder owners=acme affected=globex',
      'dangerous widening PurchaseOrder owners=acme affected=initech',
      'dangerous widening PurchaseOrder owners=acme affected=initech',
    ]);
    expect(widened.changes[0]!.message).toBe('globex may now read all rows of PurchaseOrder (was: rows where supplierId = $partner): more data shared, the owner acme must agree.');
    const narrowed = diffAfter('acme', '@grant(partners: ["*"], operations: [READ])', '@grant(partners: ["globex"], operations: [READ])');
    expect(summary(narrowed.changes)).toEqual(['dangerous narrowing Product owners=acme affected=initech']);
    expect(narrowed.changes[0]!.message).toBe('initech may no longer read all rows of Product (now: nothing): initech loses access and replica data.');
  });

  it('sees field-level sharing change through @readableBy, per partner', () => {
    const diff = diffAfter('acme', '@readableBy(partners: ["globex"])', '@readableBy(partners: ["globex", "initech"])');
    expect(summary(diff.changes)).toEqual(['dangerous widening Product.unitPrice owners=acme affected=initech']);
    const hidden = diffAfter('acme', '@readableBy(partners: ["globex"])', '@readableBy(partners: [])');
    expect(summary(hidden.changes)).toEqual(['dangerous narrowing Product.unitPrice owners=acme affected=globex']);
  });

  it('counts a partner joining the network as a widening of every "*" grant', () => {
    const diff = diffSchemas(compose(base, ['acme', 'globex', 'initech']), compose(base, ['acme', 'globex', 'hooli', 'initech']));
    expect(summary(diff.changes)).toEqual(['dangerous widening Product owners=acme affected=hooli']);
    expect(diff.changes[0]!.message).toContain('hooli may now read all rows of Product (fields sku, name, purchaseOrders)');
  });

  it('calls a new shared type dangerous (widening) and an unshared one safe', () => {
    const unshared = 'type Invoice @key(fields: "id") @table(name: "invoices", schema: "public") {\n  id: BigInt! @column(name: "id")\n}\n\nenum OrderStatus';
    expect(summary(diffAfter('acme', 'enum OrderStatus', unshared).changes)).toEqual(['safe structure Invoice owners=acme affected=', 'safe structure Invoice.id owners=acme affected=']);
    const shared = unshared.replace('@table(name: "invoices", schema: "public")', '@table(name: "invoices", schema: "public") @grant(partners: ["globex"])');
    expect(summary(diffAfter('acme', 'enum OrderStatus', shared).changes)).toEqual(['safe structure Invoice owners=acme affected=globex', 'dangerous widening Invoice owners=acme affected=globex', 'safe structure Invoice.id owners=acme affected=globex']);
  });

  it('calls a new enum value dangerous for the readers of fields of that enum', () => {
    const diff = diffAfter('acme', '  SHIPPED @enumValue(name: "shipped")\n', '  SHIPPED @enumValue(name: "shipped")\n  LOST @enumValue(name: "lost")\n');
    expect(summary(diff.changes)).toEqual(['dangerous structure OrderStatus.LOST owners=acme affected=globex,initech']);
  });

  it('calls a value a create now needs breaking for the partners granted CREATE', () => {
    const creators = edit(base, 'acme', supplierRowGrant, supplierRowGrant.replace('[READ, UPDATE]', '[READ, CREATE, UPDATE]'));
    const diff = diffSchemas(compose(creators), compose(edit(creators, 'acme', quantityLine, `${quantityLine}  priority: Int! @column(name: "priority") @readableBy(partners: [])\n`)));
    expect(summary(diff.changes)).toEqual(['safe structure PurchaseOrder.priority owners=acme affected=', 'breaking write-contract PurchaseOrder.priority owners=acme affected=globex,initech']);
    expect(diff.changes[1]!.message).toBe('Creating a PurchaseOrder now requires priority (a new non-null field without a default): create mutations of globex, initech that do not send it fail.');
  });
});
