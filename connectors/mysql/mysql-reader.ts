// Reads: rows by keys (one statement), filtered lists in keyset order, counts, and children of many
// parents in one window-function statement. Nulls sort as in PostgreSQL (last when ascending, first
// when descending) so every connector pages the same way.
import { EntenteError } from '../../common/errors.ts';
import { assertNever } from '../../common/assert.ts';
import type { Filter, GroupedListQuery, ListPage, ListQuery, OrderTerm, Row, Value } from '../connector.ts';
import type { IntrospectedTable } from './mysql-introspector.ts';
import type { ColumnCodec } from './mysql-types.ts';
import { decodeRead, encodeParam, placeholderFor, selectExpression } from './mysql-values.ts';
import { joinSql, quoteIdentifier, quoteTable, sql, type Sql } from './mysql-sql.ts';

export type RunSql = (statement: Sql) => Promise<readonly Record<string, unknown>[]>;

export interface ReaderLimits {
  readonly pageSizeMax: number;
  readonly keysPerLoadMax: number;
}

export function codecOf(table: IntrospectedTable, column: string): ColumnCodec {
  const codec = table.codecs.get(column);
  if (codec === undefined) {
    throw new EntenteError('USAGE', `table ${table.model.name} has no column '${column}' (columns: ${[...table.codecs.keys()].join(', ')})`);
  }
  return codec;
}

export function selectList(table: IntrospectedTable, columns: readonly string[]): string {
  return columns.map((column) => `${selectExpression(codecOf(table, column), quoteIdentifier(column))} AS ${quoteIdentifier(column)}`).join(', ');
}

export function decodeRow(table: IntrospectedTable, raw: Record<string, unknown>, columns: readonly string[]): Row {
  const row: Record<string, Value> = {};
  for (const column of columns) row[column] = decodeRead(codecOf(table, column), raw[column]);
  return row;
}

export function allColumns(table: IntrospectedTable): readonly string[] {
  return table.model.columns.map((column) => column.name);
}

/** A stable string for a tuple of canonical values, to match rows back to requested keys. */
export function tupleKey(values: readonly Value[]): string {
  return JSON.stringify(values.map((value) => (value === null ? null : typeof value === 'object' ? JSON.stringify(value) : String(value))));
}

/** `(a, b) IN ((?, ?), …)` for tuples of values of these columns. */
export function tuplesIn(table: IntrospectedTable, columns: readonly string[], tuples: readonly (readonly Value[])[]): Sql {
  if (tuples.length === 0) return sql('FALSE');
  const codecs = columns.map((column) => codecOf(table, column));
  const one = `(${codecs.map(placeholderFor).join(', ')})`;
  const params = tuples.flatMap((tuple) => {
    if (tuple.length !== columns.length) throw new EntenteError('USAGE', `a key of ${table.model.name} has ${tuple.length} values; expected ${columns.length} (${columns.join(', ')})`);
    return tuple.map((value, index) => encodeParam(codecs[index] as ColumnCodec, value, columns[index] as string));
  });
  const left = columns.length === 1 ? quoteIdentifier(columns[0] as string) : `(${columns.map(quoteIdentifier).join(', ')})`;
  const list = columns.length === 1 ? tuples.map(() => placeholderFor(codecs[0] as ColumnCodec)).join(', ') : tuples.map(() => one).join(', ');
  return sql(`${left} IN (${list})`, params);
}

export async function loadByKeys(run: RunSql, table: IntrospectedTable, keyColumns: readonly string[], keys: readonly (readonly Value[])[], limits: ReaderLimits): Promise<readonly (Row | null)[]> {
  if (keys.length === 0) return [];
  if (keys.length > limits.keysPerLoadMax) {
    throw new EntenteError('LIMIT_EXCEEDED', `loadByKeys got ${keys.length} keys; at most ${limits.keysPerLoadMax} per call (split the batch, e.g. DataLoader maxBatchSize)`);
  }
  const columns = allColumns(table);
  const where = tuplesIn(table, keyColumns, keys);
  const rows = await run(sql(`SELECT ${selectList(table, columns)} FROM ${quoteTable(table.model)} WHERE ${where.text}`, where.params));
  const byKey = new Map<string, Row>();
  for (const raw of rows) {
    const row = decodeRow(table, raw, columns);
    byKey.set(tupleKey(keyColumns.map((column) => row[column] ?? null)), row);
  }
  return keys.map((key) => byKey.get(tupleKey(key.map((value, index) => decodeRead(codecOf(table, keyColumns[index] as string), encodeParam(codecOf(table, keyColumns[index] as string), value, keyColumns[index] as string))))) ?? null);
}

export function compileFilter(table: IntrospectedTable, filter: Filter | undefined): Sql {
  if (filter === undefined) return sql('TRUE');
  if ('and' in filter) return filter.and.length === 0 ? sql('TRUE') : wrap(joinSql(filter.and.map((part) => compileFilter(table, part)), ' AND '));
  if ('or' in filter) return filter.or.length === 0 ? sql('FALSE') : wrap(joinSql(filter.or.map((part) => compileFilter(table, part)), ' OR '));
  if ('not' in filter) {
    const inner = compileFilter(table, filter.not);
    return sql(`NOT COALESCE(${inner.text}, FALSE)`, inner.params);
  }
  const codec = codecOf(table, filter.column);
  const column = quoteIdentifier(filter.column);
  const bind = (value: Value): unknown => encodeParam(codec, value, filter.column);
  switch (filter.op) {
    case 'isNull':
      return sql(filter.value ? `${column} IS NULL` : `${column} IS NOT NULL`);
    case 'in': {
      // Two-valued logic (see Filter in connector.ts): null members never match.
      const present = filter.values.filter((value) => value !== null);
      if (present.length === 0) return sql('FALSE');
      return sql(`${column} IN (${present.map(() => placeholderFor(codec)).join(', ')})`, present.map(bind));
    }
    default:
      break;
  }
  // A comparison with a null operand matches nothing (use isNull).
  if (filter.value === null) return sql('FALSE');
  switch (filter.op) {
    case 'eq':
      return sql(`${column} = ${placeholderFor(codec)}`, [bind(filter.value)]);
    case 'ne':
      return sql(`${column} <> ${placeholderFor(codec)}`, [bind(filter.value)]);
    case 'lt':
      return ordered(codec, filter.column, '<', filter.value);
    case 'lte':
      return ordered(codec, filter.column, '<=', filter.value);
    case 'gt':
      return ordered(codec, filter.column, '>', filter.value);
    case 'gte':
      return ordered(codec, filter.column, '>=', filter.value);
    case 'like':
      // Case-sensitive whatever the column's collation, as LIKE is in PostgreSQL.
      return sql(`CONVERT(${column} USING utf8mb4) COLLATE utf8mb4_bin LIKE CONVERT(? USING utf8mb4) COLLATE utf8mb4_bin`, [String(filter.value)]);
    case 'ilike':
      // MySQL has no ILIKE: compare lower-cased text under a binary collation (Unicode-aware LOWER).
      return sql(`LOWER(CONVERT(${column} USING utf8mb4)) COLLATE utf8mb4_bin LIKE LOWER(CONVERT(? USING utf8mb4)) COLLATE utf8mb4_bin`, [String(filter.value)]);
    default:
      return assertNever(filter, 'unknown filter operator');
  }
}

/**
 * `column <op> value` in the column's sort order. ENUM columns sort by declaration order (as ORDER BY
 * and PostgreSQL enums do), but MySQL compares an ENUM with a string as text, so compare positions.
 */
function ordered(codec: ColumnCodec, column: string, operator: '<' | '<=' | '>' | '>=', value: Value): Sql {
  if (codec.kind === 'enum') {
    const position = codec.labels.indexOf(String(value));
    if (position < 0) throw new EntenteError('USAGE', `'${String(value)}' is not a label of enum column ${column} (${codec.labels.join(', ')})`);
    return sql(`(${quoteIdentifier(column)} + 0) ${operator} ?`, [position + 1]);
  }
  return sql(`${quoteIdentifier(column)} ${operator} ${placeholderFor(codec)}`, [encodeParam(codec, value, column)]);
}

function wrap(inner: Sql): Sql {
  return sql(`(${inner.text})`, inner.params);
}

const unorderable = new Set(['json', 'geometry', 'bytes']);

/** orderBy, then the primary key (or, without one, every orderable column) ascending: a total order. */
export function effectiveOrder(table: IntrospectedTable, orderBy: readonly OrderTerm[] = []): readonly OrderTerm[] {
  for (const term of orderBy) codecOf(table, term.column);
  const tail = table.model.primaryKey ?? table.model.columns.filter((column) => !unorderable.has(codecOf(table, column.name).kind)).map((column) => column.name);
  const named = new Set(orderBy.map((term) => term.column));
  return [...orderBy, ...tail.filter((column) => !named.has(column)).map((column) => ({ column, direction: 'asc' as const }))];
}

function isNullable(table: IntrospectedTable, column: string): boolean {
  return table.model.columns.find((candidate) => candidate.name === column)?.nullable ?? true;
}

export function orderByClause(table: IntrospectedTable, order: readonly OrderTerm[]): string {
  return order
    .map((term) => {
      const column = quoteIdentifier(term.column);
      const direction = term.direction === 'desc' ? 'DESC' : 'ASC';
      return isNullable(table, term.column) ? `${column} IS NULL ${direction}, ${column} ${direction}` : `${column} ${direction}`;
    })
    .join(', ');
}

/** Rows strictly after the cursor `after` in `order` (nulls last ascending, first descending). */
export function keysetAfter(table: IntrospectedTable, order: readonly OrderTerm[], after: readonly Value[]): Sql {
  if (after.length !== order.length) {
    throw new EntenteError('USAGE', `the cursor has ${after.length} values but the order has ${order.length} columns (${order.map((term) => term.column).join(', ')}); build cursors from ListPage.orderColumns`);
  }
  const alternatives: Sql[] = [];
  for (let index = 0; index < order.length; index += 1) {
    const parts: Sql[] = [];
    for (let previous = 0; previous < index; previous += 1) parts.push(equalTo(table, order[previous] as OrderTerm, after[previous] ?? null));
    parts.push(strictlyAfter(table, order[index] as OrderTerm, after[index] ?? null));
    alternatives.push(wrap(joinSql(parts, ' AND ')));
  }
  return wrap(joinSql(alternatives, ' OR '));
}

function equalTo(table: IntrospectedTable, term: OrderTerm, value: Value): Sql {
  const column = quoteIdentifier(term.column);
  const codec = codecOf(table, term.column);
  return value === null ? sql(`${column} IS NULL`) : sql(`${column} = ${placeholderFor(codec)}`, [encodeParam(codec, value, term.column)]);
}

function strictlyAfter(table: IntrospectedTable, term: OrderTerm, value: Value): Sql {
  const column = quoteIdentifier(term.column);
  const codec = codecOf(table, term.column);
  const nullable = isNullable(table, term.column);
  if (term.direction === 'asc') {
    if (value === null) return sql('FALSE');
    const bound = ordered(codec, term.column, '>', value);
    return nullable ? sql(`(${bound.text} OR ${column} IS NULL)`, bound.params) : bound;
  }
  if (value === null) return sql(`${column} IS NOT NULL`);
  return ordered(codec, term.column, '<', value);
}

function returnedColumns(table: IntrospectedTable, requested: readonly string[] | undefined, order: readonly OrderTerm[]): readonly string[] {
  if (requested === undefined) return allColumns(table);
  const wanted = new Set([...requested, ...(table.model.primaryKey ?? []), ...order.map((term) => term.column)]);
  return allColumns(table).filter((column) => wanted.has(column));
}

export async function list(run: RunSql, table: IntrospectedTable, query: ListQuery, limits: ReaderLimits): Promise<ListPage> {
  const order = effectiveOrder(table, query.orderBy);
  const columns = returnedColumns(table, query.columns, order);
  const pageSize = Math.max(0, Math.min(Math.floor(query.first), limits.pageSizeMax));
  const where = compileFilter(table, query.where);
  const conditions = query.after === undefined ? where : joinSql([where, keysetAfter(table, order, query.after)], ' AND ');
  const statement = sql(`SELECT ${selectList(table, columns)} FROM ${quoteTable(table.model)} WHERE ${conditions.text} ORDER BY ${orderByClause(table, order)} LIMIT ?`, [...conditions.params, pageSize + 1]);
  const [rows, totalCount] = await Promise.all([run(statement), query.includeTotalCount === true ? count(run, table, query.where) : Promise.resolve(undefined)]);
  const page: ListPage = {
    rows: rows.slice(0, pageSize).map((raw) => decodeRow(table, raw, columns)),
    hasNextPage: rows.length > pageSize,
    orderColumns: order,
  };
  return totalCount === undefined ? page : { ...page, totalCount };
}

export async function count(run: RunSql, table: IntrospectedTable, where: Filter | undefined): Promise<number> {
  const condition = compileFilter(table, where);
  const [row] = await run(sql(`SELECT COUNT(*) AS n FROM ${quoteTable(table.model)} WHERE ${condition.text}`, condition.params));
  return Number(row?.['n'] ?? 0);
}

export async function listGrouped(run: RunSql, table: IntrospectedTable, query: GroupedListQuery, limits: ReaderLimits): Promise<readonly (readonly Row[])[]> {
  if (query.groups.length === 0) return [];
  if (query.groups.length > limits.keysPerLoadMax) {
    throw new EntenteError('LIMIT_EXCEEDED', `listGrouped got ${query.groups.length} groups; at most ${limits.keysPerLoadMax} per call`);
  }
  const order = effectiveOrder(table, query.orderBy);
  const columns = allColumns(table);
  const perGroup = Math.max(0, Math.min(Math.floor(query.first), limits.pageSizeMax));
  const inGroups = tuplesIn(table, query.columns, query.groups);
  const where = compileFilter(table, query.where);
  const partition = query.columns.map(quoteIdentifier).join(', ');
  const rank = quoteIdentifier('entente_rank');
  const inner = `SELECT ${selectList(table, columns)}, ROW_NUMBER() OVER (PARTITION BY ${partition} ORDER BY ${orderByClause(table, order)}) AS ${rank} FROM ${quoteTable(table.model)} WHERE ${inGroups.text} AND ${where.text}`;
  const rows = await run(sql(`SELECT * FROM (${inner}) AS grouped WHERE ${rank} <= ? ORDER BY ${rank}`, [...inGroups.params, ...where.params, perGroup]));
  const byGroup = new Map<string, Row[]>();
  for (const raw of rows) {
    const row = decodeRow(table, raw, columns);
    const key = tupleKey(query.columns.map((column) => row[column] ?? null));
    const group = byGroup.get(key);
    if (group === undefined) byGroup.set(key, [row]);
    else group.push(row);
  }
  return query.groups.map((group) => {
    const canonical = group.map((value, index) => {
      const column = query.columns[index] as string;
      return decodeRead(codecOf(table, column), encodeParam(codecOf(table, column), value, column));
    });
    return byGroup.get(tupleKey(canonical)) ?? [];
  });
}

