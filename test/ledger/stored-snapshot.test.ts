// The consensus snapshot record of both node hosts: while it holds a lock it carries the valid block, so a
// node restarted without its valid-block file (never written: the height was expected to commit within
// milliseconds) can still show the value it is locked on. Without that, a whole-network crash between
// the precommits and the first stored block stops the chain for good (ledger/README.md, Known limits).
import { describe, expect, it } from 'vitest';
import type { DurableRecord } from '../../ledger/consensus/types.ts';
import { encodePayload } from '../../ledger/transport/peer-frames.ts';
import type { HostSnapshot } from '../../ledger/node/consensus-host.ts';
import { decodeSnapshot, encodeSnapshot, restoredSnapshot } from '../../ledger/node/stored-snapshot.ts';

const valueId = 'ab'.repeat(32);
const block = new Uint8Array([1, 2, 3, 4, 5]);
const unlocked: DurableRecord = { height: 7, round: 0, step: 'prevote', lockedValue: null, lockedRound: -1, validValue: valueId, validRound: 0, ownVotes: [], ownProposals: [] };
const locked: DurableRecord = { ...unlocked, step: 'precommit', lockedValue: valueId, lockedRound: 0 };
const noFile = (): Uint8Array | null => null;

describe('stored consensus snapshot', () => {
  it('carries the valid block while the record holds a lock, and restores it without the valid-block file', () => {
    const snapshot: HostSnapshot = { record: locked, validBlock: block, proofOfLock: [] };
    const stored = decodeSnapshot(encodeSnapshot(snapshot));
    expect(stored.lockedBlock).toEqual(block);
    const restored = restoredSnapshot(stored, noFile);
    expect(restored.validBlock).toEqual(block);
    expect(restored.record).toEqual(locked);
  });

  it('leaves an unlocked valid value to the valid-block file (written only if its height stays open)', () => {
    const snapshot: HostSnapshot = { record: unlocked, validBlock: block, proofOfLock: [] };
    const bytes = encodeSnapshot(snapshot);
    expect(decodeSnapshot(bytes).lockedBlock).toBeNull();
    expect(bytes.length).toBeLessThan(encodeSnapshot({ ...snapshot, record: locked }).length);
    expect(restoredSnapshot(decodeSnapshot(bytes), noFile).validBlock).toBeNull();
    const fromFile = new Uint8Array([9, 9]);
    expect(restoredSnapshot(decodeSnapshot(bytes), () => fromFile).validBlock).toEqual(fromFile);
  });

  it('reads a record written before the block rode along (no lockedBlock field) from the valid-block file', () => {
    const older = encodePayload({ record: locked, proofOfLock: [], validBlockId: valueId });
    const fromFile = new Uint8Array([7]);
    expect(restoredSnapshot(decodeSnapshot(older), () => fromFile).validBlock).toEqual(fromFile);
  });

  it('restores no block when the record names no valid value', () => {
    const none: DurableRecord = { ...unlocked, validValue: null, validRound: -1 };
    const stored = decodeSnapshot(encodeSnapshot({ record: none, validBlock: null, proofOfLock: [] }));
    expect(restoredSnapshot(stored, () => block).validBlock).toBeNull();
  });
});
