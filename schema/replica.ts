// How a shared type owned by another partner is stored in this partner's database: one replica table
// per type, named after the owner and the owner's table, with the owner's column names (so ledger
// after-images apply without renaming) and value types derived from the unified schema.
import type { ReplicaTableDefinition, ScalarKind, ValueType } from '../connectors/connector.ts';
import type { Row } from '../connectors/connector.ts';
import { partnerReadableColumns, primaryKey, scalarKindOf, type EnumPolicy, type FieldTypeRef, type TypePolicy, type UnifiedSchema } from './policy.ts';

/** 'acme' + 'order_lines' → 'acme__order_lines': unique per owner and table, readable in the database. */
export function replicaTableName(type: TypePolicy): string {
  const clean = (text: string) => text.replace(/[^A-Za-z0-9_]/g, '_').toLowerCase();
  return `${clean(type.owner)}__${clean(type.table.name)}`;
}

function valueType(type: FieldTypeRef, enums: readonly EnumPolicy[]): ValueType {
  const enumPolicy = enums.find((candidate) => candidate.name === type.name);
  const item: ValueType = enumPolicy !== undefined
    ? { kind: 'enum', name: enumPolicy.name, values: enumPolicy.values.map((value) => value.label) }
    : { kind: 'scalar', scalar: scalarKindOf(type.name) satisfies ScalarKind };
  return type.list ? { kind: 'list', of: item } : item;
}

/** The replica table of `type` in `partner`'s database: only the columns the partner may read. */
export function replicaTableDefinition(type: TypePolicy, unified: UnifiedSchema, partner: string): ReplicaTableDefinition {
  const key = primaryKey(type) ?? [];
  const columns = partnerReadableColumns(type, partner);
  return {
    name: replicaTableName(type),
    columns: columns.map((field) => ({ name: field.column, type: valueType(field.type, unified.enums), nullable: field.type.nullable })),
    primaryKey: key.map((name) => columns.find((field) => field.name === name)?.column ?? name),
  };
}

/**
 * The replica tables a partner's database holds: every keyed type another partner owns that this
 * partner may read, with its key readable too (a replica row without its key could not be updated).
 */
export function replicaTablesFor(unified: UnifiedSchema, partner: string): readonly ReplicaTableDefinition[] {
  return unified.types.filter((type) => type.owner !== partner && replicable(type, partner)).map((type) => replicaTableDefinition(type, unified, partner));
}

function replicable(type: TypePolicy, partner: string): boolean {
  const key = primaryKey(type);
  if (key === null) return false;
  const readable = new Set(partnerReadableColumns(type, partner).map((field) => field.name));
  return readable.size > 0 && key.every((name) => readable.has(name));
}

/** A row (column names) cut down to what `partner` may hold: the payload its replica receives. */
export function projectForPartner(type: TypePolicy, partner: string, row: Row): Row {
  return Object.fromEntries(partnerReadableColumns(type, partner).filter((field) => field.column in row).map((field) => [field.column, row[field.column] ?? null]));
}
