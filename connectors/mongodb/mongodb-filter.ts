// The shared Filter language (connectors/connector.ts) → a MongoDB query document, with the SQL
// connectors' semantics.
//
// SQL evaluates a filter in three-valued logic: a comparison with NULL, or with a missing value, is
// UNKNOWN, and NOT UNKNOWN is still UNKNOWN, so `NOT (price > 10)` does not select rows whose price is
// NULL. MongoDB's query language is two-valued and treats a missing field as null (`{price: {$ne: 5}}`
// selects documents without a price). To keep the SQL semantics, each filter is translated twice:
// `whenTrue` selects the documents where it is TRUE, `whenFalse` those where it is FALSE; the documents
// where it is UNKNOWN are selected by neither. NOT swaps the two (it is pushed down to the leaves, De
// Morgan style); only predicates that are never UNKNOWN (isNull) use $nor.
//
// Leaf semantics, for a field f and a non-null value v (v null makes every comparison UNKNOWN):
// - eq/ne: TRUE/FALSE when f holds a value; values of different BSON type brackets are unequal.
// - lt/lte/gt/gte: only values of the same type bracket as v compare (numbers with numbers, strings with
//   strings by code point under the simple collation, dates with dates, booleans false < true); any
//   other value is UNKNOWN, which is exactly MongoDB's type bracketing.
// - in: TRUE if f equals one of the values; FALSE if it equals none and the list holds no null; an
//   empty list is FALSE for every document.
// - like/ilike: only string values compare; `%` any run of characters, `_` one character, a backslash
//   escapes the next character (PostgreSQL's default LIKE escape). Translated to an anchored $regex with
//   every regex metacharacter escaped; ilike adds the `i` option (simple case folding).
// - isNull: TRUE when f is null or missing; never UNKNOWN.
// Array values: a field whose model type is JSON, list or object may hold arrays, which MongoDB would
// match element-wise; such fields get an `{f: {$not: {$type: 'array'}}}` guard, so an array is never
// equal to, less than or like a scalar (UNKNOWN), and is not null. Columns the model types as scalars
// are trusted to hold scalars.
import { Decimal128 } from 'mongodb';
import type { Filter, Value, ValueType } from '../connector.ts';
import { EntenteError } from '../../common/errors.ts';
import { assertNever } from '../../common/assert.ts';
import { jsonToBson, valueToBson, type BsonValue } from './mongodb-values.ts';

export type MongoQuery = { readonly [key: string]: unknown };

/** The model type of a filterable column; throws a USAGE EntenteError for an unknown column. */
export type ColumnTypeOf = (column: string) => ValueType;

/** Nesting of and/or/not a filter may have; deeper filters are rejected (they come from API callers). */
export const filterDepthMax = 32;
/** Values in one `in` list. */
export const filterInValuesMax = 10_000;

export const matchAll: MongoQuery = Object.freeze({});
/** Selects nothing: every document has an _id, and none is in the empty list. */
export const matchNone: MongoQuery = Object.freeze({ _id: { $in: [] } });

interface Translation {
  readonly whenTrue: MongoQuery;
  readonly whenFalse: MongoQuery;
}

/** The MongoDB query document selecting exactly the documents for which `filter` is TRUE. */
export function translateFilter(filter: Filter | undefined, typeOf: ColumnTypeOf): MongoQuery {
  if (filter === undefined) return matchAll;
  return translate(filter, typeOf, 0).whenTrue;
}

function translate(filter: Filter, typeOf: ColumnTypeOf, depth: number): Translation {
  if (depth > filterDepthMax) throw new EntenteError('LIMIT_EXCEEDED', `The filter nests and/or/not more than ${filterDepthMax} levels; flatten it.`);
  if ('and' in filter) {
    const parts = filter.and.map((part) => translate(part, typeOf, depth + 1));
    return { whenTrue: allOf(parts.map((part) => part.whenTrue)), whenFalse: anyOf(parts.map((part) => part.whenFalse)) };
  }
  if ('or' in filter) {
    const parts = filter.or.map((part) => translate(part, typeOf, depth + 1));
    return { whenTrue: anyOf(parts.map((part) => part.whenTrue)), whenFalse: allOf(parts.map((part) => part.whenFalse)) };
  }
  if ('not' in filter) {
    const inner = translate(filter.not, typeOf, depth + 1);
    return { whenTrue: inner.whenFalse, whenFalse: inner.whenTrue };
  }
  const path = fieldPath(filter.column);
  const type = typeOf(filter.column);
  const guarded = mayHoldArrays(type);
  const leaf = translateLeaf(filter, path, type);
  // An empty `in` list is FALSE for every document, arrays included: nothing to guard.
  if (!guarded || (filter.op === 'in' && filter.values.length === 0)) return leaf;
  const guard = { [path]: { $not: { $type: 'array' } } };
  if (filter.op === 'isNull') {
    const isNull = allOf([{ [path]: null }, guard]);
    return filter.value ? { whenTrue: isNull, whenFalse: { $nor: [isNull] } } : { whenTrue: { $nor: [isNull] }, whenFalse: isNull };
  }
  return { whenTrue: withGuard(leaf.whenTrue, guard), whenFalse: withGuard(leaf.whenFalse, guard) };
}

type Leaf = Exclude<Filter, { readonly and: readonly Filter[] } | { readonly or: readonly Filter[] } | { readonly not: Filter }>;

function translateLeaf(filter: Leaf, path: string, type: ValueType): Translation {
  switch (filter.op) {
    case 'isNull': {
      const isNull = { [path]: null };
      const isNotNull = { [path]: { $ne: null } };
      return filter.value ? { whenTrue: isNull, whenFalse: isNotNull } : { whenTrue: isNotNull, whenFalse: isNull };
    }
    case 'in':
      return translateIn(filter.values, path, type, filter.column);
    case 'eq':
    case 'ne': {
      if (filter.value === null) return unknownEverywhere;
      const value = filterOperand(filter.value, type, filter.column);
      const equal = { [path]: { $eq: value } };
      const unequal = { [path]: { $nin: [value, null] } };
      return filter.op === 'eq' ? { whenTrue: equal, whenFalse: unequal } : { whenTrue: unequal, whenFalse: equal };
    }
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      if (filter.value === null) return unknownEverywhere;
      const value = filterOperand(filter.value, type, filter.column);
      return { whenTrue: { [path]: { [`$${filter.op}`]: value } }, whenFalse: { [path]: { [`$${oppositeOf[filter.op]}`]: value } } };
    }
    case 'like':
    case 'ilike': {
      if (filter.value === null) return unknownEverywhere;
      if (typeof filter.value !== 'string') {
        throw new EntenteError('USAGE', `The ${filter.op} filter on '${filter.column}' needs a string pattern.`, { details: { column: filter.column } });
      }
      const source = likePatternToRegexSource(filter.value);
      const options = filter.op === 'ilike' ? 'i' : '';
      return {
        whenTrue: { [path]: { $regex: source, $options: options } },
        whenFalse: { [path]: { $type: 'string', $not: new RegExp(source, options) } },
      };
    }
    default:
      return assertNever(filter);
  }
}

const oppositeOf = { lt: 'gte', lte: 'gt', gt: 'lte', gte: 'lt' } as const;

const unknownEverywhere: Translation = { whenTrue: matchNone, whenFalse: matchNone };

function translateIn(values: readonly Value[], path: string, type: ValueType, column: string): Translation {
  if (values.length > filterInValuesMax) {
    throw new EntenteError('LIMIT_EXCEEDED', `The 'in' filter on '${column}' lists ${values.length} values; at most ${filterInValuesMax} are allowed. Split the query.`);
  }
  const present = values.filter((value) => value !== null).map((value) => filterOperand(value, type, column));
  const listsNull = present.length < values.length;
  const whenTrue = present.length === 0 ? matchNone : { [path]: { $in: present } };
  // SQL: x IN (a, NULL) is UNKNOWN, never FALSE, when x is not a; x IN () is FALSE for every row.
  const whenFalse = listsNull ? matchNone : values.length === 0 ? matchAll : { [path]: { $nin: [...present, null] } };
  return { whenTrue, whenFalse };
}

export function filterOperand(value: Value, type: ValueType, column: string): BsonValue {
  if (typeof value === 'object' && value !== null) {
    throw new EntenteError('USAGE', `Filters compare '${column}' with scalar values only; lists and objects are not comparable.`, { details: { column } });
  }
  if (type.kind === 'scalar' && type.scalar === 'JSON') return jsonToBson(value);
  // Numbers compare across MongoDB's numeric types, so a comparison needs no exact column type:
  // `price > 10.5` on an Int column is meaningful, and decimal strings compare as Decimal128.
  if (type.kind === 'scalar' && numericScalars.has(type.scalar)) {
    if (typeof value === 'number') return value;
    if (typeof value === 'string' && /^-?(\d+(\.\d*)?|\.\d+)(E[+-]?\d+)?$/i.test(value)) return Decimal128.fromString(value);
  }
  if (type.kind === 'list' || type.kind === 'object') {
    throw new EntenteError('USAGE', `Column '${column}' holds ${type.kind === 'list' ? 'lists' : 'objects'}; only isNull filters apply to it.`, { details: { column } });
  }
  return valueToBson(value, type, column);
}

const numericScalars: ReadonlySet<string> = new Set(['Int', 'Float', 'BigInt', 'Decimal']);

function mayHoldArrays(type: ValueType): boolean {
  return type.kind === 'list' || type.kind === 'object' || (type.kind === 'scalar' && type.scalar === 'JSON');
}

/** A column name as a top-level field path; names MongoDB would read as operators or paths are refused. */
export function fieldPath(column: string): string {
  if (column.length === 0 || column.startsWith('$') || column.includes('.') || column.includes('\0')) {
    throw new EntenteError('USAGE', `'${column}' is not a filterable field name: top-level field names that do not start with '$' and contain no '.'.`, { details: { column } });
  }
  return column;
}

function allOf(parts: readonly MongoQuery[]): MongoQuery {
  if (parts.some((part) => part === matchNone)) return matchNone;
  const useful = parts.filter((part) => part !== matchAll);
  if (useful.length === 0) return matchAll;
  return useful.length === 1 ? (useful[0] as MongoQuery) : { $and: useful };
}

function anyOf(parts: readonly MongoQuery[]): MongoQuery {
  if (parts.some((part) => part === matchAll)) return matchAll;
  const useful = parts.filter((part) => part !== matchNone);
  if (useful.length === 0) return matchNone;
  return useful.length === 1 ? (useful[0] as MongoQuery) : { $or: useful };
}

function withGuard(query: MongoQuery, guard: MongoQuery): MongoQuery {
  return allOf([query, guard]);
}

const regexMetacharacters = /[\\^$.*+?()[\]{}|/-]/;

/**
 * A LIKE pattern as a regular expression source accepted alike by MongoDB (PCRE) and JavaScript:
 * anchored at both ends, `%` → `[\s\S]*`, `_` → `[\s\S]` (so newlines match without the `s` flag,
 * which BSON regexes built from JS do not carry), `$` → end of string only (PCRE's `$` would also
 * match before a final newline), every other character literal.
 */
export function likePatternToRegexSource(pattern: string): string {
  let source = '^';
  const characters = [...pattern];
  for (let index = 0; index < characters.length; index += 1) {
    const character = characters[index] as string;
    if (character === '\\') {
      const next = characters[index + 1];
      index += 1;
      // PostgreSQL rejects a pattern ending in a lone backslash; here it matches a backslash.
      source += escapeRegexCharacter(next ?? '\\');
    } else if (character === '%') source += '[\\s\\S]*';
    else if (character === '_') source += '[\\s\\S]';
    else source += escapeRegexCharacter(character);
  }
  return `${source}(?![\\s\\S])`;
}

function escapeRegexCharacter(character: string): string {
  return regexMetacharacters.test(character) ? `\\${character}` : character;
}
