// The block store seam. The store keeps blocks that the validity rules already accepted ("append verified
// block"); it checks only what storage itself needs (the next height) and never re-decides validity.
// Durability contract: when `append` resolves, the block survives kill -9 and power loss.
import type { Block } from '../block.ts';

export interface StoreHead {
  readonly height: number;
  readonly hash: Uint8Array;
}

export interface StoredTransactionLocation {
  readonly height: number;
  /** Position of the transaction in its block. */
  readonly index: number;
}

/** What opening found at the end of the segment file (a torn tail is an unacknowledged, interrupted append). */
export interface TailReport {
  readonly kind: 'clean' | 'torn-truncated' | 'torn-present';
  /** Byte offset where the invalid tail starts (equal to the file size when clean). */
  readonly offset: number;
  readonly bytes: number;
}

export interface BlockStore {
  /** Height 0 (and the genesis hash, when known) before the first block. */
  head(): StoreHead;
  /** Appends the block at head + 1; durable when the promise resolves. Appends are serialized. */
  append(block: Block, hash: Uint8Array): Promise<void>;
  /** The same, blocking until durable, for synchronous hosts; never mixed with an `append` in flight. */
  appendSync(block: Block, hash: Uint8Array): void;
  readBlock(height: number): Promise<Block | null>;
  readBlockSync(height: number): Block | null;
  locateTransaction(txId: Uint8Array): Promise<StoredTransactionLocation | null>;
  /** Removes every block above `height` (sync rollback of an unverified suffix, tests); durable on return. */
  truncateAfter(height: number): Promise<void>;
  readonly tail: TailReport;
  close(): Promise<void>;
}
