// A partner's database drifts from its schema file: a legacy application adds a column, drops one, or
// creates a table. `draftSchemaChange` compares the partner's current DatabaseModel (connector.introspect)
// with the types it owns and drafts the new schema file: every new column of a mapped table becomes a field
// with `@readableBy(partners: [])` — readable by the owner only, never shared by default; sharing it is a
// deliberate edit and then a widening the diff reports. What needs a human is listed, never applied: a
// mapped column that is gone (removing its field is a breaking change) and tables no type maps.
import { parse, type ObjectTypeDefinitionNode } from 'graphql';
import type { ColumnModel, DatabaseModel, TableModel, TableRef, ValueType } from '../../connectors/connector.ts';
import type { PartnerSchemaFile } from '../compose.ts';
import { camelCase } from '../naming.ts';
import { columnFields, type TypePolicy, type UnifiedSchema } from '../policy.ts';
import { graphqlScalarFor } from '../scalars.ts';

export interface DriftField {
  readonly type: string;
  readonly field: string;
  readonly column: string;
}

export interface SchemaDraft {
  readonly partner: string;
  /** The partner's schema file with the new fields added; equal to the input when nothing was added. */
  readonly source: string;
  readonly changed: boolean;
  readonly addedFields: readonly DriftField[];
  /** Fields whose column the database no longer has: a breaking removal someone must decide on. */
  readonly missingColumns: readonly DriftField[];
  /** Tables of the database that no type of this partner maps (listed, never added). */
  readonly untrackedTables: readonly TableRef[];
}

export const draftMarker = '# Added by entente from the database; not shared (@readableBy(partners: [])) until you share it.';

export function draftSchemaChange(model: DatabaseModel, file: PartnerSchemaFile, unified: UnifiedSchema): SchemaDraft {
  const owned = unified.types.filter((type) => type.owner === file.partner);
  const insertions: { readonly offset: number; readonly text: string }[] = [];
  const addedFields: DriftField[] = [];
  const missingColumns: DriftField[] = [];
  const definitions = typeDefinitions(file.source);
  for (const type of owned) {
    const table = model.tables.find((candidate) => candidate.schema === type.table.schema && candidate.name === type.table.name);
    const definition = definitions.get(type.name);
    if (table === undefined || definition?.loc === undefined) continue;
    const mapped = new Set(columnFields(type).map((field) => field.column));
    for (const field of columnFields(type)) {
      if (!table.columns.some((column) => column.name === field.column)) missingColumns.push({ type: type.name, field: field.name, column: field.column });
    }
    const taken = new Set(type.fields.map((field) => field.name));
    const lines = table.columns.filter((column) => !mapped.has(column.name)).map((column) => {
      const name = uniqueName(camelCase(column.name), taken);
      addedFields.push({ type: type.name, field: name, column: column.name });
      return fieldLine(column, name, unified);
    });
    // Insert before the type's closing brace (the last character of its definition).
    if (lines.length > 0) insertions.push({ offset: definition.loc.end - 1, text: `  ${draftMarker}\n${lines.join('')}` });
  }
  const source = insertions.sort((a, b) => b.offset - a.offset).reduce((text, insertion) => `${text.slice(0, insertion.offset)}${insertion.text}${text.slice(insertion.offset)}`, file.source);
  return { partner: file.partner, source, changed: addedFields.length > 0, addedFields, missingColumns, untrackedTables: untracked(model.tables, owned) };
}

function typeDefinitions(source: string): Map<string, ObjectTypeDefinitionNode> {
  const document = parse(source);
  return new Map(document.definitions.flatMap((definition) => (definition.kind === 'ObjectTypeDefinition' ? [[definition.name.value, definition] as const] : [])));
}

function uniqueName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let suffix = 2; taken.has(candidate); suffix += 1) candidate = `${name}${suffix}`;
  taken.add(candidate);
  return candidate;
}

function graphqlTypeOf(type: ValueType, unified: UnifiedSchema): string {
  switch (type.kind) {
    case 'scalar': return graphqlScalarFor(type.scalar);
    // An enum the schema already has (same labels) keeps its type; a new enum is served as its labels.
    case 'enum': return unified.enums.find((candidate) => candidate.values.map((value) => value.label).join('\u0000') === type.values.join('\u0000'))?.name ?? 'String';
    case 'list': return `[${graphqlTypeOf(type.of, unified)}]`;
    case 'object': return 'JSON';
  }
}

function fieldLine(column: ColumnModel, name: string, unified: UnifiedSchema): string {
  const args = [`name: ${JSON.stringify(column.name)}`, `type: ${JSON.stringify(column.nativeType)}`];
  if (column.generated) args.push('generated: true');
  if (column.defaultExpression !== null && !column.generated) args.push('hasDefault: true');
  return `  ${name}: ${graphqlTypeOf(column.type, unified)}${column.nullable ? '' : '!'} @column(${args.join(', ')}) @readableBy(partners: [])\n`;
}

function untracked(tables: readonly TableModel[], owned: readonly TypePolicy[]): TableRef[] {
  return tables
    .filter((table) => !owned.some((type) => type.table.schema === table.schema && type.table.name === table.name))
    .map((table) => ({ schema: table.schema, name: table.name }));
}
