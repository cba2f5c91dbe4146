// Goal: introspection SDL keeps every database name, maps every scalar kind to a lossless GraphQL type,
// names types, lists and relations by GraphQL conventions without collisions, and always composes.
// Method: a hand-written DatabaseModel (./fixture-model.ts) covering the awkward cases; assertions on
// the printed SDL and on the composed policy model.
import { describe, expect, it } from 'vitest';
import { composeSchemas } from '../../schema/compose.ts';
import { listFieldName, typeNameForTable, camelCase } from '../../schema/naming.ts';
import { columnField, findType } from '../../schema/policy.ts';
import { sdlFromDatabase } from '../../schema/sdl-from-database.ts';
import { fixtureModel } from './fixture-model.ts';

describe('sdlFromDatabase', () => {
  const sdl = sdlFromDatabase(fixtureModel, { partner: 'acme' });
  const unified = composeSchemas([{ path: 'schema/acme.graphql', partner: 'acme', source: sdl }]);

  it('keeps table, schema, column and native type names in directives', () => {
    const order = findType(unified, 'Order')!;
    expect(order.table).toEqual({ schema: 'public', name: 'orders' });
    expect(columnField(order, 'placedAt')).toMatchObject({ column: 'placed_at', nativeType: 'timestamp with time zone', type: { name: 'DateTime', nullable: true } });
    expect(columnField(order, 'id')).toMatchObject({ hasDefault: true, generated: false });
    expect(columnField(findType(unified, 'Company')!, 'id')).toMatchObject({ generated: true, type: { name: 'BigInt' } });
  });

  it('maps every scalar kind losslessly', () => {
    const kinds = Object.fromEntries(findType(unified, 'Order')!.fields.flatMap((field) => (field.kind === 'column' ? [[field.name, field.type.name]] : [])));
    expect(kinds).toEqual({ id: 'UUID', buyerId: 'BigInt', sellerId: 'BigInt', status: 'OrderStatus', placedAt: 'DateTime', signature: 'Bytes', tags: 'String' });
    expect(columnField(findType(unified, 'OrderLine')!, 'quantity')?.type.name).toBe('Decimal');
    expect(columnField(findType(unified, 'OrderLine')!, 'attributes')?.type.name).toBe('JSON');
    expect(columnField(findType(unified, 'Order')!, 'tags')?.type).toMatchObject({ list: true, itemsNullable: true });
  });

  it('keeps enum labels that are not GraphQL names', () => {
    expect(unified.enums[0]!.values.map((value) => [value.name, value.label])).toEqual([['draft', 'draft'], ['placed', 'placed'], ['IN_TRANSIT', 'in-transit'], ['TRUE', 'true']]);
  });

  it('derives keys (primary, then required unique columns) and relations in both directions', () => {
    expect(findType(unified, 'Company')!.keys).toEqual([['id'], ['partnerCode']]);
    expect(findType(unified, 'OrderLine')!.keys).toEqual([['orderId', 'lineNo']]);
    expect(findType(unified, 'AuditLog')!).toMatchObject({ keys: [], writable: false });
    const company = findType(unified, 'Company')!.fields.filter((field) => field.kind === 'relation').map((field) => field.kind === 'relation' ? `${field.name}:${field.target}:${field.list}:${field.fields.join(',')}->${field.references.join(',')}` : '');
    expect(company).toEqual(['parent:Company:false:parentId->id', 'companiesByParentId:Company:true:id->parentId', 'ordersByBuyerId:Order:true:id->buyerId', 'ordersBySellerId:Order:true:id->sellerId']);
    expect(sdl).toContain('  buyer: Company! @relation(fields: ["buyerId"], references: ["id"])');
    expect(sdl).toContain('# warning (NO_PRIMARY_KEY): table public.audit_log has no primary key; it is read-only');
  });

  it('omits @owner without a partner, and composition gives the type to the file\'s partner', () => {
    const plain = sdlFromDatabase(fixtureModel);
    expect(plain).not.toContain('@owner');
    expect(composeSchemas([{ path: 'schema/globex.graphql', partner: 'globex', source: plain }]).types.every((type) => type.owner === 'globex')).toBe(true);
  });
});

describe('naming', () => {
  it('singularizes tables into types and pluralizes list fields', () => {
    expect(['customers', 'categories', 'addresses', 'boxes', 'invoice_line', 'media_type', 'OrderItems', 'status', 'data'].map(typeNameForTable))
      .toEqual(['Customer', 'Category', 'Address', 'Box', 'InvoiceLine', 'MediaType', 'OrderItem', 'Status', 'Data']);
    expect(['Customer', 'Category', 'Address', 'Box', 'Status', 'Data'].map(listFieldName)).toEqual(['customers', 'categories', 'addresses', 'boxes', 'statuses', 'dataList']);
    expect(['reports_to', 'first name', '1st', 'ID', '__meta'].map(camelCase)).toEqual(['reportsTo', 'firstName', '_1st', 'id', 'meta']);
  });
});
