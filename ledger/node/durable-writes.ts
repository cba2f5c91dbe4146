// Group commit for a node's three durable things: the block log, the consensus snapshot and the valid
// block. Writes go to the page cache at once; one background loop makes them durable with fdatasync on
// libuv's thread pool, so the event loop keeps receiving and verifying messages while the disk works, and
// everything that piled up during one fdatasync is covered by the next one.
//
// Order, per pass of the loop: (1) blocks written so far are synced, then their waiters (client
// acknowledgements) run; (2) only then is the newest snapshot written and synced, then every `durable`
// callback of the snapshots it replaces runs (the host's "persisted": a record with a later seq covers
// the earlier ones). So a snapshot of height h+1 never reaches the disk before block h, and nothing that
// depends on a record is sent before that record is durable (the Ready order of
// ledger/consensus/types.ts). (3) The valid block, needed only for liveness after a restart, goes last.
// A failed fdatasync may have dropped dirty pages: retrying could acknowledge lost data, so it is thrown
// out of the event loop and ends the process (as PostgreSQL does), and a restart re-reads the disk.
import type { SlotFile } from './slot-file.ts';

export interface SyncableLog {
  readonly unsynced: boolean;
  sync(): Promise<void>;
}

export class DurableWrites {
  private blockWaiters: (() => void)[] = [];
  private snapshot: { bytes: Uint8Array; durables: (() => void)[] } | null = null;
  private validBlock: Uint8Array | null = null;
  private running: Promise<void> | null = null;

  private readonly blocks: SyncableLog;
  private readonly snapshotSlots: SlotFile;
  private readonly validBlockSlots: SlotFile;

  constructor(blocks: SyncableLog, snapshotSlots: SlotFile, validBlockSlots: SlotFile) {
    this.blocks = blocks;
    this.snapshotSlots = snapshotSlots;
    this.validBlockSlots = validBlockSlots;
  }

  /** Runs `fn` once every block written so far is durable (at once when none waits for a sync). */
  afterBlocks(fn: () => void): void {
    if (!this.blocks.unsynced && this.running === null) return fn();
    this.blockWaiters.push(fn);
    this.kick();
  }

  /** Makes `bytes` the snapshot to write; `durable` runs once it (or a newer one) is durable, never synchronously. */
  writeSnapshot(bytes: Uint8Array, durable: () => void): void {
    const durables = this.snapshot?.durables ?? [];
    durables.push(durable);
    this.snapshot = { bytes, durables };
    this.kick();
  }

  /** The valid block to keep for a restart (only the newest is written). */
  writeValidBlock(bytes: Uint8Array): void {
    this.validBlock = bytes;
    this.kick();
  }

  /** Resolves when nothing waits to be written (call before closing the files). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private kick(): void {
    if (this.running !== null) return;
    this.running = this.loop().then(
      () => {
        this.running = null;
      },
      (error: unknown) => {
        setImmediate(() => {
          throw error;
        });
      },
    );
  }

  private async loop(): Promise<void> {
    await Promise.resolve(); // never run a durable callback inside the call that asked for it
    while (this.blocks.unsynced || this.blockWaiters.length > 0 || this.snapshot !== null || this.validBlock !== null) {
      if (this.blocks.unsynced || this.blockWaiters.length > 0) {
        const waiters = this.blockWaiters;
        this.blockWaiters = [];
        await this.blocks.sync();
        for (const waiter of waiters) waiter();
      }
      // Blocks written while that sync ran come first: their snapshot must not overtake them.
      if (this.blocks.unsynced) continue;
      const snapshot = this.snapshot;
      if (snapshot !== null) {
        this.snapshot = null;
        this.snapshotSlots.writeUnsynced(snapshot.bytes);
        await this.snapshotSlots.sync();
        for (const durable of snapshot.durables) durable();
      }
      const validBlock = this.validBlock;
      if (validBlock !== null) {
        this.validBlock = null;
        this.validBlockSlots.writeUnsynced(validBlock);
        await this.validBlockSlots.sync();
      }
    }
  }
}
