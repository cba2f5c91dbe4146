// Goal: the aggregation pipelines the MongoDB connector sends for lists and grouped lists order rows as
// the SQL connectors do (nulls last ascending, first descending, key as tie-breaker), page with keyset
// cursors without skipping or repeating a row, and return the first N rows of every group — with
// $setWindowFields (MongoDB ≥ 5.0) and with the $group/$slice fallback alike.
// Method: seeded generated collections with nullable and missing fields, evaluated by the real `mingo`
// aggregation engine; expectations come from an independent sort written here. The seed is printed
// on failure (replay with MONGO_QUERY_SEED=<seed>).
import { describe, expect, it } from 'vitest';
import { aggregate } from 'mingo';
import type { OrderTerm, Value } from '../../connectors/connector.ts';
import { combine, effectiveOrder, groupedPipeline, keysetCondition, sortStages, type OrderSpec } from '../../connectors/mongodb/mongodb-query.ts';
import { matchAll } from '../../connectors/mongodb/mongodb-filter.ts';
import { seededRandom } from '../support/seeded-random.ts';

type Doc = Record<string, unknown> & { _id: number };

const specs: Readonly<Record<string, Omit<OrderSpec, 'column' | 'direction'>>> = {
  a: { nullable: true, type: { kind: 'scalar', scalar: 'Int' } },
  b: { nullable: true, type: { kind: 'scalar', scalar: 'String' } },
  g: { nullable: false, type: { kind: 'scalar', scalar: 'String' } },
  _id: { nullable: false, type: { kind: 'scalar', scalar: 'Int' } },
};

function generate(next: () => number): Doc[] {
  const count = 3 + Math.floor(next() * 14);
  return Array.from({ length: count }, (_, index) => {
    const document: Doc = { _id: index + 1, g: ['x', 'y', 'z'][Math.floor(next() * 3)] as string };
    const roll = next();
    if (roll > 0.15) document['a'] = roll < 0.3 ? null : Math.floor(next() * 4) - 1;
    const rollB = next();
    if (rollB > 0.15) document['b'] = rollB < 0.3 ? null : ['A', 'a', 'b', 'B', ''][Math.floor(next() * 5)];
    return document;
  });
}

/** SQL order: nulls (and missing) last ascending, first descending; then by value. */
function compareDocs(order: readonly OrderSpec[]) {
  return (left: Doc, right: Doc): number => {
    for (const term of order) {
      const a = left[term.column] ?? null;
      const b = right[term.column] ?? null;
      if (a === b) continue;
      const sign = term.direction === 'asc' ? 1 : -1;
      if (a === null) return sign;
      if (b === null) return -sign;
      return (a < b ? -1 : 1) * sign;
    }
    return 0;
  };
}

function orderOf(terms: readonly OrderTerm[]): OrderSpec[] {
  return effectiveOrder(terms, ['_id']).map((term) => ({ ...term, ...(specs[term.column] as Omit<OrderSpec, 'column' | 'direction'>) }));
}

function randomTerms(next: () => number): OrderTerm[] {
  const columns = ['a', 'b', 'g'].filter(() => next() < 0.5);
  return columns.map((column) => ({ column, direction: next() < 0.5 ? 'asc' : 'desc' }));
}

function listPipeline(order: readonly OrderSpec[], after: readonly Value[] | undefined, limit: number): Record<string, unknown>[] {
  const { before, sort, after: cleanup } = sortStages(order);
  const match = combine(after === undefined ? [matchAll] : [keysetCondition(order, after)]);
  return [{ $match: match }, ...before, { $sort: sort }, ...cleanup, { $limit: limit }];
}

describe('MongoDB list and grouped pipelines', () => {
  const seed = process.env.MONGO_QUERY_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.MONGO_QUERY_SEED);

  it('orders with SQL null placement and pages with keyset cursors, never skipping or repeating (200 cases)', () => {
    const next = seededRandom(seed);
    for (let index = 0; index < 200; index += 1) {
      const documents = generate(next);
      const order = orderOf(randomTerms(next));
      const expected = [...documents].sort(compareDocs(order)).map((document) => document._id);
      const context = `seed ${seed} (MONGO_QUERY_SEED=${seed}) case ${index}: order ${JSON.stringify(order.map((term) => [term.column, term.direction]))} documents ${JSON.stringify(documents)}`;
      const whole = (aggregate(documents, listPipeline(order, undefined, 1000)) as Doc[]).map((document) => document._id);
      expect(whole, context).toEqual(expected);
      const pageSize = 1 + Math.floor(next() * 3);
      const paged: number[] = [];
      let after: Value[] | undefined;
      for (let page = 0; page < 40; page += 1) {
        const rows = aggregate(documents, listPipeline(order, after, pageSize + 1)) as Doc[];
        paged.push(...rows.slice(0, pageSize).map((row) => row._id));
        const last = rows[Math.min(pageSize, rows.length) - 1];
        if (rows.length <= pageSize || last === undefined) break;
        after = order.map((term) => (last[term.column] ?? null) as Value);
      }
      expect(paged, context).toEqual(expected);
    }
  });

  it('returns the first N rows of each group in order, with window functions and without (200 cases)', () => {
    const next = seededRandom(seed + 1);
    for (let index = 0; index < 200; index += 1) {
      const documents = generate(next);
      const order = orderOf(randomTerms(next).filter((term) => term.column !== 'g'));
      const first = 1 + Math.floor(next() * 3);
      const groups = ['x', 'z'].filter(() => next() < 0.8);
      if (groups.length === 0) continue;
      const expected = groups.map((group) => documents.filter((document) => document.g === group).sort(compareDocs(order)).slice(0, first).map((document) => document._id));
      for (const windowFunctions of [true, false]) {
        const pipeline = groupedPipeline({ where: matchAll, groupColumns: ['g'], groups: groups.map((group) => [group]), order, first, windowFunctions });
        const rows = aggregate(documents, pipeline) as Doc[];
        const actual = groups.map((group) => rows.filter((row) => row.g === group).map((row) => row._id));
        expect(actual, `seed ${seed} case ${index} windowFunctions=${windowFunctions}`).toEqual(expected);
        expect(rows.every((row) => Object.keys(row).every((key) => !key.startsWith('__entente')))).toBe(true);
      }
    }
  });
});
