// Goal: the MongoDB query documents that connectors/mongodb/mongodb-filter.ts produces select exactly
// the documents the shared Filter language (SQL three-valued semantics, documented in that module)
// selects — including NULLs, missing fields, NOT over UNKNOWN, `in` lists with NULL, LIKE escapes and
// metacharacters, case-insensitive ILIKE, mixed-type JSON fields with arrays and objects.
// Method: a property test. A seeded generator makes ≥ 1,000 cases of (documents, filter); each
// translated query goes through a BSON serialize/deserialize round trip (so it is a query the driver
// can send) and is evaluated by the real `mingo` MongoDB query engine; an independent evaluator,
// written here from the Filter semantics over the rows' canonical Values, computes the expected
// selection. A failure prints the seed and the case so it replays with MONGO_FILTER_SEED=<seed>.
// A few fixed cases pin down semantics that a generator might hit rarely.
import { describe, expect, it } from 'vitest';
import { Query } from 'mingo';
import { BSON } from 'mongodb';
import type { Filter, Row, Value, ValueType } from '../../connectors/connector.ts';
import { likePatternToRegexSource, translateFilter } from '../../connectors/mongodb/mongodb-filter.ts';
import { bsonToTypedValue, type BsonDocument } from '../../connectors/mongodb/mongodb-values.ts';
import { seededRandom } from '../support/seeded-random.ts';

const casesToRun = 1500;

// ─── Seeded generator ────────────────────────────────────────────────────────────────────────────

class Generator {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
}

// Characters chosen to stress LIKE translation (metacharacters, escapes, wildcards, newline) while
// staying where JavaScript's code-unit order and simple case folding agree with MongoDB's byte order
// and PCRE's folding (no astral-plane characters).
const alphabet = ['a', 'b', 'A', 'B', 'é', 'É', '%', '_', '\\', '.', '*', '$', '(', '[', '^', '\n', ' ', '?', '|'];
const dates = [0, 86_400_000, 1_700_000_000_000, 1_700_000_000_001, 1_000_000_000_000].map((ms) => new Date(ms));
/** Canonical DateTime text (six fractional digits), as rows carry it. */
const canonicalIso = (date: Date): string => date.toISOString().replace(/Z$/, '000Z');

interface ColumnSpec {
  readonly name: string;
  readonly type: ValueType;
  /** A stored BSON value for a document. */
  stored(g: Generator): unknown;
  /** A canonical filter value for comparisons with this column. */
  operand(g: Generator): Value;
}

function randomString(g: Generator, lengthMax: number): string {
  let text = '';
  const length = g.int(0, lengthMax);
  for (let index = 0; index < length; index += 1) text += g.pick(alphabet);
  return text;
}

const scalarJson = (g: Generator): string | number | boolean => g.pick([() => g.int(-2, 2), () => g.int(-2, 2) + 0.5, () => randomString(g, 2), () => g.chance(0.5)])();

const columns: readonly ColumnSpec[] = [
  { name: 'n', type: { kind: 'scalar', scalar: 'Int' }, stored: (g) => g.int(-3, 3), operand: (g) => (g.chance(0.2) ? g.int(-3, 3) + 0.5 : g.int(-3, 3)) },
  { name: 'f', type: { kind: 'scalar', scalar: 'Float' }, stored: (g) => g.int(-4, 4) / 2, operand: (g) => g.int(-4, 4) / 2 },
  { name: 's', type: { kind: 'scalar', scalar: 'String' }, stored: (g) => randomString(g, 3), operand: (g) => randomString(g, 3) },
  { name: 'b', type: { kind: 'scalar', scalar: 'Boolean' }, stored: (g) => g.chance(0.5), operand: (g) => g.chance(0.5) },
  { name: 'd', type: { kind: 'scalar', scalar: 'DateTime' }, stored: (g) => g.pick(dates), operand: (g) => canonicalIso(g.pick(dates)) },
  {
    name: 'j',
    type: { kind: 'scalar', scalar: 'JSON' },
    stored: (g) => g.pick([() => scalarJson(g), () => scalarJson(g), () => [scalarJson(g), g.chance(0.3) ? null : scalarJson(g)], () => ({ x: g.int(0, 1) }), () => []])(),
    operand: scalarJson,
  },
];

function generateDocuments(g: Generator): BsonDocument[] {
  const count = g.int(4, 12);
  const documents: BsonDocument[] = [];
  for (let id = 1; id <= count; id += 1) {
    const document: Record<string, unknown> = { _id: id };
    for (const column of columns) {
      const roll = g.next();
      if (roll < 0.12) continue; // missing
      document[column.name] = roll < 0.24 ? null : column.stored(g);
    }
    documents.push(document);
  }
  return documents;
}

const comparisons = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'] as const;

function generateLeaf(g: Generator, documents: readonly BsonDocument[]): Filter {
  const column = g.pick(columns);
  const roll = g.next();
  // Operands are often values that some document actually holds, so equality cases are not vacuous.
  const operand = (): Value => {
    if (g.chance(0.06)) return null;
    const holder = g.pick(documents)[column.name];
    if (g.chance(0.4) && holder !== undefined && holder !== null && !Array.isArray(holder) && !(typeof holder === 'object' && !(holder instanceof Date))) {
      return holder instanceof Date ? canonicalIso(holder) : (holder as Value);
    }
    return column.operand(g);
  };
  if (roll < 0.12) return { column: column.name, op: 'isNull', value: g.chance(0.5) };
  if (roll < 0.27) {
    const values: Value[] = [];
    const length = g.int(0, 4);
    for (let index = 0; index < length; index += 1) values.push(operand());
    return { column: column.name, op: 'in', values };
  }
  if (roll < 0.45 && (column.name === 's' || column.name === 'j')) {
    return { column: column.name, op: g.chance(0.5) ? 'like' : 'ilike', value: g.chance(0.05) ? null : likePattern(g, documents, column.name) };
  }
  return { column: column.name, op: g.pick(comparisons), value: operand() };
}

function likePattern(g: Generator, documents: readonly BsonDocument[], column: string): string {
  const holder = g.pick(documents)[column];
  if (typeof holder === 'string' && g.chance(0.5)) {
    // Derive a pattern from a stored string: escape it, then replace some characters by wildcards.
    return [...holder].map((character) => (g.chance(0.25) ? g.pick(['%', '_']) : '%_\\'.includes(character) ? `\\${character}` : character)).join('') + (g.chance(0.3) ? '%' : '');
  }
  return randomString(g, 4);
}

function generateFilter(g: Generator, documents: readonly BsonDocument[], depth: number): Filter {
  const roll = g.next();
  if (depth >= 3 || roll < 0.45) return generateLeaf(g, documents);
  const parts = (): Filter[] => Array.from({ length: g.int(0, 3) }, () => generateFilter(g, documents, depth + 1));
  if (roll < 0.65) return { and: parts() };
  if (roll < 0.85) return { or: parts() };
  return { not: generateFilter(g, documents, depth + 1) };
}

// ─── Independent evaluator of the Filter semantics (three-valued) ─────────────────────────────────

type Truth = boolean | null;

function bracket(value: Value): string {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  return 'object';
}

function equalValues(a: Value, b: Value): boolean {
  return bracket(a) === bracket(b) && a === b;
}

function compareValues(a: Value, b: Value): number | null {
  if (bracket(a) !== bracket(b) || bracket(a) === 'object') return null;
  const left = a as number | string | boolean;
  const right = b as number | string | boolean;
  return left < right ? -1 : left > right ? 1 : 0;
}

function likeMatches(text: string, pattern: string, caseInsensitive: boolean): boolean {
  type Token = { readonly kind: 'run' } | { readonly kind: 'one' } | { readonly kind: 'char'; readonly char: string };
  const tokens: Token[] = [];
  const characters = [...pattern];
  for (let index = 0; index < characters.length; index += 1) {
    const character = characters[index] as string;
    if (character === '\\') tokens.push({ kind: 'char', char: characters[++index] ?? '\\' });
    else if (character === '%') tokens.push({ kind: 'run' });
    else if (character === '_') tokens.push({ kind: 'one' });
    else tokens.push({ kind: 'char', char: character });
  }
  const fold = (character: string): string => (caseInsensitive ? character.toUpperCase() : character);
  const input = [...text];
  // matches[i][j]: tokens[i..] match input[j..]
  const memo = new Map<string, boolean>();
  const match = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    const token = tokens[i];
    if (token === undefined) result = j === input.length;
    else if (token.kind === 'run') result = match(i + 1, j) || (j < input.length && match(i, j + 1));
    else if (j >= input.length) result = false;
    else if (token.kind === 'one') result = match(i + 1, j + 1);
    else result = fold(token.char) === fold(input[j] as string) && match(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return match(0, 0);
}

function evaluate(filter: Filter, row: Row): Truth {
  if ('and' in filter) {
    const results = filter.and.map((part) => evaluate(part, row));
    return results.includes(false) ? false : results.includes(null) ? null : true;
  }
  if ('or' in filter) {
    const results = filter.or.map((part) => evaluate(part, row));
    return results.includes(true) ? true : results.includes(null) ? null : false;
  }
  if ('not' in filter) {
    const inner = evaluate(filter.not, row);
    return inner === null ? null : !inner;
  }
  const value = row[filter.column] ?? null;
  if (filter.op === 'isNull') return (value === null) === filter.value;
  if (filter.op === 'in') {
    if (filter.values.length === 0) return false;
    if (value === null || Array.isArray(value)) return null;
    if (filter.values.some((candidate) => candidate !== null && equalValues(value, candidate))) return true;
    return filter.values.includes(null) ? null : false;
  }
  if (filter.value === null || value === null || Array.isArray(value)) return null;
  switch (filter.op) {
    case 'eq':
      return equalValues(value, filter.value);
    case 'ne':
      return !equalValues(value, filter.value);
    case 'like':
    case 'ilike':
      return typeof value === 'string' ? likeMatches(value, filter.value as string, filter.op === 'ilike') : null;
    default: {
      const order = compareValues(value, filter.value);
      if (order === null) return null;
      return filter.op === 'lt' ? order < 0 : filter.op === 'lte' ? order <= 0 : filter.op === 'gt' ? order > 0 : order >= 0;
    }
  }
}

// ─── Running a case ──────────────────────────────────────────────────────────────────────────────

const typeOf = (column: string): ValueType => {
  const spec = columns.find((candidate) => candidate.name === column);
  if (spec === undefined) throw new Error(`unknown column ${column}`);
  return spec.type;
};

function rowOf(document: BsonDocument): Row {
  const row: Record<string, Value> = { _id: document._id as number };
  for (const column of columns) row[column.name] = bsonToTypedValue(document[column.name], column.type);
  return row;
}

function selectedByMingo(documents: readonly BsonDocument[], filter: Filter): number[] {
  const translated = translateFilter(filter, typeOf);
  // Through BSON and back: what the driver would put on the wire, as the server would read it.
  const onTheWire = BSON.deserialize(BSON.serialize({ filter: translated })).filter as Record<string, unknown>;
  const query = new Query(onTheWire);
  return documents.filter((document) => query.test(document as Record<string, unknown>)).map((document) => document._id as number);
}

function selectedBySemantics(documents: readonly BsonDocument[], filter: Filter): number[] {
  return documents.filter((document) => evaluate(filter, rowOf(document)) === true).map((document) => document._id as number);
}

describe('MongoDB filter translation', () => {
  it(`selects what the Filter semantics select, on ${casesToRun} generated cases checked by mingo`, () => {
    const seed = process.env.MONGO_FILTER_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.MONGO_FILTER_SEED);
    const g = new Generator(seed);
    let nonEmptySelections = 0;
    let partialSelections = 0;
    for (let index = 0; index < casesToRun; index += 1) {
      const documents = generateDocuments(g);
      const filter = generateFilter(g, documents, 0);
      const expected = selectedBySemantics(documents, filter);
      const actual = selectedByMingo(documents, filter);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        const replay = `seed ${seed} (replay: MONGO_FILTER_SEED=${seed}), case ${index}`;
        expect.fail(
          `${replay}\nfilter: ${JSON.stringify(filter)}\nquery: ${BSON.EJSON.stringify(translateFilter(filter, typeOf) as never)}\n` +
            `documents: ${BSON.EJSON.stringify(documents as never)}\nexpected ids ${JSON.stringify(expected)}, mingo selected ${JSON.stringify(actual)}`,
        );
      }
      if (expected.length > 0) nonEmptySelections += 1;
      if (expected.length > 0 && expected.length < documents.length) partialSelections += 1;
    }
    // The generator must produce informative cases, not mostly empty or full selections.
    expect(nonEmptySelections).toBeGreaterThan(casesToRun * 0.3);
    expect(partialSelections).toBeGreaterThan(casesToRun * 0.25);
  });

  it('keeps SQL NULL semantics where MongoDB differs by default', () => {
    const documents: BsonDocument[] = [{ _id: 1, n: 5 }, { _id: 2, n: null }, { _id: 3 }, { _id: 4, n: 7 }];
    const ids = (filter: Filter): number[] => selectedByMingo(documents, filter);
    expect(ids({ column: 'n', op: 'ne', value: 5 })).toEqual([4]);
    expect(ids({ not: { column: 'n', op: 'gt', value: 6 } })).toEqual([1]);
    expect(ids({ not: { column: 'n', op: 'in', values: [5, null] } })).toEqual([]);
    expect(ids({ not: { column: 'n', op: 'in', values: [] } })).toEqual([1, 2, 3, 4]);
    expect(ids({ column: 'n', op: 'isNull', value: true })).toEqual([2, 3]);
    expect(ids({ not: { column: 'n', op: 'isNull', value: true } })).toEqual([1, 4]);
    expect(ids({ column: 'n', op: 'eq', value: null })).toEqual([]);
  });

  it('translates LIKE to an anchored, escaped regex that ignores regex metacharacters', () => {
    expect(likePatternToRegexSource('a.b%')).toBe('^a\\.b[\\s\\S]*(?![\\s\\S])');
    expect(likePatternToRegexSource('50\\%_')).toBe('^50%[\\s\\S](?![\\s\\S])');
    const documents: BsonDocument[] = [{ _id: 1, s: 'a.b' }, { _id: 2, s: 'axb' }, { _id: 3, s: 'a.b\n' }, { _id: 4, s: '50%!' }, { _id: 5, s: 'A.B' }];
    const ids = (filter: Filter): number[] => selectedByMingo(documents, filter);
    expect(ids({ column: 's', op: 'like', value: 'a.b' })).toEqual([1]);
    expect(ids({ column: 's', op: 'ilike', value: 'a.b' })).toEqual([1, 5]);
    expect(ids({ column: 's', op: 'like', value: 'a.b_' })).toEqual([3]);
    expect(ids({ column: 's', op: 'like', value: '50\\%_' })).toEqual([4]);
    expect(ids({ not: { column: 's', op: 'like', value: 'a%' } })).toEqual([4, 5]);
  });

  it('rejects field names MongoDB would read as operators or paths, and over-deep filters', () => {
    expect(() => translateFilter({ column: '$where', op: 'eq', value: 1 }, () => ({ kind: 'scalar', scalar: 'JSON' }))).toThrow(/not a filterable field/);
    expect(() => translateFilter({ column: 'a.b', op: 'eq', value: 1 }, () => ({ kind: 'scalar', scalar: 'JSON' }))).toThrow(/not a filterable field/);
    let deep: Filter = { column: 'n', op: 'eq', value: 1 };
    for (let level = 0; level < 40; level += 1) deep = { not: deep };
    expect(() => translateFilter(deep, typeOf)).toThrow(/nests/);
  });
});
