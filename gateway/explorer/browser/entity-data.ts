// "What does the changed row look like now?" for a ledger transaction: the explorer reads it through the
// type's by-key query, with the caller's own rights. The gateway builds each caller's API without what it
// may not read, so the answer is the data this partner may see — nothing more, and nothing when the type
// or row is not readable (or the row is gone). The query is derived from the caller's introspected API.
import { graphql } from './gateway-client.ts';

interface TypeRef {
  readonly kind: string;
  readonly name: string | null;
  readonly ofType: TypeRef | null;
}

interface FieldInfo {
  readonly name: string;
  readonly args: readonly { readonly name: string; readonly type: TypeRef }[];
  readonly type: TypeRef;
}

interface QueryShape {
  readonly __schema: { readonly queryType: { readonly fields: readonly FieldInfo[] } };
}

export type EntityData =
  | { readonly kind: 'row'; readonly row: Readonly<Record<string, unknown>> }
  | { readonly kind: 'not-readable' }
  | { readonly kind: 'absent' };

const typeRefSelection = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';
let queryFields: Promise<readonly FieldInfo[]> | null = null;
const typeFields = new Map<string, Promise<readonly FieldInfo[]>>();

function loadQueryFields(): Promise<readonly FieldInfo[]> {
  queryFields ??= graphql<QueryShape>(`query ExplorerQueryFields { __schema { queryType { fields { name args { name type { ${typeRefSelection} } } type { ${typeRefSelection} } } } } }`)
    .then((data) => data.__schema.queryType.fields)
    .catch((error: unknown) => {
      queryFields = null;
      throw error;
    });
  return queryFields;
}

function loadTypeFields(typeName: string): Promise<readonly FieldInfo[]> {
  let fields = typeFields.get(typeName);
  if (fields === undefined) {
    fields = graphql<{ __type: { fields: readonly FieldInfo[] } | null }>(
      `query ExplorerTypeFields($name: String!) { __type(name: $name) { fields { name args { name type { ${typeRefSelection} } } type { ${typeRefSelection} } } } }`,
      { name: typeName },
    ).then((data) => data.__type?.fields ?? []);
    typeFields.set(typeName, fields);
  }
  return fields;
}

function namedType(type: TypeRef): TypeRef {
  return type.ofType === null ? type : namedType(type.ofType);
}

function printType(type: TypeRef): string {
  if (type.kind === 'NON_NULL' && type.ofType !== null) return `${printType(type.ofType)}!`;
  if (type.kind === 'LIST' && type.ofType !== null) return `[${printType(type.ofType)}]`;
  return type.name ?? 'String';
}

/** The row a transaction changed, as this caller may read it now. */
export async function entityData(typeName: string, key: Readonly<Record<string, unknown>>): Promise<EntityData> {
  const keyNames = Object.keys(key).sort();
  const byKey = (await loadQueryFields()).find((field) =>
    field.type.kind === 'OBJECT' && field.type.name === typeName &&
    field.args.map((arg) => arg.name).sort().join(',') === keyNames.join(','));
  if (byKey === undefined) return { kind: 'not-readable' };
  const scalars = (await loadTypeFields(typeName))
    .filter((field) => field.args.length === 0 && ['SCALAR', 'ENUM'].includes(namedType(field.type).kind))
    .map((field) => field.name);
  if (scalars.length === 0) return { kind: 'not-readable' };
  const declarations = byKey.args.map((arg) => `$${arg.name}: ${printType(arg.type)}`).join(', ');
  const argumentsText = byKey.args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  const data = await graphql<Record<string, Record<string, unknown> | null>>(
    `query ExplorerEntity(${declarations}) { row: ${byKey.name}(${argumentsText}) { ${scalars.join(' ')} } }`,
    { ...key },
  );
  const row = data['row'];
  return row === null || row === undefined ? { kind: 'absent' } : { kind: 'row', row };
}
