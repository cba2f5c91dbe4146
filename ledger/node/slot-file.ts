// A small durable value rewritten often (the consensus snapshot): two preallocated slot files written in
// turn, each write framed as u64 seq | u32 length | u32 CRC32 | bytes and made durable with one
// fdatasync. A write torn by a crash fails its checksum and the other slot, one write older, is read
// instead. No rename and no directory fsync per write, which halves the cost of write-then-rename.
// `write` syncs on the calling thread; `writeUnsynced` + `sync` let a node keep its event loop running
// while the disk works (the caller must await `sync` before the next write: two unsynced writes would
// put both slots at risk at once, so that is refused).
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, openSync, readSync, fstatSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from '../store/crc32.ts';

const HEADER_BYTES = 16;

export class SlotFile {
  private readonly fds: [number, number];
  private seq = 0;
  private unsyncedFd: number | null = null;

  constructor(directory: string, name: string) {
    const open = (path: string): number => {
      closeSync(openSync(path, 'a')); // create if missing, keep content
      return openSync(path, 'r+');
    };
    this.fds = [open(join(directory, `${name}.0`)), open(join(directory, `${name}.1`))];
    // Make the slot files' directory entries durable once, so later writes need no directory fsync.
    const dir = openSync(directory, 'r');
    fsyncSync(dir);
    closeSync(dir);
  }

  /** The newest intact value, or null when none was ever written. */
  read(): Uint8Array | null {
    return this.readIntact()[0] ?? null;
  }

  /**
   * Every intact value, newest first (at most two: the last write and the one before it). A caller that
   * lets a write become durable before something it depends on (DurableWrites syncs a snapshot beside the
   * blocks it follows) picks the newest one whose dependencies survived.
   */
  readIntact(): Uint8Array[] {
    const slots: { seq: number; bytes: Uint8Array }[] = [];
    for (const fd of this.fds) {
      const slot = readSlot(fd);
      if (slot !== null) slots.push(slot);
    }
    slots.sort((a, b) => b.seq - a.seq);
    this.seq = Math.max(this.seq, slots[0]?.seq ?? 0);
    return slots.map((slot) => slot.bytes);
  }

  /**
   * Makes the newest intact value unreadable (its header overwritten and synced), so the one before it is read
   * from now on and the next write replaces the discarded slot. A torn zeroing leaves the slot either
   * intact (the caller discards it again after a restart) or failing its checksum: never the older one hurt.
   */
  discardNewest(): void {
    if (this.unsyncedFd !== null) throw new Error('SlotFile: discardNewest while a write is not synced yet');
    let newest: { fd: number; seq: number } | null = null;
    let older = 0;
    for (const fd of this.fds) {
      const slot = readSlot(fd);
      if (slot === null) continue;
      if (newest === null || slot.seq > newest.seq) {
        if (newest !== null) older = newest.seq;
        newest = { fd, seq: slot.seq };
      } else {
        older = slot.seq;
      }
    }
    if (newest === null) return;
    // seq 0 is never written, and no value's checksum is all ones with length 0: unreadable either way.
    const header = new Uint8Array(HEADER_BYTES);
    header.fill(0xff, 12);
    writeFully(newest.fd, header, 0);
    fdatasyncSync(newest.fd);
    // The next write goes to fds[(older + 1) % 2], the discarded slot's place when seqs alternate.
    this.seq = older;
  }

  write(bytes: Uint8Array): void {
    fdatasyncSync(this.writeUnsynced(bytes));
    this.unsyncedFd = null;
  }

  /** Writes the next slot without syncing it; returns the slot's descriptor. Call `sync` before the next write. */
  writeUnsynced(bytes: Uint8Array): number {
    if (this.unsyncedFd !== null) throw new Error('SlotFile: the previous write is not synced yet; await sync() first (both slots would be at risk)');
    this.seq += 1;
    const header = new Uint8Array(HEADER_BYTES);
    const view = new DataView(header.buffer);
    view.setUint32(0, Math.floor(this.seq / 0x100000000));
    view.setUint32(4, this.seq >>> 0);
    view.setUint32(8, bytes.length);
    view.setUint32(12, crc32(bytes));
    const fd = this.fds[this.seq % 2]!;
    writeFully(fd, header, 0);
    writeFully(fd, bytes, HEADER_BYTES); // no copy into one frame: the valid block can be megabytes
    this.unsyncedFd = fd;
    return fd;
  }

  /** Makes the last `writeUnsynced` durable (fdatasync on the thread pool). */
  sync(): Promise<void> {
    const fd = this.unsyncedFd;
    if (fd === null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      fdatasync(fd, (error) => {
        if (error !== null) return reject(error);
        if (this.unsyncedFd === fd) this.unsyncedFd = null;
        resolve();
      });
    });
  }

  close(): void {
    for (const fd of this.fds) closeSync(fd);
  }
}

function writeFully(fd: number, bytes: Uint8Array, position: number): void {
  for (let written = 0; written < bytes.length;) written += writeSync(fd, bytes, written, bytes.length - written, position + written);
}

function readSlot(fd: number): { seq: number; bytes: Uint8Array } | null {
  const size = fstatSync(fd).size;
  if (size < HEADER_BYTES) return null;
  const header = new Uint8Array(HEADER_BYTES);
  readSync(fd, header, 0, HEADER_BYTES, 0);
  const view = new DataView(header.buffer);
  const seq = view.getUint32(0) * 0x100000000 + view.getUint32(4);
  const length = view.getUint32(8);
  if (seq === 0 || HEADER_BYTES + length > size) return null;
  const bytes = new Uint8Array(length);
  readSync(fd, bytes, 0, length, HEADER_BYTES);
  return crc32(bytes) === view.getUint32(12) ? { seq, bytes } : null;
}
