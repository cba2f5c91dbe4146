// The valid block is written only when its height stays open (ledger/node/deferred-valid-block.ts).
import { describe, expect, it } from 'vitest';
import { DeferredValidBlock, type Timers } from '../../ledger/node/deferred-valid-block.ts';

function manualTimers(): Timers & { fireAll(): void; pending(): number } {
  const timers = new Map<number, () => void>();
  let next = 0;
  return {
    set: (_delayMs, fire) => {
      timers.set(++next, fire);
      return next;
    },
    clear: (handle) => void timers.delete(handle as number),
    fireAll: () => {
      const due = [...timers.values()];
      timers.clear();
      for (const fire of due) fire();
    },
    pending: () => timers.size,
  };
}

function setup(head = 4): { deferred: DeferredValidBlock; timers: ReturnType<typeof manualTimers>; written: Uint8Array[]; setHead(h: number): void } {
  const timers = manualTimers();
  const written: Uint8Array[] = [];
  let headHeight = head;
  const deferred = new DeferredValidBlock({ write: (bytes) => written.push(bytes), headHeight: () => headHeight, delayMs: 250, timers });
  return { deferred, timers, written, setHead: (h) => void (headHeight = h) };
}

describe('DeferredValidBlock', () => {
  it('writes nothing when the height commits before the delay (the usual case)', () => {
    const { deferred, timers, written } = setup();
    deferred.offer(5, Uint8Array.of(5));
    deferred.committed(5);
    expect(timers.pending()).toBe(0);
    timers.fireAll();
    expect(written).toEqual([]);
  });

  it('writes the block when its height is still open after the delay', () => {
    const { deferred, timers, written } = setup();
    deferred.offer(5, Uint8Array.of(5));
    deferred.committed(4); // an earlier height: not this block's
    timers.fireAll();
    expect(written).toEqual([Uint8Array.of(5)]);
  });

  it('keeps only the newest offer, and skips a block whose height the store reached by sync meanwhile', () => {
    const { deferred, timers, written, setHead } = setup();
    deferred.offer(5, Uint8Array.of(1));
    deferred.offer(5, Uint8Array.of(2)); // a later round's valid value
    expect(timers.pending()).toBe(1);
    timers.fireAll();
    expect(written).toEqual([Uint8Array.of(2)]);
    deferred.offer(6, Uint8Array.of(6));
    setHead(6); // stored without a commit event reaching this object first
    timers.fireAll();
    expect(written).toEqual([Uint8Array.of(2)]);
  });

  it('cancel drops a waiting block (the node is stopping)', () => {
    const { deferred, timers, written } = setup();
    deferred.offer(5, Uint8Array.of(5));
    deferred.cancel();
    timers.fireAll();
    expect(written).toEqual([]);
  });
});
