// Group commit for a node's three durable things: the block log, the consensus snapshot and the valid
// block. Writes go to the page cache at once; one background loop makes them durable with fdatasync on
// libuv's thread pool, so the event loop keeps receiving and verifying messages while the disk works, and
// everything that piled up during one pass is covered by the next one.
//
// Order, per pass of the loop: the blocks written so far and the newest snapshot are synced side by side
// (two fdatasyncs in flight at once; a snapshot asked for while the pass's block sync is still on its way
// joins it, see joinPass), then block waiters (client acknowledgements) run, then every
// `durable` callback of the snapshots the written one replaces (the host's "persisted": a record with a
// later seq covers the earlier ones). So nothing that depends on a record is sent before the record and
// every block before it are durable (the Ready order of ledger/consensus/types.ts). The valid block,
// needed only for liveness after a restart, goes last.
// Syncing side by side halves the disk round trips on a proposer's path (its block h, then its proposal
// for h + 1), but a crash may now leave the snapshot of h + 1 durable and block h not. That snapshot was
// never acted on (its callbacks wait for both syncs), and the slot file still holds the write before it,
// which covers everything this node sent: the reader takes the newest snapshot not ahead of the stored
// head (node-runner.ts, readSnapshot). At most one snapshot can be ahead, because the next pass starts
// only when this pass's blocks are durable.
// A failed fdatasync may have dropped dirty pages: retrying could acknowledge lost data, so it is thrown
// out of the event loop and ends the process (as PostgreSQL does), and a restart re-reads the disk.
import type { SlotFile } from './slot-file.ts';

export interface SyncableLog {
  readonly unsynced: boolean;
  sync(): Promise<void>;
}

export interface DurableWritesOptions {
  /** Ends the process after a failed sync (default: thrown from the event loop; tests catch it). */
  readonly fatal?: (error: unknown) => void;
  /**
   * Start a pass in the event loop's next turn, so every record asked for in this one (messages read
   * together, the replies they cause) shares one fdatasync. The gateway's node, whose blocks are synced
   * by its store, wants it: with passes started at once, the three-gateway bench made 0.81× the heights
   * per second at 500/s (ledger/README.md). The standalone node, which syncs its blocks here, does not:
   * the turn's wait added 2–8 ms to its p50 at 1,000 tx/s (bench:consensus, 4 of 4 rounds).
   */
  readonly groupTurn?: boolean;
}

export class DurableWrites {
  private blockWaiters: (() => void)[] = [];
  private snapshot: { bytes: Uint8Array; durables: (() => void)[]; awaited: boolean } | null = null;
  private validBlock: Uint8Array | null = null;
  private running: Promise<void> | null = null;
  /** A sync failed: nothing is written or acknowledged any more, and the process is being ended. */
  private failure: { readonly error: unknown } | null = null;
  /** The pass of the loop now running, if any. */
  private pass: Pass | null = null;

  private readonly blocks: SyncableLog;
  private readonly snapshotSlots: SlotFile;
  private readonly validBlockSlots: SlotFile;
  private readonly fatal: (error: unknown) => void;
  private readonly groupTurn: boolean;

  constructor(blocks: SyncableLog, snapshotSlots: SlotFile, validBlockSlots: SlotFile, options: DurableWritesOptions = {}) {
    this.blocks = blocks;
    this.snapshotSlots = snapshotSlots;
    this.validBlockSlots = validBlockSlots;
    this.fatal = options.fatal ?? throwFromEventLoop;
    this.groupTurn = options.groupTurn === true;
  }

  /** Runs `fn` once every block written so far is durable (at once when none waits for a sync). */
  afterBlocks(fn: () => void): void {
    if (!this.blocks.unsynced && this.running === null) return fn();
    this.blockWaiters.push(fn);
    this.kick();
  }

  /**
   * Makes `bytes` the snapshot to write; `durable` runs once it (or a newer one) is durable, never
   * synchronously. A snapshot nothing waits for (`awaited` false: the host holds no message for it) is
   * not written by itself: the next awaited one replaces and covers it. A node's record for a new height
   * was one fdatasync of four per height, and it competed with the prevote's.
   */
  writeSnapshot(bytes: Uint8Array, durable: () => void, awaited = true): void {
    const durables = this.snapshot?.durables ?? [];
    durables.push(durable);
    this.snapshot = { bytes, durables, awaited: awaited || (this.snapshot?.awaited ?? false) };
    if (!this.snapshot.awaited) return;
    this.joinPass();
    this.kick();
  }

  /** The valid block to keep for a restart (only the newest is written). */
  writeValidBlock(bytes: Uint8Array): void {
    this.validBlock = bytes;
    this.kick();
  }

  /**
   * Resolves when nothing waits to be written, snapshots nothing waited for included (call before closing
   * the files); rejects with the error of a failed sync.
   */
  async idle(): Promise<void> {
    if (this.snapshot !== null) this.snapshot.awaited = true;
    this.kick();
    while (this.running !== null) await this.running;
    if (this.failure !== null) throw this.failure.error;
  }

  private kick(): void {
    if (this.running !== null || this.failure !== null) return;
    this.running = this.loop().catch((error: unknown) => {
      // Not retried: the failed sync may have dropped dirty pages. Once cleared, `idle()` returns instead
      // of awaiting a settled promise in a microtask loop that kept the process from ever ending.
      this.failure = { error };
      this.running = null;
      this.fatal(error);
    });
  }

  private async loop(): Promise<void> {
    // Never run a durable callback inside the call that asked for it.
    if (this.groupTurn) await new Promise<void>((resolve) => setImmediate(resolve));
    else await Promise.resolve();
    for (;;) {
      if (!(this.blocks.unsynced || this.blockWaiters.length > 0 || this.snapshot?.awaited === true || this.validBlock !== null)) {
        // In the same turn as this last look for work: code that awaited a durable callback runs before
        // this promise settles, and what it asks for must start the loop again, not find it "running".
        this.running = null;
        return;
      }
      const waiters = this.blockWaiters;
      this.blockWaiters = [];
      // Blocks first in the call order: a block written before this pass is covered by this sync.
      const blocksDurable = this.blocks.unsynced || waiters.length > 0 ? this.blocks.sync() : null;
      const pass: Pass = { open: true, snapshot: null, snapshotDurable: null };
      this.pass = pass;
      this.joinPass();
      try {
        await blocksDurable;
      } finally {
        pass.open = false;
        this.pass = null;
      }
      await pass.snapshotDurable;
      for (const waiter of waiters) waiter();
      if (pass.snapshot !== null) for (const durable of pass.snapshot.durables) durable();
      const validBlock = this.validBlock;
      if (validBlock !== null) {
        this.validBlock = null;
        this.validBlockSlots.writeUnsynced(validBlock);
        await this.validBlockSlots.sync();
      }
    }
  }

  /**
   * Writes the awaited snapshot in the running pass, at its start or while its block sync is still on its
   * way (a prevote made while the blocks of the last decision sync): allowed while the pass has written no
   * snapshot yet and no block was written since its sync began, so everything the snapshot follows is in
   * that sync, and at most one snapshot is ever ahead of the durable blocks.
   */
  private joinPass(): void {
    const pass = this.pass;
    if (pass === null || !pass.open || pass.snapshot !== null || this.snapshot?.awaited !== true || this.blocks.unsynced) return;
    pass.snapshot = this.snapshot;
    this.snapshot = null;
    this.snapshotSlots.writeUnsynced(pass.snapshot.bytes);
    pass.snapshotDurable = this.snapshotSlots.sync();
    pass.snapshotDurable.catch(() => undefined); // awaited by the loop; a failure ends the process from there
  }
}

interface Pass {
  /** Still waiting for its block sync: an awaited snapshot may join. */
  open: boolean;
  snapshot: { bytes: Uint8Array; durables: (() => void)[]; awaited: boolean } | null;
  snapshotDurable: Promise<void> | null;
}

function throwFromEventLoop(error: unknown): void {
  setImmediate(() => {
    throw error;
  });
}
