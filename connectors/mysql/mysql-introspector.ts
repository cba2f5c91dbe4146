// Introspection from information_schema: a handful of set-wise queries (no per-table round trips) and
// one pure assembly step. The result is plain, sorted (code-unit order, never localeCompare), versioned
// data; codecs (how each column converts) ride alongside for the connector's own use.
import { introspectionVersion, type ColumnModel, type DatabaseModel, type EnumModel, type ForeignKeyModel, type IntrospectionWarning, type TableModel, type TableRef, type UniqueConstraintModel } from '../connector.ts';
import { codecFor, valueTypeFor, type ColumnCodec } from './mysql-types.ts';
import { tableKey } from './mysql-sql.ts';

export type QueryRows = (text: string, params: readonly unknown[]) => Promise<readonly Record<string, unknown>[]>;

/** Tables Entente creates for itself (capture outbox, replica tables) start with this; introspect() skips them. */
export const ententeTablePrefix = 'entente_';

export interface IntrospectedTable {
  readonly model: TableModel;
  /** Codec per column name. */
  readonly codecs: ReadonlyMap<string, ColumnCodec>;
}

export interface Introspection {
  readonly model: DatabaseModel;
  readonly tables: ReadonlyMap<string, IntrospectedTable>;
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Scope {
  readonly schemas: readonly string[];
  /** Only these tables (by name) when given; Entente's own tables are then included too. */
  readonly tableNames?: readonly string[];
}

export async function introspectMysql(runSql: (statement: { readonly text: string; readonly params: readonly unknown[] }) => Promise<readonly Record<string, unknown>[]>, scope: Scope): Promise<Introspection> {
  const query: QueryRows = (text, params) => runSql({ text, params });
  const [info] = await query('SELECT VERSION() AS version, CURRENT_USER() AS user, DATABASE() AS db, @@GLOBAL.sql_mode AS sqlMode', []);
  const filter = scopeFilter(scope);
  const [tables, columns, checks, keys, referential] = await Promise.all([
    query(`SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, TABLE_TYPE AS type, TABLE_COMMENT AS comment, CREATE_OPTIONS AS options FROM information_schema.TABLES WHERE ${filter.text}`, filter.params),
    query(`SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, COLUMN_NAME AS c, ORDINAL_POSITION AS ordinal, COLUMN_DEFAULT AS def, IS_NULLABLE AS nullable, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, DATETIME_PRECISION AS fsp, EXTRA AS extra, COLUMN_COMMENT AS comment FROM information_schema.COLUMNS WHERE ${filter.text}`, filter.params),
    checkConstraints(query, filter),
    query(`SELECT k.TABLE_SCHEMA AS s, k.TABLE_NAME AS t, k.CONSTRAINT_NAME AS name, c.CONSTRAINT_TYPE AS type, k.COLUMN_NAME AS c, k.ORDINAL_POSITION AS ordinal, k.REFERENCED_TABLE_SCHEMA AS rs, k.REFERENCED_TABLE_NAME AS rt, k.REFERENCED_COLUMN_NAME AS rc FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.TABLE_CONSTRAINTS c ON c.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND c.TABLE_NAME = k.TABLE_NAME AND c.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE ${scopeFilter(scope, 'k.').text} ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`, filter.params),
    query(`SELECT CONSTRAINT_SCHEMA AS s, TABLE_NAME AS t, CONSTRAINT_NAME AS name, DELETE_RULE AS deleteRule, UPDATE_RULE AS updateRule FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE ${scopeFilter(scope, '', 'CONSTRAINT_SCHEMA').text}`, filter.params),
  ]);
  return assemble({ info: info ?? {}, tables, columns, checks, keys, referential }, scope);
}

function scopeFilter(scope: Scope, alias = '', schemaColumn = 'TABLE_SCHEMA'): { text: string; params: unknown[] } {
  const schemas = scope.schemas.map(() => '?').join(', ');
  let text = `${alias}${schemaColumn} IN (${schemas})`;
  const params: unknown[] = [...scope.schemas];
  if (scope.tableNames !== undefined) {
    text += ` AND ${alias}TABLE_NAME IN (${scope.tableNames.map(() => '?').join(', ') || 'NULL'})`;
    params.push(...scope.tableNames);
  } else {
    text += ` AND ${alias}TABLE_NAME NOT LIKE 'entente\\_%'`;
  }
  return { text, params };
}

/** MariaDB spells JSON as longtext CHECK (json_valid(col)); MySQL < 8.0.16 has no CHECK_CONSTRAINTS at all. */
async function checkConstraints(query: QueryRows, filter: { text: string; params: unknown[] }): Promise<readonly Record<string, unknown>[]> {
  try {
    return await query(`SELECT CONSTRAINT_SCHEMA AS s, TABLE_NAME AS t, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE ${filter.text.replace('TABLE_SCHEMA', 'CONSTRAINT_SCHEMA')}`, filter.params);
  } catch {
    return [];
  }
}

interface RawCatalog {
  readonly info: Record<string, unknown>;
  readonly tables: readonly Record<string, unknown>[];
  readonly columns: readonly Record<string, unknown>[];
  readonly checks: readonly Record<string, unknown>[];
  readonly keys: readonly Record<string, unknown>[];
  readonly referential: readonly Record<string, unknown>[];
}

const text = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString('utf8') : String(value ?? ''));
const key2 = (row: Record<string, unknown>): string => tableKey({ schema: text(row['s']), name: text(row['t']) });

function assemble(raw: RawCatalog, scope: Scope): Introspection {
  const jsonColumns = new Set<string>();
  for (const check of raw.checks) {
    const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(text(check['clause']).trim());
    if (match?.[1] !== undefined) jsonColumns.add(`${key2(check)}\u0000${match[1].replace(/``/g, '`')}`);
  }
  const warnings: IntrospectionWarning[] = [];
  const enums: EnumModel[] = [];
  const enumNames = enumNamer(raw.columns);
  const tables = new Map<string, IntrospectedTable>();
  const columnsByTable = groupBy(raw.columns, key2);
  const keysByTable = groupBy(raw.keys, key2);
  const rules = new Map(raw.referential.map((row) => [`${key2(row)}\u0000${text(row['name'])}`, row]));
  const sortedTables = [...raw.tables]
    .filter((row) => text(row['type']) !== 'SEQUENCE')
    .sort((a, b) => compareCodeUnits(text(a['s']), text(b['s'])) || compareCodeUnits(text(a['t']), text(b['t'])));
  for (const row of sortedTables) {
    const ref: TableRef = { schema: text(row['s']), name: text(row['t']) };
    const isView = text(row['type']) === 'VIEW';
    const codecs = new Map<string, ColumnCodec>();
    const columns = (columnsByTable.get(key2(row)) ?? [])
      .sort((a, b) => Number(a['ordinal']) - Number(b['ordinal']))
      .map((column) => columnModel(column, ref, jsonColumns, codecs, enums, warnings, enumNames));
    const constraints = constraintsOf(keysByTable.get(key2(row)) ?? [], ref, rules, warnings);
    const primaryKey = isView ? null : constraints.primaryKey;
    if (!isView && primaryKey === null) {
      warnings.push({ code: 'NO_PRIMARY_KEY', table: ref, column: null, message: `table ${ref.name} has no primary key: it is read-only to Entente and cannot be captured; add a PRIMARY KEY to share its changes` });
    }
    const model: TableModel = {
      schema: ref.schema,
      name: ref.name,
      kind: isView ? 'view' : /partitioned/i.test(text(row['options'])) ? 'partitioned-table' : 'table',
      comment: nonEmpty(text(row['comment'])),
      columns,
      primaryKey,
      uniqueConstraints: constraints.unique,
      foreignKeys: constraints.foreignKeys,
      writable: !isView && primaryKey !== null,
    };
    tables.set(tableKey(ref), { model, codecs });
  }
  const sqlMode = text(raw.info['sqlMode']);
  if (scope.tableNames === undefined && !/STRICT_(TRANS|ALL)_TABLES/.test(sqlMode)) {
    warnings.push({ code: 'OTHER', table: null, column: null, message: `the server's global sql_mode ('${sqlMode}') is not strict: applications may store truncated or zeroed values that Entente then shares as they are. Add STRICT_TRANS_TABLES: SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',STRICT_TRANS_TABLES') (and in my.cnf)` });
  }
  const model: DatabaseModel = {
    introspectionVersion,
    family: 'mysql',
    serverVersion: text(raw.info['version']),
    database: text(raw.info['db']),
    user: text(raw.info['user']),
    tables: [...tables.values()].map((table) => table.model),
    enums: enums.sort((a, b) => compareCodeUnits(a.schema, b.schema) || compareCodeUnits(a.name, b.name)),
    warnings,
  };
  return { model, tables };
}

function columnModel(row: Record<string, unknown>, ref: TableRef, jsonColumns: ReadonlySet<string>, codecs: Map<string, ColumnCodec>, enums: EnumModel[], warnings: IntrospectionWarning[], enumNames: (schema: string, table: string, column: string) => string): ColumnModel {
  const name = text(row['c']);
  const columnType = text(row['columnType']);
  const codec = codecFor(text(row['dataType']), columnType, jsonColumns.has(`${tableKey(ref)}\u0000${name}`), Number(row['fsp'] ?? 0));
  codecs.set(name, codec);
  const enumName = enumNames(ref.schema, ref.name, name);
  if (codec.kind === 'enum' || codec.kind === 'set') enums.push({ schema: ref.schema, name: enumName, values: codec.labels });
  if (codec.kind === 'geometry' || codec.kind === 'other') {
    warnings.push({ code: 'UNSUPPORTED_TYPE', table: ref, column: name, message: `column ${ref.name}.${name} has type ${columnType}, shared as the database's text form (WKT for geometry) in a String scalar` });
  }
  const extra = text(row['extra']);
  const rawDefault = row['def'] === null || row['def'] === undefined ? null : text(row['def']);
  return {
    name,
    ordinal: Number(row['ordinal']),
    nativeType: codec.kind === 'json' ? 'json' : columnType,
    type: valueTypeFor(codec, enumName),
    nullable: text(row['nullable']) === 'YES',
    // MariaDB prints "no default" of a nullable column as the word NULL.
    defaultExpression: rawDefault === 'NULL' ? null : rawDefault,
    generated: /auto_increment|VIRTUAL GENERATED|STORED GENERATED|PERSISTENT GENERATED/i.test(extra),
    comment: nonEmpty(text(row['comment'])),
  };
}

interface Constraints {
  readonly primaryKey: readonly string[] | null;
  readonly unique: readonly UniqueConstraintModel[];
  readonly foreignKeys: readonly ForeignKeyModel[];
}

function constraintsOf(rows: readonly Record<string, unknown>[], ref: TableRef, rules: ReadonlyMap<string, Record<string, unknown>>, warnings: IntrospectionWarning[]): Constraints {
  const byName = groupBy(rows, (row) => text(row['name']));
  let primaryKey: string[] | null = null;
  const unique: UniqueConstraintModel[] = [];
  const foreignKeys: ForeignKeyModel[] = [];
  for (const [name, parts] of [...byName.entries()].sort((a, b) => compareCodeUnits(a[0], b[0]))) {
    parts.sort((a, b) => Number(a['ordinal']) - Number(b['ordinal']));
    const columns = parts.map((part) => text(part['c']));
    const type = text(parts[0]?.['type']);
    if (type === 'PRIMARY KEY') primaryKey = columns;
    else if (type === 'UNIQUE') unique.push({ name, columns });
    else if (type === 'FOREIGN KEY') {
      const first = parts[0] ?? {};
      foreignKeys.push({ name, columns, references: { schema: text(first['rs']), name: text(first['rt']) }, referencedColumns: parts.map((part) => text(part['rc'])) });
      const rule = rules.get(`${tableKey(ref)}\u0000${name}`);
      const actions = [text(rule?.['deleteRule']), text(rule?.['updateRule'])];
      if (actions.some((action) => action === 'CASCADE' || action === 'SET NULL' || action === 'SET DEFAULT')) {
        warnings.push({ code: 'OTHER', table: ref, column: null, message: `foreign key ${name} on ${ref.name} has ON DELETE/UPDATE ${actions.join('/')}: MySQL does not fire triggers for cascaded changes, so trigger capture misses them; share such tables only with binlog capture, or make the application delete children explicitly` });
      }
    }
  }
  return { primaryKey, unique, foreignKeys };
}

/**
 * MySQL enums belong to a column, not to a named type. They are named after the row and the column:
 * the table name made singular plus the column (orders.status → order_status, categories.kind →
 * category_kind), which reads well as a GraphQL enum (OrderStatus). When two columns of one database
 * would get the same name, both use the full table name instead (orders_status).
 */
function enumNamer(columns: readonly Record<string, unknown>[]): (schema: string, table: string, column: string) => string {
  const preferred = (table: string, column: string): string => `${singular(table)}_${column}`;
  const owners = new Map<string, Set<string>>();
  for (const row of columns) {
    const dataType = text(row['dataType']).toLowerCase();
    if (dataType !== 'enum' && dataType !== 'set') continue;
    const name = `${text(row['s'])}\u0000${preferred(text(row['t']), text(row['c']))}`;
    const set = owners.get(name) ?? new Set<string>();
    set.add(`${text(row['t'])}\u0000${text(row['c'])}`);
    owners.set(name, set);
  }
  return (schema, table, column) => {
    const name = preferred(table, column);
    return (owners.get(`${schema}\u0000${name}`)?.size ?? 1) > 1 ? `${table}_${column}` : name;
  };
}

function singular(name: string): string {
  if (/ies$/i.test(name)) return name.slice(0, -3) + 'y';
  if (/(ss|us|is)$/i.test(name)) return name;
  if (/(ches|shes|xes|sses)$/i.test(name)) return name.slice(0, -2);
  if (/s$/i.test(name)) return name.slice(0, -1);
  return name;
}

function groupBy<T>(rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  return groups;
}

function nonEmpty(value: string): string | null {
  return value === '' ? null : value;
}
