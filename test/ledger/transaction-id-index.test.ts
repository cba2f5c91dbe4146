// The transaction id index answers exactly as a Map keyed by the id would: the replay rule of every node
// asks it, so a wrong answer would make a node refuse a valid block or accept a repeated one.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TransactionIdIndex } from '../../ledger/store/transaction-id-index.ts';

const randomId = (): string => randomBytes(32).toString('hex');

describe('TransactionIdIndex', () => {
  it('answers like a Map through many doublings, for present and absent ids alike', () => {
    const index = new TransactionIdIndex(16);
    const reference = new Map<string, number>();
    for (let i = 0; i < 50_000; i++) {
      const id = randomId();
      const height = 1 + Math.floor(i / 7);
      index.set(id, height);
      reference.set(id, height);
    }
    expect(index.size).toBe(reference.size);
    for (const [id, height] of reference) expect(index.get(id)).toBe(height);
    for (let i = 0; i < 10_000; i++) expect(index.has(randomId())).toBe(false);
    // 40 bytes a slot, at least three eighths full after a doubling: at most 107 bytes an entry, outside
    // the V8 heap (a Map keyed by the hex id held about 109 bytes of heap an entry).
    expect(index.bytes / index.size).toBeLessThanOrEqual(107);
    // The id's 32 bytes find the same entry as its hex.
    const [someId, someHeight] = [...reference][12_345]!;
    expect(index.get(Buffer.from(someId, 'hex'))).toBe(someHeight);
  });

  it('tells ids apart that share every word but the last, and the first word (the slot) too', () => {
    const index = new TransactionIdIndex(16);
    const base = randomId();
    const variants = ['0', '1', '2', 'f'].map((last) => base.slice(0, 63) + last);
    const sameSlot = ['0', '1', '2'].map((digit) => base.slice(0, 8) + digit.repeat(56));
    [...new Set([...variants, ...sameSlot])].forEach((id, i) => index.set(id, i + 1));
    [...new Set([...variants, ...sameSlot])].forEach((id, i) => expect(index.get(id)).toBe(i + 1));
  });

  it('replaces the value of an id set again, counts it once, and keeps values up to 2^53 - 1 exactly', () => {
    const index = new TransactionIdIndex();
    const id = randomId();
    index.set(id, 3);
    index.set(Buffer.from(id, 'hex'), Number.MAX_SAFE_INTEGER);
    expect(index.size).toBe(1);
    expect(index.get(id)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('answers "not committed" for anything that is not an id, and refuses to record one', () => {
    const index = new TransactionIdIndex();
    const id = randomId();
    index.set(id, 1);
    for (const notAnId of ['', 'abc', id.toUpperCase(), `${id}00`, `${id.slice(0, 62)}zz`, `${id.slice(0, 8)}zz${id.slice(10)}`]) expect(index.get(notAnId)).toBeUndefined();
    expect(index.get(new Uint8Array(31))).toBeUndefined();
    expect(() => index.set('12zz', 1)).toThrow(/64 lowercase hex digits/);
    expect(() => index.set(randomId(), 0)).toThrow(/positive safe integer/);
  });
});
