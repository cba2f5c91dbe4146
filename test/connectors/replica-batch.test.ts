// Goal: folding a height's replica changes per table and key gives the same rows as applying them one by
// one. Method: apply each change list to an in-memory table (the reference), and the folded batches (its
// deletes, then its upserts) to another, and compare; plus the batches' exact shape for a few cases.
import { describe, expect, it } from 'vitest';
import type { ReplicaChange, Row } from '../../connectors/connector.ts';
import { foldReplicaChanges, type ReplicaTableBatch } from '../../connectors/replica-batch.ts';

const keyText = (_table: string, row: Row): string => JSON.stringify([row['id'] ?? null]);
const put = (id: string, values: Row = {}, table = 'items'): ReplicaChange => ({ table, op: 'update', key: { id }, after: { id, ...values } });
const remove = (id: string, table = 'items'): ReplicaChange => ({ table, op: 'delete', key: { id }, after: null });
const move = (from: string, to: string, values: Row = {}): ReplicaChange => ({ table: 'items', op: 'update', key: { id: from }, after: { id: to, ...values } });

type Tables = Map<string, Map<string, Row>>;

function tableOf(tables: Tables, name: string): Map<string, Row> {
  const existing = tables.get(name);
  if (existing !== undefined) return existing;
  const created = new Map<string, Row>();
  tables.set(name, created);
  return created;
}

/** The reference: one change at a time, an upsert setting only the columns it names. */
function applyOneByOne(tables: Tables, changes: readonly ReplicaChange[]): void {
  for (const change of changes) {
    const rows = tableOf(tables, change.table);
    const after = change.op === 'delete' ? null : change.after;
    if (after === null || keyText(change.table, after) !== keyText(change.table, change.key)) rows.delete(keyText(change.table, change.key));
    if (after !== null) rows.set(keyText(change.table, after), { ...rows.get(keyText(change.table, after)), ...after });
  }
}

function applyBatches(tables: Tables, batches: readonly ReplicaTableBatch[]): void {
  for (const batch of batches) {
    const rows = tableOf(tables, batch.table);
    for (const key of batch.deletes) rows.delete(keyText(batch.table, key));
    for (const image of batch.upserts) rows.set(keyText(batch.table, image), { ...rows.get(keyText(batch.table, image)), ...image });
  }
}

function seeded(): Tables {
  return new Map([['items', new Map([[keyText('items', { id: '1' }), { id: '1', a: 'old', b: 'old' }]])]]);
}

describe('foldReplicaChanges', () => {
  it('keeps one image per key, merged in order, and deletes what a height deleted before writing it again', () => {
    const changes = [put('2', { a: 'x', b: 'x' }), put('2', { a: 'y' }), remove('1'), put('1', { a: 'new' }), put('3'), remove('3'), put('4', { a: 'z' }, 'other')];
    expect(foldReplicaChanges(changes, keyText)).toEqual([
      { table: 'items', deletes: [{ id: '1' }, { id: '3' }], upserts: [{ id: '2', a: 'y', b: 'x' }, { id: '1', a: 'new' }] },
      { table: 'other', deletes: [], upserts: [{ id: '4', a: 'z' }] },
    ]);
  });

  it('deletes the old key of an update that moves a row', () => {
    expect(foldReplicaChanges([move('1', '9', { a: 'moved' })], keyText)).toEqual([{ table: 'items', deletes: [{ id: '1' }], upserts: [{ id: '9', a: 'moved' }] }]);
  });

  it('ends with the rows one-by-one application gives, for every ordering of a mixed height', () => {
    const pool = [put('1', { a: 'p' }), put('1', { b: 'q' }), remove('1'), put('2', { a: 'r' }), remove('2'), move('1', '2', { a: 's' }), move('2', '1'), put('3', { b: 't' })];
    // Every ordered selection of 4 changes from the pool (with repeats): 8^4 heights.
    for (let code = 0; code < pool.length ** 4; code += 1) {
      const changes = [0, 1, 2, 3].map((digit) => pool[Math.floor(code / pool.length ** digit) % pool.length]!);
      const expected = seeded();
      applyOneByOne(expected, changes);
      const actual = seeded();
      applyBatches(actual, foldReplicaChanges(changes, keyText));
      expect(actual, JSON.stringify(changes)).toEqual(expected);
    }
  });
});
