// Goal: partner files compose into one policy model, and every kind of conflict fails with a message
// that names the file, line and column and says how to fix it.
// Method: compose small in-memory partner files (and the demo network) and assert the exact text.
import { describe, expect, it } from 'vitest';
import { composeSchemas, SchemaCompositionError, type PartnerSchemaFile } from '../../schema/compose.ts';
import { loadPartnerSchemaFiles } from '../../schema/schema-files.ts';
import { findType, rowFilter } from '../../schema/policy.ts';

const acme = `type Order @key(fields: "id") @table(name: "orders", schema: "public")
  @grant(partners: ["globex"], rows: [{ field: "supplierId", eq: "$partner" }]) {
  id: BigInt! @column(name: "id")
  supplierId: String! @column(name: "supplier_id")
}
`;

function file(partner: string, source: string): PartnerSchemaFile {
  return { path: `schema/${partner}.graphql`, partner, source };
}

function problemsOf(files: readonly PartnerSchemaFile[], partners?: readonly string[]): string[] {
  try {
    composeSchemas(files, partners === undefined ? {} : { partners });
  } catch (error) {
    expect(error).toBeInstanceOf(SchemaCompositionError);
    return (error as SchemaCompositionError).message.split('\n').slice(1);
  }
  throw new Error('expected composition to fail');
}

describe('composition', () => {
  it('composes the demo network and keeps every directive in the policy model', async () => {
    const unified = composeSchemas(await loadPartnerSchemaFiles('schema/demo'));
    expect(unified.partners).toEqual(['acme', 'globex', 'initech']);
    expect(unified.types.map((type) => `${type.name}:${type.owner}`)).toEqual(['Product:acme', 'PurchaseOrder:acme', 'Shipment:globex']);
    const order = findType(unified, 'PurchaseOrder')!;
    expect(order.table).toEqual({ schema: 'public', name: 'purchase_orders' });
    expect(order.fields.map((field) => field.name)).toContain('shipments');
    expect(rowFilter(order, { partner: 'globex', roles: [] }, 'read')).toEqual({ and: [{ column: 'supplier_id', op: 'eq', value: 'globex' }] });
    expect(rowFilter(order, { partner: 'globex', roles: [] }, 'delete')).toBe('none');
    expect(rowFilter(order, { partner: 'acme', roles: ['auditor'] }, 'read')).toBe('all');
    expect(rowFilter(order, { partner: 'acme', roles: ['auditor'] }, 'update')).toBe('none');
    expect(rowFilter(order, { partner: 'acme', roles: ['buyer'] }, 'delete')).toBe('all');
    expect(rowFilter(order, { partner: 'acme', roles: ['clerk'] }, 'read')).toBe('none');
    expect(unified.enums[0]!.values.map((value) => value.label)).toEqual(['placed', 'confirmed', 'shipped']);
  });

  it('rejects two owners of one type, naming both places', () => {
    const globex = `type Order @key(fields: "id") @table(name: "orders") {\n  id: BigInt!\n}\n`;
    expect(problemsOf([file('acme', acme), file('globex', globex)])).toEqual([
      'schema/globex.graphql:1:1: type "Order" has two owners: partner "acme" (schema/acme.graphql:1:1) and partner "globex" (schema/globex.graphql:1:1). Fix: a type has exactly one owner. Rename one of the types, or, to refer to acme\'s type here, write @owner(partner: "acme") on this definition and keep only fields it has, with the same types.',
    ]);
  });

  it('rejects a restated field whose type differs from the owner\'s', () => {
    const globex = `type Order @owner(partner: "acme") {\n  id: Int!\n}\n`;
    expect(problemsOf([file('acme', acme), file('globex', globex)])).toEqual([
      'schema/globex.graphql:2:7: incompatible field types: "Order.id" is Int! here but BigInt! in the owner\'s definition (schema/acme.graphql:3:3). Fix: declare it as BigInt!, the owner\'s type.',
    ]);
  });

  it('rejects a relation joining fields of different types', () => {
    const globex = `type Shipment @key(fields: "id") @table(name: "shipments") {\n  id: Int!\n  orderId: String!\n  order: Order @relation(fields: ["orderId"], references: ["id"])\n}\n`;
    expect(problemsOf([file('acme', acme), file('globex', globex)])).toEqual([
      'schema/globex.graphql:4:3: incompatible field types: @relation on "Shipment.order" pairs Shipment.orderId (String!) with Order.id (BigInt!). Fix: give both fields the same type (BigInt).',
    ]);
  });

  it('rejects dangling references and suggests the close name', () => {
    const globex = `type Shipment @key(fields: "id") @table(name: "shipments") {\n  id: BigInt!\n  orderId: BigInt!\n  order: Ordr @relation(fields: ["orderId"], references: ["id"])\n  carrier: Carrier\n}\nextend type Invoice {\n  shipments: [Shipment!]! @relation(fields: ["id"], references: ["orderId"])\n}\n`;
    expect(problemsOf([file('acme', acme), file('globex', globex)])).toEqual([
      'schema/globex.graphql:4:3: dangling reference: relation "Shipment.order" refers to type "Ordr", which no partner file defines. Fix: did you mean "Order"? define Ordr in its owner\'s schema file, or correct the name.',
      'schema/globex.graphql:5:3: dangling reference: field "Shipment.carrier" refers to type "Carrier", which no partner file defines. Fix: define Carrier in its owner\'s schema file, or correct the name.',
      'schema/globex.graphql:7:1: dangling reference: `extend type Invoice` refers to type "Invoice", which no partner file defines. Fix: define Invoice in its owner\'s schema file, or correct the name.',
    ]);
  });

  it('rejects unknown partners in grants and field rules', () => {
    const source = acme.replace('partners: ["globex"]', 'partners: ["globx"]').replace('supplierId: String! @column(name: "supplier_id")', 'supplierId: String! @column(name: "supplier_id") @readableBy(partners: ["initech"])');
    expect(problemsOf([file('acme', source)], ['acme', 'globex'])).toEqual([
      'schema/acme.graphql:2:3: @grant names unknown partner "globx"; the network\'s partners are "acme", "globex". Fix: correct the partner name, use "*" for every partner, or add "globx" to the network (its schema file and the genesis partner list).',
      'schema/acme.graphql:4:52: @readableBy names unknown partner "initech"; the network\'s partners are "acme", "globex". Fix: correct the partner name, use "*" for every partner, or add "initech" to the network (its schema file and the genesis partner list).',
    ]);
  });

  it('rejects row rules on unknown fields, missing tables, bad keys and unknown directives', () => {
    const source = `type Order @key(fields: "number") @grant(partners: ["acme"], rows: [{ field: "vendor", eq: "$partner" }]) @cache {\n  id: BigInt!\n}\n`;
    expect(problemsOf([file('acme', source)])).toEqual([
      'schema/acme.graphql:1:1: type "Order" has no @table: Entente cannot tell which table or collection holds it. Fix: add @table(name: "<table>", schema: "<schema>") to type Order.',
      'schema/acme.graphql:1:1: @key(fields: "number") on type "Order" names "number", which is not a column field of the type. Fix: use fields of Order backed by columns (the first @key is the primary key).',
      'schema/acme.graphql:1:35: row rule on type "Order" names field "vendor", which the type does not have. Fix: use one of id.',
      'schema/acme.graphql:1:107: Unknown directive "@cache". Fix: use one of the Entente directives documented in schema/README.md (@key, @owner, @table, @column, @relation, @grant, @readableBy, @enumValue).',
    ]);
  });

  it('reports syntax errors with their place', () => {
    expect(problemsOf([file('acme', 'type Order {\n  id: \n}\n')])).toEqual([
      'schema/acme.graphql:3:1: Syntax Error: Expected Name, found "}". Fix: correct the GraphQL syntax at this place.',
    ]);
  });
});

describe('composition: names the generated API needs', () => {
  it('rejects types that would clash with generated types', () => {
    const source = `type PageInfo @key(fields: "id") @table(name: "page_info") {\n  id: Int!\n}\ntype Order @key(fields: "id") @table(name: "orders") {\n  id: Int!\n}\ntype OrderConnection @key(fields: "id") @table(name: "order_connections") {\n  id: Int!\n}\n`;
    expect(problemsOf([file('acme', source)])).toEqual([
      'schema/acme.graphql:1:1: type "PageInfo" is a name the generated API uses. Fix: rename the type (the table or enum name stays in @table or @enumValue).',
      'schema/acme.graphql:7:1: type "OrderConnection" would clash with the Connection type generated for Order. Fix: rename the type (the table or enum name stays in @table or @enumValue).',
    ]);
  });
});

describe('what each partner\'s gateway may hold', () => {
  it('derives replica tables, payload row filters and projections from the grants', async () => {
    const { replicaTablesFor, projectForPartner } = await import('../../schema/replica.ts');
    const { partnerRowFilter } = await import('../../schema/policy.ts');
    const unified = composeSchemas(await loadPartnerSchemaFiles('schema/demo'));
    const tables = (partner: string) => replicaTablesFor(unified, partner).map((table) => `${table.name}(${table.columns.map((column) => column.name).join(',')})`);
    expect(tables('initech')).toEqual(['acme__products(sku,name)', 'acme__purchase_orders(id,supplier_id,sku,quantity,status,placed_at)']);
    expect(tables('globex')).toEqual(['acme__products(sku,name,unit_price)', 'acme__purchase_orders(id,supplier_id,sku,quantity,status,placed_at)']);
    expect(tables('acme')).toEqual(['globex__shipments(id,purchase_order_id,tracking_code,shipped_at)']);
    const order = findType(unified, 'PurchaseOrder')!;
    expect(partnerRowFilter(order, 'initech')).toEqual({ and: [{ column: 'supplier_id', op: 'eq', value: 'initech' }] });
    expect(partnerRowFilter(findType(unified, 'Shipment')!, 'initech')).toBe('none');
    expect(projectForPartner(findType(unified, 'Product')!, 'initech', { sku: 'P1', name: 'Bolt', unit_price: '0.10' })).toEqual({ sku: 'P1', name: 'Bolt' });
  });
});

describe('composition: key fields', () => {
  it('rejects a key field hidden from a partner that may read the type', () => {
    const source = `type Order @key(fields: "id") @table(name: "orders") @grant(partners: ["*"]) {\n  id: BigInt! @readableBy(partners: ["globex"])\n  total: Int!\n}\n`;
    expect(problemsOf([file('acme', source)], ['acme', 'globex', 'initech'])).toEqual([
      'schema/acme.graphql:2:3: key field "Order.id" is hidden by @readableBy from "initech", who may read Order; a reader needs the key to hold and refer to rows. Fix: remove @readableBy from the key field, or stop granting READ on Order to initech.',
    ]);
  });
});
