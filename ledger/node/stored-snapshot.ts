// The consensus snapshot as both node hosts (ledger-node.ts, node-runner.ts) store it in their slot file.
//
// The valid block normally lives in a file of its own, written only if its height is still open a while
// after it was set (deferred-valid-block.ts): nearly every height commits within milliseconds and the
// block is then in the block store, so writing it at once cost a sync per height for nothing. But a node
// that is *locked* must be able to get its valid block back after a restart: if every node crashed after
// enough of them locked and before any stored the block, they would restart locked on a value none of
// them can show, prevote nil on every other value, and never decide again (the simulator shows it:
// `npm run sim -- --mix calm-4 --crash-all-after-precommit 4 --lose-valid-block`). So while the record
// holds a lock, the valid block rides in the same record: the record's sync, which the precommit waits
// for anyway, makes it durable, with no sync of its own.
import type { DurableRecord, VoteMessage } from '../consensus/types.ts';
import { decodePayload, encodePayload } from '../transport/peer-frames.ts';
import type { HostSnapshot } from './consensus-host.ts';

export interface StoredSnapshot {
  readonly record: DurableRecord;
  readonly proofOfLock: readonly VoteMessage[];
  /** The valid value whose block the node holds (in `lockedBlock`, or in the valid-block file). */
  readonly validBlockId: string | null;
  /** The valid block itself, while the record holds a lock; absent in records written before this field. */
  readonly lockedBlock?: Uint8Array | null;
}

export function encodeSnapshot(snapshot: HostSnapshot): Uint8Array {
  const validBlockId = snapshot.validBlock === null ? null : snapshot.record.validValue;
  const locked = snapshot.record.lockedValue !== null && snapshot.validBlock !== null;
  const stored: StoredSnapshot = { record: snapshot.record, proofOfLock: snapshot.proofOfLock, validBlockId, lockedBlock: locked ? snapshot.validBlock : null };
  return encodePayload(stored);
}

export function decodeSnapshot(bytes: Uint8Array): StoredSnapshot {
  return decodePayload(bytes) as StoredSnapshot;
}

/**
 * The snapshot to hand the host after a restart. The block comes from the record when it carries one,
 * else from the valid-block file (which may hold an older or newer block: the host checks its id).
 */
export function restoredSnapshot(stored: StoredSnapshot, readValidBlockFile: () => Uint8Array | null): HostSnapshot {
  const carried = stored.lockedBlock ?? null;
  const validBlock = stored.validBlockId === null ? null : (carried ?? readValidBlockFile());
  return { record: stored.record, proofOfLock: stored.proofOfLock, validBlock };
}
