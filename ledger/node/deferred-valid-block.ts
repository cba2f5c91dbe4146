// When a ledger node writes its valid block (Tendermint's validValue) to disk.
//
// The valid block is kept only so that a restarted node can propose it again in a later round: it serves
// liveness, not safety (the snapshot's proof-of-lock is what safety needs, and a snapshot restored
// without its block lets that round time out while another proposer goes on). A *locked* node's record
// carries the block itself (stored-snapshot.ts): if every node restarted locked on a value none of them
// held, no height would be decided again, so that case cannot wait for this file. Nearly every height
// commits a few milliseconds after its valid value is set, and the block is then in the block store. So
// writing it at once cost every node one fdatasync per height for nothing, and in the durable-writes loop
// that sync also delayed the next height's prevote. It is written only if its height is still open after
// `delayMs`, well before a failed round's timeouts run out. Both the gateway's ledger node and the
// standalone node use it.

/** Default wait: shorter than any step timeout, so a failed round's valid block is on disk before the next round. */
export const VALID_BLOCK_WRITE_DELAY_MS = 200;

export interface Timers {
  set(delayMs: number, fire: () => void): unknown;
  clear(handle: unknown): void;
}

const nodeTimers: Timers = {
  set: (delayMs, fire) => setTimeout(fire, delayMs),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface DeferredValidBlockOptions {
  /** Writes the block to the valid-block file (DurableWrites.writeValidBlock). */
  readonly write: (bytes: Uint8Array) => void;
  /** The committed head: a block whose height is committed is not written. */
  readonly headHeight: () => number;
  /** Default VALID_BLOCK_WRITE_DELAY_MS. */
  readonly delayMs?: number;
  readonly timers?: Timers;
}

export class DeferredValidBlock {
  private readonly o: DeferredValidBlockOptions;
  private readonly timers: Timers;
  private pending: { height: number; handle: unknown } | null = null;

  constructor(options: DeferredValidBlockOptions) {
    this.o = options;
    this.timers = options.timers ?? nodeTimers;
  }

  /** A new valid block for `height`: replaces one still waiting (only the newest is ever needed). */
  offer(height: number, bytes: Uint8Array): void {
    this.cancel();
    const handle = this.timers.set(this.o.delayMs ?? VALID_BLOCK_WRITE_DELAY_MS, () => {
      this.pending = null;
      if (this.o.headHeight() < height) this.o.write(bytes);
    });
    this.pending = { height, handle };
  }

  /** Blocks up to `height` are stored: a waiting valid block of those heights is not needed any more. */
  committed(height: number): void {
    if (this.pending !== null && this.pending.height <= height) this.cancel();
  }

  cancel(): void {
    if (this.pending === null) return;
    this.timers.clear(this.pending.handle);
    this.pending = null;
  }
}
