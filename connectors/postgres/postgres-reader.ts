// Reads in bounded round trips: loadByKeys and listGrouped join the table against a VALUES list of the
// requested tuples (one statement, aligned by the tuple's index, so equal-but-differently-written keys
// such as 1.5 and 1.50 still match); list is one statement, plus one for the total when asked.
// listNested (postgres-nested-reader.ts) builds on list's page statement.
import { EntenteError } from '../../common/errors.ts';
import type { ConnectorLimits, Filter, GroupedListQuery, ListPage, ListQuery, OrderTerm, Row, TableRef, Value } from '../connector.ts';
import {
  columnOf,
  compileFilter,
  decodeRow,
  effectiveOrder,
  keysetCondition,
  orderByClause,
  qualifiedName,
  quoteIdentifier,
  SqlParams,
  type TableCodecs,
} from './postgres-sql.ts';
import type { SqlSession } from './sql-executor.ts';

export type TableLookup = (ref: TableRef) => Promise<TableCodecs>;

const indexColumn = '__entente_index';
const rankColumn = '__entente_rank';

export interface ReaderContext {
  readonly session: SqlSession;
  readonly tables: TableLookup;
  readonly limits: ConnectorLimits;
}

/** `(values ($1::t, 0), …) as k(c…, index)`: typed tuples joined against the table. */
function tuplesSource(table: TableCodecs, columns: readonly string[], tuples: readonly (readonly Value[])[], params: SqlParams): string {
  const typed = columns.map((name) => columnOf(table, name));
  const rows = tuples.map((tuple, index) => {
    if (tuple.length !== columns.length) {
      throw new EntenteError('USAGE', `A key has ${tuple.length} values but ${columns.length} key columns were named (${columns.join(', ')}).`);
    }
    const cells = typed.map(({ column, codec }, position) => `${params.add(codec.toParam(tuple[position] ?? null, column.name))}::${column.nativeType}`);
    return `(${[...cells, String(index)].join(', ')})`;
  });
  return `(values ${rows.join(', ')}) as k(${[...columns.map(quoteIdentifier), indexColumn].join(', ')})`;
}

function joinCondition(columns: readonly string[]): string {
  return columns.map((name) => `t.${quoteIdentifier(name)} = k.${quoteIdentifier(name)}`).join(' and ');
}

export async function loadByKeys(context: ReaderContext, ref: TableRef, keyColumns: readonly string[], keys: readonly (readonly Value[])[]): Promise<readonly (Row | null)[]> {
  if (keys.length === 0) return [];
  const table = await context.tables(ref);
  const results: (Row | null)[] = keys.map(() => null);
  for (let start = 0; start < keys.length; start += context.limits.keysPerLoadMax) {
    const chunk = keys.slice(start, start + context.limits.keysPerLoadMax);
    const params = new SqlParams();
    const sql = `select k.${indexColumn}, t.* from ${qualifiedName(ref)} t join ${tuplesSource(table, keyColumns, chunk, params)} on ${joinCondition(keyColumns)}`;
    for (const row of await context.session.query(sql, params.values)) {
      results[start + Number(row[indexColumn])] = decodeRow(table, row);
    }
  }
  return results;
}

export function clampPageSize(first: number, limits: ConnectorLimits): number {
  if (!Number.isInteger(first) || first < 0) throw new EntenteError('USAGE', `Page size must be a whole number ≥ 0, not ${first}.`);
  return Math.min(first, limits.pageSizeMax);
}

function selectedColumns(table: TableCodecs, wanted: readonly string[] | undefined, always: readonly string[]): string {
  if (wanted === undefined) return 't.*';
  const names = new Set([...wanted, ...always]);
  for (const name of names) columnOf(table, name);
  return table.model.columns.filter((column) => names.has(column.name)).map((column) => `t.${quoteIdentifier(column.name)}`).join(', ');
}

/** The page statement of `list`: filter, keyset, effective order, one row more than the page to learn hasNextPage. */
export function pageStatement(table: TableCodecs, query: ListQuery, limits: ConnectorLimits, params: SqlParams, ilike: boolean, extraColumns: readonly string[]): { readonly sql: string; readonly order: readonly OrderTerm[]; readonly pageSize: number } {
  const order = effectiveOrder(table.model, query.orderBy ?? []);
  for (const term of order) columnOf(table, term.column);
  const pageSize = clampPageSize(query.first, limits);
  const conditions: string[] = [];
  if (query.where !== undefined) conditions.push(compileFilter(query.where, table, params, ilike));
  if (query.after !== undefined) conditions.push(keysetCondition(order, query.after, table, params));
  const columns = selectedColumns(table, query.columns, [...(table.model.primaryKey ?? []), ...order.map((term) => term.column)]);
  const sql =
    `select ${[columns, ...extraColumns].join(', ')} from ${qualifiedName(query.table)} t` +
    (conditions.length > 0 ? ` where ${conditions.join(' and ')}` : '') +
    (order.length > 0 ? ` order by ${orderByClause(order, 't.')}` : '') +
    ` limit ${pageSize + 1}`;
  return { sql, order, pageSize };
}

export async function list(context: ReaderContext, query: ListQuery, ilike: boolean): Promise<ListPage> {
  const table = await context.tables(query.table);
  const params = new SqlParams();
  const { sql, order, pageSize } = pageStatement(table, query, context.limits, params, ilike, []);
  const rows = await context.session.query(sql, params.values);
  const page = rows.slice(0, pageSize).map((row) => decodeRow(table, row));
  const result: ListPage = { rows: page, hasNextPage: rows.length > pageSize, orderColumns: order };
  if (query.includeTotalCount !== true) return result;
  return { ...result, totalCount: await count(context, query.table, query.where, ilike) };
}

export async function count(context: ReaderContext, ref: TableRef, where: Filter | undefined, ilike: boolean): Promise<number> {
  const table = await context.tables(ref);
  const params = new SqlParams();
  const condition = where === undefined ? '' : ` where ${compileFilter(where, table, params, ilike)}`;
  const [row] = await context.session.query(`select count(*) as n from ${qualifiedName(ref)} t${condition}`, params.values);
  return Number(row?.['n'] ?? 0);
}

export async function listGrouped(context: ReaderContext, query: GroupedListQuery, ilike: boolean): Promise<readonly (readonly Row[])[]> {
  const groups: Row[][] = query.groups.map(() => []);
  if (query.groups.length === 0) return groups;
  if (query.groups.length > context.limits.keysPerLoadMax) {
    throw new EntenteError('LIMIT_EXCEEDED', `listGrouped was asked for ${query.groups.length} groups; at most ${context.limits.keysPerLoadMax} per call. Split the batch (DataLoader maxBatchSize).`);
  }
  const table = await context.tables(query.table);
  const order = effectiveOrder(table.model, query.orderBy ?? []);
  for (const term of order) columnOf(table, term.column);
  const pageSize = clampPageSize(query.first, context.limits);
  const params = new SqlParams();
  const source = tuplesSource(table, query.columns, query.groups, params);
  const where = query.where === undefined ? '' : ` where ${compileFilter(query.where, table, params, ilike)}`;
  const window = `row_number() over (partition by k.${indexColumn}${order.length > 0 ? ` order by ${orderByClause(order, 't.')}` : ''})`;
  const sql =
    `select * from (select k.${indexColumn}, ${window} as ${rankColumn}, t.* from ${qualifiedName(query.table)} t join ${source} on ${joinCondition(query.columns)}${where}) ranked` +
    ` where ${rankColumn} <= ${pageSize} order by ${indexColumn}, ${rankColumn}`;
  for (const row of await context.session.query(sql, params.values)) {
    groups[Number(row[indexColumn])]?.push(decodeRow(table, row));
  }
  return groups;
}
