// SQL text building: quoted identifiers, numbered parameters, filters and keyset conditions. Every
// value becomes a parameter; every identifier is quoted; nothing here runs a query.
import { EntenteError } from '../../common/errors.ts';
import type { ColumnModel, Filter, OrderTerm, TableModel, TableRef, Value } from '../connector.ts';
import { codecFor, type ColumnCodec } from './postgres-types.ts';
import type { SqlParam } from './sql-executor.ts';

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(ref: TableRef): string {
  return `${quoteIdentifier(ref.schema)}.${quoteIdentifier(ref.name)}`;
}

/** Collects parameter values and hands out their placeholders. */
export class SqlParams {
  readonly values: SqlParam[] = [];

  add(value: SqlParam): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A table model with one codec per column, cached per connector. */
export interface TableCodecs {
  readonly model: TableModel;
  readonly codecs: ReadonlyMap<string, ColumnCodec>;
}

export function tableCodecs(model: TableModel): TableCodecs {
  return { model, codecs: new Map(model.columns.map((column) => [column.name, codecFor(column.type)])) };
}

export function columnOf(table: TableCodecs, name: string): { readonly column: ColumnModel; readonly codec: ColumnCodec } {
  const column = table.model.columns.find((candidate) => candidate.name === name);
  const codec = table.codecs.get(name);
  if (column === undefined || codec === undefined) {
    throw new EntenteError('USAGE', `Table ${table.model.schema}.${table.model.name} has no column "${name}"; the columns are: ${table.model.columns.map((entry) => entry.name).join(', ')}.`);
  }
  return { column, codec };
}

/** Text-form rows → canonical rows, column by column. Unknown columns (helpers) are left out. */
export function decodeRow(table: TableCodecs, row: { readonly [column: string]: string | null }): Record<string, Value> {
  const result: Record<string, Value> = {};
  for (const column of table.model.columns) {
    if (!(column.name in row)) continue;
    const codec = table.codecs.get(column.name);
    result[column.name] = codec === undefined ? (row[column.name] ?? null) : codec.fromText(row[column.name] ?? null);
  }
  return result;
}

export function parameter(table: TableCodecs, params: SqlParams, column: string, value: Value): string {
  return params.add(columnOf(table, column).codec.toParam(value, column));
}

/**
 * Filters in two-valued logic: a comparison with null never matches, and `not x` holds exactly when x
 * does not hold (so `not` of a comparison on a null column is true). Only `not` needs the coalesce;
 * elsewhere SQL's null already behaves as false in WHERE and indexes stay usable.
 */
export function compileFilter(filter: Filter, table: TableCodecs, params: SqlParams, ilike: boolean, prefix = 't.'): string {
  if ('and' in filter) return filter.and.length === 0 ? 'true' : `(${filter.and.map((part) => compileFilter(part, table, params, ilike, prefix)).join(' and ')})`;
  if ('or' in filter) return filter.or.length === 0 ? 'false' : `(${filter.or.map((part) => compileFilter(part, table, params, ilike, prefix)).join(' or ')})`;
  if ('not' in filter) return `(not coalesce(${compileFilter(filter.not, table, params, ilike, prefix)}, false))`;
  const { column, codec } = columnOf(table, filter.column);
  const name = prefix + quoteIdentifier(column.name);
  switch (filter.op) {
    case 'isNull':
      return filter.value ? `${name} is null` : `${name} is not null`;
    case 'in': {
      const present = filter.values.filter((value) => value !== null);
      if (present.length === 0) return 'false';
      return `${name} in (${present.map((value) => params.add(codec.toParam(value, column.name))).join(', ')})`;
    }
    case 'like':
    case 'ilike': {
      if (filter.value === null) return 'false';
      const text = codec.type.kind === 'scalar' && codec.type.scalar === 'String' ? name : `${name}::text`;
      const operator = filter.op === 'ilike' && ilike ? 'ilike' : 'like';
      return `${text} ${operator} ${params.add(String(filter.value))}`;
    }
    default: {
      if (filter.value === null) return 'false';
      const operator = { eq: '=', ne: '<>', lt: '<', lte: '<=', gt: '>', gte: '>=' }[filter.op];
      return `${name} ${operator} ${params.add(codec.toParam(filter.value, column.name))}`;
    }
  }
}

/** The stated order followed by the primary key columns not already in it: a total order for keyset paging. */
export function effectiveOrder(table: TableModel, orderBy: readonly OrderTerm[]): readonly OrderTerm[] {
  const named = new Set(orderBy.map((term) => term.column));
  const keyTerms = (table.primaryKey ?? []).filter((column) => !named.has(column)).map((column): OrderTerm => ({ column, direction: 'asc' }));
  return [...orderBy, ...keyTerms];
}

/** Nulls count as larger than every value: last ascending, first descending (PostgreSQL's default). */
export function orderByClause(order: readonly OrderTerm[], prefix = ''): string {
  if (order.length === 0) return '';
  return order.map((term) => `${prefix}${quoteIdentifier(term.column)} ${term.direction === 'asc' ? 'asc nulls last' : 'desc nulls first'}`).join(', ');
}

/** Rows strictly after the cursor in the effective order, nulls included. */
export function keysetCondition(order: readonly OrderTerm[], after: readonly Value[], table: TableCodecs, params: SqlParams): string {
  if (after.length !== order.length) {
    throw new EntenteError('USAGE', `The cursor has ${after.length} values but the order has ${order.length} columns (${order.map((term) => term.column).join(', ')}); build cursors from ListPage.orderColumns.`);
  }
  const alternatives: string[] = [];
  for (let index = 0; index < order.length; index += 1) {
    const term = order[index] as OrderTerm;
    const value = after[index] ?? null;
    const beyond = strictlyAfter(term, value, table, params);
    if (beyond === null) continue;
    const equalities = order.slice(0, index).map((previous, previousIndex) => equalTo(previous.column, after[previousIndex] ?? null, table, params));
    alternatives.push([...equalities, beyond].join(' and '));
  }
  return alternatives.length === 0 ? 'false' : `(${alternatives.map((alternative) => `(${alternative})`).join(' or ')})`;
}

function strictlyAfter(term: OrderTerm, value: Value, table: TableCodecs, params: SqlParams): string | null {
  const name = quoteIdentifier(term.column);
  if (term.direction === 'asc') return value === null ? null : `(${name} > ${parameter(table, params, term.column, value)} or ${name} is null)`;
  return value === null ? `${name} is not null` : `${name} < ${parameter(table, params, term.column, value)}`;
}

function equalTo(column: string, value: Value, table: TableCodecs, params: SqlParams): string {
  const name = quoteIdentifier(column);
  return value === null ? `${name} is null` : `${name} = ${parameter(table, params, column, value)}`;
}
