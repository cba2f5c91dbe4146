// Aggregation pipelines for lists (ordering, keyset pagination) and grouped lists; pure builders.
//
// Ordering matches the SQL connectors: NULL (or a missing field) sorts LAST ascending and FIRST
// descending, which is PostgreSQL's default. MongoDB sorts null first ascending, so a nullable order
// column gets a helper field (1 when null) sorted before it. Values compare as MongoDB compares them:
// strings by code point (the simple collation), numbers across numeric types, Decimal128 exactly.
//
// Keyset pagination: the effective order is total (it ends with the primary key); the cursor holds the
// last row's values of every order term, and the next page is the documents strictly after it:
//   OR over i of ( AND over j < i of term_j = v_j ) AND term_i is after v_i
// where "after" respects direction and where nulls sort.
import type { OrderTerm, Value, ValueType } from '../connector.ts';
import { EntenteError } from '../../common/errors.ts';
import { fieldPath, filterOperand, matchAll, matchNone, type MongoQuery } from './mongodb-filter.ts';

export interface OrderSpec {
  readonly column: string;
  readonly direction: 'asc' | 'desc';
  readonly nullable: boolean;
  readonly type: ValueType;
}

const nullFlagPrefix = '__entente_null_';
export const rankField = '__entente_rank';

/** The effective order: the asked terms, then the key columns not already in them, ascending. */
export function effectiveOrder(orderBy: readonly OrderTerm[], key: readonly string[]): OrderTerm[] {
  const terms = [...orderBy];
  for (const column of key) if (!terms.some((term) => term.column === column)) terms.push({ column, direction: 'asc' });
  return terms;
}

/** Stages that sort by `order` with SQL null placement; helper fields are removed again. */
export function sortStages(order: readonly OrderSpec[]): { readonly before: MongoQuery[]; readonly sort: Record<string, 1 | -1>; readonly after: MongoQuery[] } {
  const flags: Record<string, unknown> = {};
  const sort: Record<string, 1 | -1> = {};
  order.forEach((term, index) => {
    const path = fieldPath(term.column);
    const direction = term.direction === 'asc' ? 1 : -1;
    if (term.nullable) {
      const flag = `${nullFlagPrefix}${index}`;
      flags[flag] = { $cond: [{ $eq: [{ $ifNull: [`$${path}`, null] }, null] }, 1, 0] };
      sort[flag] = direction;
    }
    sort[path] = direction;
  });
  const flagNames = Object.keys(flags);
  return {
    before: flagNames.length === 0 ? [] : [{ $addFields: flags }],
    sort,
    after: flagNames.length === 0 ? [] : [{ $unset: flagNames }],
  };
}

/** The documents strictly after the cursor `after` in `order`. */
export function keysetCondition(order: readonly OrderSpec[], after: readonly Value[]): MongoQuery {
  if (after.length !== order.length) {
    throw new EntenteError('USAGE', `The cursor holds ${after.length} values but the order has ${order.length} terms; build 'after' from the page's orderColumns.`);
  }
  const alternatives: MongoQuery[] = [];
  const equalities: MongoQuery[] = [];
  order.forEach((term, index) => {
    const value = after[index] ?? null;
    const path = fieldPath(term.column);
    const operand = value === null ? null : filterOperand(value, term.type, term.column);
    const beyond = afterTerm(path, term, operand);
    if (beyond !== matchNone) alternatives.push(equalities.length === 0 ? beyond : { $and: [...equalities, beyond] });
    equalities.push(operand === null ? { [path]: null } : { [path]: { $eq: operand } });
  });
  if (alternatives.length === 0) return matchNone;
  return alternatives.length === 1 ? (alternatives[0] as MongoQuery) : { $or: alternatives };
}

function afterTerm(path: string, term: OrderSpec, operand: unknown): MongoQuery {
  if (term.direction === 'asc') {
    // Nulls sort last ascending: nothing is after a null; after a value come greater values and nulls.
    if (operand === null) return matchNone;
    return term.nullable ? { $or: [{ [path]: { $gt: operand } }, { [path]: null }] } : { [path]: { $gt: operand } };
  }
  // Nulls sort first descending: after a null come all values; after a value, smaller values.
  if (operand === null) return { [path]: { $ne: null } };
  return { [path]: { $lt: operand } };
}

export function combine(parts: readonly MongoQuery[]): MongoQuery {
  const useful = parts.filter((part) => part !== matchAll);
  if (useful.includes(matchNone)) return matchNone;
  if (useful.length === 0) return matchAll;
  return useful.length === 1 ? (useful[0] as MongoQuery) : { $and: useful };
}

export interface GroupedPipelineInput {
  readonly where: MongoQuery;
  readonly groupColumns: readonly string[];
  /** Distinct groups with no null member, as BSON operands. */
  readonly groups: readonly (readonly unknown[])[];
  readonly order: readonly OrderSpec[];
  readonly first: number;
  /** $setWindowFields needs MongoDB 5.0; older servers group with $push and $slice. */
  readonly windowFunctions: boolean;
}

/** One aggregation returning the first `first` documents of every group, in order within each group. */
export function groupedPipeline(input: GroupedPipelineInput): MongoQuery[] {
  const paths = input.groupColumns.map(fieldPath);
  const groupMatch: MongoQuery =
    paths.length === 1
      ? { [paths[0] as string]: { $in: input.groups.map((group) => group[0]) } }
      : { $or: input.groups.map((group) => Object.fromEntries(paths.map((path, index) => [path, { $eq: group[index] }]))) };
  const { before, sort, after } = sortStages(input.order);
  const partition = Object.fromEntries(paths.map((path) => [path, `$${path}`]));
  if (input.windowFunctions) {
    return [
      { $match: combine([input.where, groupMatch]) },
      ...before,
      { $setWindowFields: { partitionBy: partition, sortBy: sort, output: { [rankField]: { $documentNumber: {} } } } },
      { $match: { [rankField]: { $lte: input.first } } },
      { $sort: sort },
      ...after,
      { $unset: [rankField] },
    ];
  }
  return [
    { $match: combine([input.where, groupMatch]) },
    ...before,
    { $sort: sort },
    ...after,
    { $group: { _id: partition, rows: { $push: '$$ROOT' } } },
    { $project: { rows: { $slice: ['$rows', input.first] } } },
    { $unwind: '$rows' },
    { $replaceRoot: { newRoot: '$rows' } },
  ];
}
