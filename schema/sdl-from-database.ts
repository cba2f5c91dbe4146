// DatabaseModel → partner SDL: one object type per table or collection, one field per column, keys,
// relations in both directions from foreign keys, and every database name kept in a directive so the
// schema maps back exactly. Pure and deterministic: the same model always prints the same text.
import type { ColumnModel, DatabaseModel, EnumModel, ForeignKeyModel, TableModel, ValueType } from '../connectors/connector.ts';
import { camelCase, isValidGraphqlName, listFieldName, pascalCase, singleFieldName, typeNameForTable, upperSnakeCase } from './naming.ts';
import { graphqlScalarFor } from './scalars.ts';

export interface SdlFromDatabaseOptions {
  /** Written as @owner on every type; without it, composition takes the owner from the file's partner. */
  readonly partner?: string;
}

interface NamedTable {
  readonly table: TableModel;
  readonly typeName: string;
  /** Column name → field name. */
  readonly fieldNames: ReadonlyMap<string, string>;
}

const reservedTypeNames = new Set(['Query', 'Mutation', 'Subscription', 'PageInfo', 'Ledger', 'Node', 'String', 'Int', 'Float', 'Boolean', 'ID',
  'BigInt', 'Decimal', 'DateTime', 'Date', 'Time', 'UUID', 'JSON', 'Bytes', 'ObjectId', 'OrderDirection', 'ChangeOperation']);

function quote(text: string): string {
  return JSON.stringify(text);
}

function description(text: string | null, indent: string): string {
  if (text === null || text.trim() === '') return '';
  return `${indent}"""\n${text.split('\n').map((line) => `${indent}${line.replaceAll('"""', '\\"""')}`).join('\n')}\n${indent}"""\n`;
}

function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let suffix = 2; taken.has(candidate); suffix += 1) candidate = `${name}${suffix}`;
  taken.add(candidate);
  return candidate;
}

function nameTables(model: DatabaseModel, takenTypes: Set<string>): NamedTable[] {
  const bareNameCount = new Map<string, number>();
  for (const table of model.tables) bareNameCount.set(table.name, (bareNameCount.get(table.name) ?? 0) + 1);
  return model.tables.map((table) => {
    // Two schemas with a table of the same name: the schema name disambiguates.
    const base = (bareNameCount.get(table.name) ?? 0) > 1 ? pascalCase(table.schema) + typeNameForTable(table.name) : typeNameForTable(table.name);
    const typeName = unique(reservedTypeNames.has(base) ? `${base}Record` : base, takenTypes);
    const takenFields = new Set<string>();
    const fieldNames = new Map(table.columns.map((column) => [column.name, unique(camelCase(column.name), takenFields)]));
    return { table, typeName, fieldNames };
  });
}

interface NamedEnum {
  readonly model: EnumModel;
  readonly typeName: string;
  readonly values: readonly { readonly name: string; readonly label: string }[];
}

function nameEnums(model: DatabaseModel, takenTypes: Set<string>): NamedEnum[] {
  return model.enums.map((model) => {
    const typeName = unique(pascalCase(model.name), takenTypes);
    const takenValues = new Set<string>();
    const values = model.values.map((label) => {
      const plain = isValidGraphqlName(label) && !['true', 'false', 'null'].includes(label);
      return { name: unique(plain ? label : upperSnakeCase(label), takenValues), label };
    });
    return { model, typeName, values };
  });
}

function graphqlType(type: ValueType, enums: readonly NamedEnum[]): string {
  switch (type.kind) {
    case 'scalar': return graphqlScalarFor(type.scalar);
    case 'enum': return enums.find((candidate) => candidate.model.name === type.name)?.typeName ?? 'String';
    case 'list': return `[${graphqlType(type.of, enums)}]`;
    case 'object': return 'JSON';
  }
}

function columnLine(column: ColumnModel, fieldName: string, enums: readonly NamedEnum[]): string {
  const args = [`name: ${quote(column.name)}`, `type: ${quote(column.nativeType)}`];
  if (column.generated) args.push('generated: true');
  if (column.defaultExpression !== null && !column.generated) args.push('hasDefault: true');
  const type = graphqlType(column.type, enums) + (column.nullable ? '' : '!');
  return `${description(column.comment, '  ')}  ${fieldName}: ${type} @column(${args.join(', ')})\n`;
}

function sameTable(table: TableModel, ref: { readonly schema: string; readonly name: string }): boolean {
  return table.schema === ref.schema && table.name === ref.name;
}

interface RelationLine {
  readonly typeName: string;
  readonly text: string;
}

function relationLines(named: readonly NamedTable[], takenByType: Map<string, Set<string>>): RelationLine[] {
  const lines: RelationLine[] = [];
  for (const source of named) {
    for (const foreignKey of source.table.foreignKeys) {
      const target = named.find((candidate) => sameTable(candidate.table, foreignKey.references));
      if (target === undefined) continue; // references a table outside the introspected schemas
      lines.push(forwardRelation(source, target, foreignKey, takenByType), reverseRelation(source, target, foreignKey, takenByType));
    }
  }
  return lines;
}

function fieldsOf(named: NamedTable, columns: readonly string[]): string[] {
  return columns.map((column) => named.fieldNames.get(column) ?? camelCase(column));
}

function list(names: readonly string[]): string {
  return `[${names.map(quote).join(', ')}]`;
}

function forwardRelation(source: NamedTable, target: NamedTable, foreignKey: ForeignKeyModel, takenByType: Map<string, Set<string>>): RelationLine {
  const fields = fieldsOf(source, foreignKey.columns);
  const references = fieldsOf(target, foreignKey.referencedColumns);
  // 'customer_id' → 'customer'; otherwise ('reports_to') the column and the target: 'reportsToEmployee'.
  const only = foreignKey.columns.length === 1 ? foreignKey.columns[0]! : null;
  const stripped = only === null ? null : only.replace(/_?id$/i, '');
  const base = stripped !== null && stripped !== '' && stripped !== only ? camelCase(stripped)
    : only !== null ? `${camelCase(only)}${target.typeName}` : singleFieldName(target.typeName);
  const name = unique(base, takenByType.get(source.typeName)!);
  const nullable = foreignKey.columns.some((column) => source.table.columns.find((candidate) => candidate.name === column)?.nullable ?? true);
  const text = `  ${name}: ${target.typeName}${nullable ? '' : '!'} @relation(fields: ${list(fields)}, references: ${list(references)})\n`;
  return { typeName: source.typeName, text };
}

function reverseRelation(source: NamedTable, target: NamedTable, foreignKey: ForeignKeyModel, takenByType: Map<string, Set<string>>): RelationLine {
  const fields = fieldsOf(target, foreignKey.referencedColumns);
  const references = fieldsOf(source, foreignKey.columns);
  const several = source.table.foreignKeys.filter((other) => sameTable(target.table, other.references)).length > 1 || source === target;
  const plain = listFieldName(source.typeName);
  const base = several ? `${plain}By${references.map((field) => field[0]!.toUpperCase() + field.slice(1)).join('And')}` : plain;
  const name = unique(base, takenByType.get(target.typeName)!);
  return { typeName: target.typeName, text: `  ${name}: [${source.typeName}!]! @relation(fields: ${list(fields)}, references: ${list(references)})\n` };
}

function keyDirectives(named: NamedTable): string[] {
  const { table } = named;
  const keys: (readonly string[])[] = [];
  if (table.primaryKey !== null) keys.push(table.primaryKey);
  for (const constraint of table.uniqueConstraints) {
    const allRequired = constraint.columns.every((column) => table.columns.find((candidate) => candidate.name === column)?.nullable === false);
    const same = keys.some((key) => key.join('\u0000') === constraint.columns.join('\u0000'));
    if (allRequired && !same) keys.push(constraint.columns);
  }
  return keys.map((key) => `@key(fields: ${quote(fieldsOf(named, key).join(' '))})`);
}

function typeBlock(named: NamedTable, enums: readonly NamedEnum[], relations: readonly RelationLine[], partner: string | undefined): string {
  const { table } = named;
  const directives = [...keyDirectives(named)];
  if (partner !== undefined) directives.push(`@owner(partner: ${quote(partner)})`);
  const tableArgs = [`name: ${quote(table.name)}`, `schema: ${quote(table.schema)}`];
  if (!table.writable) tableArgs.push('writable: false');
  directives.push(`@table(${tableArgs.join(', ')})`);
  const columns = table.columns.map((column) => columnLine(column, named.fieldNames.get(column.name)!, enums)).join('');
  const relationText = relations.filter((line) => line.typeName === named.typeName).map((line) => line.text).join('');
  return `${description(table.comment, '')}type ${named.typeName}\n  ${directives.join('\n  ')} {\n${columns}${relationText}}\n`;
}

function enumBlock(named: NamedEnum): string {
  const values = named.values.map((value) => `  ${value.name}${value.name === value.label ? '' : ` @enumValue(name: ${quote(value.label)})`}\n`).join('');
  return `"Database enum ${named.model.schema}.${named.model.name}."\nenum ${named.typeName} {\n${values}}\n`;
}

export function sdlFromDatabase(model: DatabaseModel, options: SdlFromDatabaseOptions = {}): string {
  const takenTypes = new Set(reservedTypeNames);
  const tables = nameTables(model, takenTypes);
  const enums = nameEnums(model, takenTypes);
  const takenByType = new Map(tables.map((named) => [named.typeName, new Set(named.fieldNames.values())]));
  const relations = relationLines(tables, takenByType);
  const header = [
    `# Generated by \`entente introspect\` from ${model.family} database ${quote(model.database)} (server ${model.serverVersion}).`,
    '# Annotate it: @grant(partners: [...], operations: [...]) shares a type; nothing is shared until granted.',
    ...model.warnings.map((warning) => `# warning (${warning.code}): ${warning.message.replaceAll('\n', ' ')}`),
  ];
  const blocks = [...tables.map((named) => typeBlock(named, enums, relations, options.partner)), ...enums.map(enumBlock)];
  return `${header.join('\n')}\n\n${blocks.join('\n')}`;
}
