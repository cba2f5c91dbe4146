// What one viewer sees of one shared type: the fields it may read and the operations it may perform.
// The schema built for a viewer contains only that, so forbidden types and fields are absent from
// both execution and introspection. Without a viewer (the full schema, for codegen and tooling) every
// field and operation is present and the resolvers still decide per caller at run time.
import type { ScalarKind, TableRef } from '../../connectors/connector.ts';
import {
  columnFields, mayPerform, mayReadField, primaryKey, rowFilter, scalarKindOf,
  type Caller, type FieldPolicy, type ScalarFieldPolicy, type TypePolicy, type UnifiedSchema,
} from '../policy.ts';
import { replicaTableName } from '../replica.ts';
import type { Connector } from '../../connectors/connector.ts';

export interface TypeView {
  readonly policy: TypePolicy;
  readonly fields: readonly FieldPolicy[];
  readonly columns: readonly ScalarFieldPolicy[];
  /** Column name → scalar kind, for in-memory filters. */
  readonly kinds: ReadonlyMap<string, ScalarKind>;
  readonly keyFields: readonly ScalarFieldPolicy[] | null;
  readonly canCreate: boolean;
  readonly canUpdate: boolean;
  readonly canDelete: boolean;
  /** True when the viewer sees only some rows (relations to it must then be nullable). */
  readonly rowRestricted: boolean;
}

export function buildTypeViews(unified: UnifiedSchema, viewer: Caller | null): ReadonlyMap<string, TypeView> {
  const visible = unified.types.filter((type) => viewer === null || mayPerform(type, viewer, 'read'));
  const names = new Set(visible.map((type) => type.name));
  const views = new Map<string, TypeView>();
  for (const policy of visible) {
    const readable = policy.fields.filter((field) => viewer === null || mayReadField(policy, field, viewer));
    const readableNames = new Set(readable.map((field) => field.name));
    // A relation is shown only with the fields it joins on: following it must not reveal a hidden field.
    const fields = readable.filter((field) =>
      field.kind === 'column' || (names.has(field.target) && field.fields.every((name) => readableNames.has(name))));
    const allColumns = columnFields(policy);
    const key = primaryKey(policy);
    const keyFields = key === null ? null : key.map((name) => allColumns.find((field) => field.name === name)!);
    const visibleColumns = fields.filter((field): field is ScalarFieldPolicy => field.kind === 'column');
    const keyVisible = keyFields !== null && keyFields.every((field) => visibleColumns.includes(field));
    const can = (op: 'create' | 'update' | 'delete') => keyVisible && policy.writable && (viewer === null || mayPerform(policy, viewer, op));
    // A mutation needs something to set: an all-key type (a link table) has no update, an all-generated one no create.
    const keyNames = new Set(keyFields?.map((field) => field.name) ?? []);
    const settable = visibleColumns.filter((field) => !field.generated);
    views.set(policy.name, {
      policy,
      fields,
      columns: visibleColumns,
      kinds: new Map(allColumns.map((field) => [field.column, scalarKindOf(field.type.name)])),
      keyFields: keyVisible ? keyFields : null,
      canCreate: can('create') && settable.length > 0,
      canUpdate: can('update') && settable.some((field) => !keyNames.has(field.name)),
      canDelete: can('delete'),
      rowRestricted: viewer === null ? policy.grants.some((grant) => grant.rows.length > 0) : rowFilter(policy, viewer, 'read') !== 'all',
    });
  }
  return views;
}

/** Own types live in the owner's table; others in this database's replica of them. */
export function tableOf(policy: TypePolicy, connector: Connector, partner: string): TableRef {
  return policy.owner === partner ? policy.table : connector.replica.tableRef(replicaTableName(policy));
}
