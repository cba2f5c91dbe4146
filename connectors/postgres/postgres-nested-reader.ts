// listNested: a page of rows and the relations a GraphQL selection follows from them, in ONE statement
// (issue #12: a two-level nested list cost three round trips, one per level, and most of its time was
// spent waiting for them). Each relation is a correlated subquery in its parent's select list:
//   many: (select coalesce(json_agg(<row> order by <order>), '[]') from (select r.* from <child> r
//          where r.<fk> = <parent>.<key> and <where> order by <order> limit <first>) r)
//   one:  (select <row> from <target> r where r.<key> = <parent>.<fk> order by <primary key> limit 1)
// where <row> is json_build_array(array[<columns as text>], <its own relations>…): every column, or
// when the query names its `select` only those plus the join, order and relation columns (the text
// of unread columns is what most of such a statement spends its time building and decoding). The columns
// travel as their PostgreSQL text output, exactly as the driver hands `list` its rows, and are decoded
// by the same codecs; the filter, effective order and page size are compiled as listGrouped compiles
// them, so a nested read returns what list + listGrouped + loadByKeys would.
import { EntenteError } from '../../common/errors.ts';
import type { ColumnModel, ConnectorLimits, NestedListPage, NestedListQuery, NestedRow, RelationQuery, Row, Value } from '../connector.ts';
import { clampPageSize, count, pageStatement, type ReaderContext } from './postgres-reader.ts';
import {
  columnOf, compileFilter, decodeRow, effectiveOrder, orderByClause, qualifiedName, quoteIdentifier, SqlParams, type TableCodecs,
} from './postgres-sql.ts';

/** Relation subqueries in one statement, and how deep they nest: a request cannot build an unbounded statement. */
export const nestedRelationsMax = 32;
export const nestedDepthMax = 6;
/** json_build_array takes at most 100 arguments: the row's cells and one per relation. */
const relationsPerRowMax = 64;
const relatedColumnPrefix = '__entente_related_';

interface ResolvedRelation {
  readonly query: RelationQuery;
  readonly parent: TableCodecs;
  readonly table: TableCodecs;
  /** The columns each related row returns, in the table's order. */
  readonly columns: readonly ColumnModel[];
  readonly relations: readonly ResolvedRelation[];
}

function limitExceeded(message: string): EntenteError {
  return new EntenteError('LIMIT_EXCEEDED', `${message}; read the deeper levels with separate queries.`);
}

/** Looks every table of the tree up (cached by the connector) and checks the columns it names, before any SQL is built. */
async function resolveRelations(context: ReaderContext, parent: TableCodecs, relations: readonly RelationQuery[], depth: number, budget: { remaining: number }): Promise<ResolvedRelation[]> {
  if (relations.length === 0) return [];
  if (depth > nestedDepthMax) throw limitExceeded(`A nested read goes ${depth} levels deep; at most ${nestedDepthMax}`);
  if (relations.length > relationsPerRowMax) throw limitExceeded(`A nested read follows ${relations.length} relations from one row; at most ${relationsPerRowMax}`);
  budget.remaining -= relations.length;
  if (budget.remaining < 0) throw limitExceeded(`A nested read follows more than ${nestedRelationsMax} relations`);
  const resolved: ResolvedRelation[] = [];
  for (const query of relations) {
    if (query.columns.length === 0 || query.columns.length !== query.parentColumns.length) {
      throw new EntenteError('USAGE', `A relation pairs ${query.parentColumns.length} parent columns with ${query.columns.length} columns of ${query.table.schema}.${query.table.name}; name at least one, as many on each side.`);
    }
    const table = await context.tables(query.table);
    for (const name of query.parentColumns) columnOf(parent, name);
    for (const name of query.columns) columnOf(table, name);
    const nested = await resolveRelations(context, table, query.relations ?? [], depth + 1, budget);
    resolved.push({ query, parent, table, columns: returnedColumns(table, query, nested), relations: nested });
  }
  return resolved;
}

/** The selected columns with those the statement and its consumer rely on: join, order, the relations' parent columns. */
function returnedColumns(table: TableCodecs, query: RelationQuery, relations: readonly ResolvedRelation[]): readonly ColumnModel[] {
  if (query.select === undefined) return table.model.columns;
  const order = effectiveOrder(table.model, query.kind === 'many' ? query.orderBy ?? [] : []);
  const needed = new Set([
    ...query.select, ...query.columns, ...order.map((term) => term.column),
    ...relations.flatMap((relation) => relation.query.parentColumns),
  ]);
  return table.model.columns.filter((column) => needed.has(column.name));
}

/**
 * A column's text output. `::text` is the output function for most types, but a few types have their
 * own cast to text that differs from it (character(n) drops its padding, inet/cidr add the netmask):
 * those go through format('%s'), which always calls the output function.
 */
function cellText(alias: string, column: ColumnModel): string {
  const name = `${alias}.${quoteIdentifier(column.name)}`;
  const { type } = column;
  const plainText = /^(text|name|citext|character varying(\(\d+\))?)$/.test(column.nativeType);
  const castIsOutput = type.kind === 'enum' || (type.kind === 'scalar' && (type.scalar === 'String' ? plainText : type.scalar !== 'Other'));
  return castIsOutput ? `${name}::text` : `case when ${name} is null then null else format('%s', ${name}) end`;
}

/** The parent's value as the child column's type, as listGrouped casts its key parameters. */
function parentValue(relation: ResolvedRelation, parentAlias: string, index: number): string {
  const parentColumn = columnOf(relation.parent, relation.query.parentColumns[index]!).column;
  const childColumn = columnOf(relation.table, relation.query.columns[index]!).column;
  const name = `${parentAlias}.${quoteIdentifier(parentColumn.name)}`;
  return parentColumn.nativeType === childColumn.nativeType ? name : `${name}::text::${childColumn.nativeType}`;
}

interface Build {
  readonly params: SqlParams;
  readonly ilike: boolean;
  readonly limits: ConnectorLimits;
  aliases: number;
}

function relationSql(relation: ResolvedRelation, parentAlias: string, build: Build): string {
  const alias = `r${build.aliases++}`;
  const { query, table } = relation;
  const join = query.columns.map((column, index) => `${alias}.${quoteIdentifier(column)} = ${parentValue(relation, parentAlias, index)}`).join(' and ');
  const cells = relation.columns.map((column) => cellText(alias, column));
  const payload = `json_build_array(array[${cells.join(', ')}]::text[]${relation.relations.map((child) => `, ${relationSql(child, alias, build)}`).join('')})`;
  const source = `${qualifiedName(query.table)} ${alias}`;
  if (query.kind === 'one') {
    const order = effectiveOrder(table.model, []);
    return `(select ${payload} from ${source} where ${join}${order.length > 0 ? ` order by ${orderByClause(order, `${alias}.`)}` : ''} limit 1)`;
  }
  const order = effectiveOrder(table.model, query.orderBy ?? []);
  for (const term of order) columnOf(table, term.column);
  const pageSize = clampPageSize(query.first, build.limits);
  const where = query.where === undefined ? '' : ` and ${compileFilter(query.where, table, build.params, build.ilike, `${alias}.`)}`;
  const ordered = order.length > 0 ? ` order by ${orderByClause(order, `${alias}.`)}` : '';
  return `(select coalesce(json_agg(${payload}${ordered}), '[]'::json) from (select ${alias}.* from ${source} where ${join}${where}${ordered} limit ${pageSize}) ${alias})`;
}

type JsonItem = readonly [readonly (string | null)[], ...unknown[]];

function decodeCells(table: TableCodecs, columns: readonly ColumnModel[], cells: readonly (string | null)[]): Row {
  if (cells.length !== columns.length) throw new Error(`nested row of ${table.model.name} has ${cells.length} cells for ${columns.length} columns`);
  const row: Record<string, Value> = {};
  for (let index = 0; index < columns.length; index += 1) {
    const name = columns[index]!.name;
    const codec = table.codecs.get(name);
    const text = cells[index] ?? null;
    row[name] = codec === undefined ? text : codec.fromText(text);
  }
  return row;
}

function decodeItem(relation: ResolvedRelation, item: unknown): NestedRow {
  if (!Array.isArray(item) || !Array.isArray(item[0])) throw new Error('nested row is not [cells, …relations]');
  const [cells, ...related] = item as unknown as JsonItem;
  return { row: decodeCells(relation.table, relation.columns, cells), related: relation.relations.map((child, index) => decodeRelated(child, related[index] ?? null)) };
}

function decodeRelated(relation: ResolvedRelation, value: unknown): readonly NestedRow[] | NestedRow | null {
  if (relation.query.kind === 'one') return value === null ? null : decodeItem(relation, value);
  if (!Array.isArray(value)) throw new Error('nested list is not a JSON array');
  return value.map((item) => decodeItem(relation, item));
}

export async function listNested(context: ReaderContext, query: NestedListQuery, ilike: boolean): Promise<NestedListPage> {
  const table = await context.tables(query.table);
  const relations = await resolveRelations(context, table, query.relations, 1, { remaining: nestedRelationsMax });
  const build: Build = { params: new SqlParams(), ilike, limits: context.limits, aliases: 0 };
  const related = relations.map((relation, index) => `${relationSql(relation, 't', build)} as ${quoteIdentifier(`${relatedColumnPrefix}${index}`)}`);
  const { sql, order, pageSize } = pageStatement(table, query, context.limits, build.params, ilike, related);
  const rows = await context.session.query(sql, build.params.values);
  const page = rows.slice(0, pageSize).map((row): NestedRow => ({
    row: decodeRow(table, row),
    related: relations.map((relation, index) => {
      const text = row[`${relatedColumnPrefix}${index}`] ?? null;
      return decodeRelated(relation, text === null ? null : JSON.parse(text));
    }),
  }));
  const result: NestedListPage = { rows: page, hasNextPage: rows.length > pageSize, orderColumns: order };
  if (query.includeTotalCount !== true) return result;
  return { ...result, totalCount: await count(context, query.table, query.where, ilike) };
}
