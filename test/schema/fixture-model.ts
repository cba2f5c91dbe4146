// A hand-written DatabaseModel shaped like PostgreSQL introspection of a small trading schema: keys,
// composite keys, a self reference, two foreign keys to one table, an enum, a view, a table without a
// primary key, and every scalar kind that needs a custom GraphQL scalar.
import type { ColumnModel, DatabaseModel, ScalarKind, TableModel, ValueType } from '../../connectors/connector.ts';

const scalar = (name: ScalarKind): ValueType => ({ kind: 'scalar', scalar: name });

function column(ordinal: number, name: string, nativeType: string, type: ValueType, options: Partial<ColumnModel> = {}): ColumnModel {
  return { name, ordinal, nativeType, type, nullable: false, defaultExpression: null, generated: false, comment: null, ...options };
}

function table(name: string, columns: readonly ColumnModel[], options: Partial<TableModel> = {}): TableModel {
  return { schema: 'public', name, kind: 'table', comment: null, columns, primaryKey: ['id'], uniqueConstraints: [], foreignKeys: [], writable: true, ...options };
}

export const fixtureModel: DatabaseModel = {
  introspectionVersion: 1,
  family: 'postgres',
  serverVersion: '15.8',
  database: 'trading',
  user: 'postgres',
  enums: [{ schema: 'public', name: 'order_status', values: ['draft', 'placed', 'in-transit', 'true'] }],
  warnings: [{ code: 'NO_PRIMARY_KEY', table: { schema: 'public', name: 'audit_log' }, column: null, message: 'table public.audit_log has no primary key; it is read-only' }],
  tables: [
    table('audit_log', [column(1, 'message', 'text', scalar('String'))], { primaryKey: null, writable: false }),
    table('companies', [
      column(1, 'id', 'bigint', scalar('BigInt'), { generated: true }),
      column(2, 'name', 'text', scalar('String'), { comment: 'Legal name' }),
      column(3, 'partner_code', 'text', scalar('String')),
      column(4, 'parent_id', 'bigint', scalar('BigInt'), { nullable: true }),
    ], { uniqueConstraints: [{ name: 'companies_partner_code_key', columns: ['partner_code'] }], foreignKeys: [{ name: 'companies_parent_fk', columns: ['parent_id'], references: { schema: 'public', name: 'companies' }, referencedColumns: ['id'] }] }),
    table('order_lines', [
      column(1, 'order_id', 'uuid', scalar('UUID')),
      column(2, 'line_no', 'integer', scalar('Int')),
      column(3, 'quantity', 'numeric(12,3)', scalar('Decimal')),
      column(4, 'attributes', 'jsonb', scalar('JSON'), { nullable: true }),
    ], { primaryKey: ['order_id', 'line_no'], foreignKeys: [{ name: 'order_lines_order_fk', columns: ['order_id'], references: { schema: 'public', name: 'orders' }, referencedColumns: ['id'] }] }),
    table('orders', [
      column(1, 'id', 'uuid', scalar('UUID'), { defaultExpression: 'gen_random_uuid()' }),
      column(2, 'buyer_id', 'bigint', scalar('BigInt')),
      column(3, 'seller_id', 'bigint', scalar('BigInt')),
      column(4, 'status', 'order_status', { kind: 'enum', name: 'order_status', values: ['draft', 'placed', 'in-transit', 'true'] }),
      column(5, 'placed_at', 'timestamp with time zone', scalar('DateTime'), { nullable: true }),
      column(6, 'signature', 'bytea', scalar('Bytes'), { nullable: true }),
      column(7, 'tags', 'text[]', { kind: 'list', of: scalar('String') }, { nullable: true }),
    ], { comment: 'Purchase orders between companies', foreignKeys: [
      { name: 'orders_buyer_fk', columns: ['buyer_id'], references: { schema: 'public', name: 'companies' }, referencedColumns: ['id'] },
      { name: 'orders_seller_fk', columns: ['seller_id'], references: { schema: 'public', name: 'companies' }, referencedColumns: ['id'] },
    ] }),
  ],
};
