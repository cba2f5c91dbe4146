// The default block store: one append-only segment file of checksummed records plus a rebuildable index.
//
// Fsync policy (see ../README.md): `append` writes the framed record at the tail with one positional write,
// then fdatasync()s the segment, and only then resolves — an acknowledged block is on stable storage. The
// index (16 bytes per height: u64 offset, u32 frame length, u32 CRC-32 of those 12 bytes) is written
// after the segment and never synced: opening re-checks every entry and re-derives missing or damaged
// ones from the segment, so losing it loses nothing. When files are created the directory is fsynced too.
// A crash mid-append leaves at most one partial record at the tail (appends are serialized and each is
// synced before the next starts); opening truncates it ("torn tail") and syncs. Damage followed by valid
// records is not a torn tail and refuses to open. After any write or sync error the store refuses further
// appends until reopened (a failed fsync may have dropped dirty pages; retrying could acknowledge lost data).
import { constants as fsConstants, fdatasyncSync, readSync, writevSync } from 'node:fs';
import { mkdir, open, readFile, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { EntenteError } from '../../common/errors.ts';
import { assert } from '../../common/assert.ts';
import { decodeBlock, decodeBlockHeader, encodeBlock, type Block } from '../block.ts';
import type { Hasher } from '../crypto/hasher.ts';
import { nodeHasher } from '../crypto/sha256-node.ts';
import { ByteReader } from '../encoding/byte-reader.ts';
import { bytesEqual, toHex } from '../encoding/hex.ts';
import { transactionId } from '../transaction.ts';
import type { BlockStore, StoredTransactionLocation, StoreHead, TailReport } from './block-store.ts';
import { crc32 } from './crc32.ts';
import { syncDirectory } from './sync-directory.ts';
import { MemoryTransactionIndex } from './committed-transaction-index.ts';
import { FRAME_HEADER_BYTES, frameHeader, RECORD_BODY_BYTES_MAX, SEGMENT_FILE, scanFrames, validFrameFollows } from './segment-file.ts';

export const INDEX_FILE = 'blocks.idx';
export const LOCK_FILE = 'LOCK';
const INDEX_ENTRY_BYTES = 16;
const ZERO_HASH = new Uint8Array(32);

export interface SegmentStoreOptions {
  /** Open without writing: no lock, no recovery; a torn tail is reported in `tail` and left in place. */
  readonly readOnly?: boolean;
  /** Reported as the head hash at height 0. */
  readonly genesisHash?: Uint8Array;
  readonly hasher?: Hasher;
}

export class SegmentBlockStore implements BlockStore {
  private readonly directory: string;
  private readonly segment: FileHandle;
  private readonly index: FileHandle | null;
  private readonly hasher: Hasher;
  private readonly readOnly: boolean;
  private readonly offsets: number[] = [];
  private readonly frameLengths: number[] = [];
  private headState: StoreHead;
  private tailOffset = 0;
  private queue: Promise<void> = Promise.resolve();
  private failed: Error | null = null;
  private closed = false;
  /** Transaction id → height and position in the block, built on the first lookup (offline tools; a node has its own index). */
  private txLocations: MemoryTransactionIndex | null = null;
  private indexBytesFound = 0;
  tail: TailReport = { kind: 'clean', offset: 0, bytes: 0 };

  private constructor(directory: string, segment: FileHandle, index: FileHandle | null, options: SegmentStoreOptions) {
    this.directory = directory;
    this.segment = segment;
    this.index = index;
    this.hasher = options.hasher ?? nodeHasher;
    this.readOnly = options.readOnly === true;
    this.headState = { height: 0, hash: options.genesisHash ?? ZERO_HASH };
  }

  static async open(directory: string, options: SegmentStoreOptions = {}): Promise<SegmentBlockStore> {
    const readOnly = options.readOnly === true;
    if (!readOnly) {
      await mkdir(directory, { recursive: true });
      await acquireLock(directory);
    }
    const segmentPath = join(directory, SEGMENT_FILE);
    let segment: FileHandle;
    let index: FileHandle | null = null;
    try {
      segment = readOnly ? await open(segmentPath, 'r') : await openCreating(segmentPath);
      if (!readOnly) index = await openCreating(join(directory, INDEX_FILE));
    } catch (error) {
      if (!readOnly) await releaseLock(directory);
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new EntenteError('LEDGER_CORRUPT', missing ? `no ledger at ${directory} (${SEGMENT_FILE} is missing); pass the ledger directory` : `cannot open the ledger at ${directory}: ${(error as Error).message}`, { cause: error });
    }
    const store = new SegmentBlockStore(directory, segment, index, options);
    try {
      await store.recover();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  head(): StoreHead {
    return this.headState;
  }

  append(block: Block, hash: Uint8Array): Promise<void> {
    const result = this.queue.then(() => this.appendNow(block, hash));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Synchronous append for hosts that must block until the block is durable (the consensus host's
   * commitBlock). Same checks, same fsync policy as `append`; never mix with an `append` in flight.
   */
  appendSync(block: Block, hash: Uint8Array): void {
    this.checkWritable();
    const height = block.header.height;
    if (height !== this.headState.height + 1) throw new EntenteError('LEDGER_INVALID', `cannot append block ${height}: the store's head is ${this.headState.height}`);
    if (!bytesEqual(block.header.previousHash, this.headState.hash) && this.headState.height > 0) throw new EntenteError('LEDGER_INVALID', `block ${height} does not link to the stored head`);
    const frame = framedRecord(height, block);
    try {
      writeFullySync(this.segment.fd, frame, this.tailOffset);
      fdatasyncSync(this.segment.fd);
      writeFullySync(this.index!.fd, [indexEntry(this.tailOffset, frameLength(frame))], (height - 1) * INDEX_ENTRY_BYTES);
    } catch (error) {
      this.failed = error as Error;
      throw new EntenteError('LEDGER_CORRUPT', `writing block ${height} failed (${(error as Error).message}); the store refuses further writes — restart the node so it recovers the ledger`, { cause: error });
    }
    this.recordAppended(height, hash, frameLength(frame), block);
  }

  /** Synchronous read by height, checksum-verified (for synchronous hosts). */
  readBlockSync(height: number): Block | null {
    this.checkOpen();
    if (!Number.isInteger(height) || height < 1 || height > this.headState.height) return null;
    const offset = this.offsets[height - 1]!;
    const frame = new Uint8Array(this.frameLengths[height - 1]!);
    const bytesRead = readSync(this.segment.fd, frame, 0, frame.length, offset);
    const body = bytesRead === frame.length ? parseFrame(frame, height) : 'short read';
    if (typeof body === 'string') throw new EntenteError('LEDGER_CORRUPT', `block ${height} at byte ${offset} of ${join(this.directory, SEGMENT_FILE)} is damaged (${body}); run \`entente verify --data ${this.directory}\` and restore from a partner`, { details: { height, offset } });
    return decodeBlock(body);
  }

  async readBlock(height: number): Promise<Block | null> {
    const body = await this.readBody(height);
    return body === null ? null : decodeBlock(body);
  }

  /** The raw block record at `height` (for sync and proofs), checksum-verified. */
  async readBody(height: number): Promise<Uint8Array | null> {
    this.checkOpen();
    if (!Number.isInteger(height) || height < 1 || height > this.headState.height) return null;
    return this.readIndexedBody(height);
  }

  private async readIndexedBody(height: number): Promise<Uint8Array> {
    assert(height >= 1 && height <= this.offsets.length, 'reading a height the index does not hold');
    const offset = this.offsets[height - 1]!;
    const length = this.frameLengths[height - 1]!;
    const frame = new Uint8Array(length);
    const { bytesRead } = await this.segment.read(frame, 0, length, offset);
    const scanned = bytesRead === length ? parseFrame(frame, height) : 'short read';
    if (typeof scanned === 'string') throw new EntenteError('LEDGER_CORRUPT', `block ${height} at byte ${offset} of ${join(this.directory, SEGMENT_FILE)} is damaged (${scanned}); run \`entente verify --data ${this.directory}\` and restore from a partner`, { details: { height, offset } });
    return scanned;
  }

  async locateTransaction(txId: Uint8Array): Promise<StoredTransactionLocation | null> {
    this.checkOpen();
    if (this.txLocations === null) {
      const index = new MemoryTransactionIndex(Number.POSITIVE_INFINITY);
      for (let height = 1; height <= this.headState.height; height++) this.indexTransactions(index, height, (await this.readBlock(height))!);
      this.txLocations = index;
    }
    return this.txLocations.locate(txId);
  }

  truncateAfter(height: number): Promise<void> {
    const result = this.queue.then(() => this.truncateNow(height));
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.segment.close();
    if (this.index !== null) {
      await this.index.close();
      await releaseLock(this.directory);
    }
  }

  private async appendNow(block: Block, hash: Uint8Array): Promise<void> {
    this.checkWritable();
    const height = block.header.height;
    if (height !== this.headState.height + 1) throw new EntenteError('LEDGER_INVALID', `cannot append block ${height}: the store's head is ${this.headState.height}`);
    if (!bytesEqual(block.header.previousHash, this.headState.hash) && this.headState.height > 0) throw new EntenteError('LEDGER_INVALID', `block ${height} does not link to the stored head`);
    const frame = framedRecord(height, block);
    try {
      await writeFully(this.segment, frame, this.tailOffset);
      await this.segment.datasync();
      await writeFully(this.index!, [indexEntry(this.tailOffset, frameLength(frame))], (height - 1) * INDEX_ENTRY_BYTES);
    } catch (error) {
      this.failed = error as Error;
      throw new EntenteError('LEDGER_CORRUPT', `writing block ${height} failed (${(error as Error).message}); the store refuses further writes — restart the node so it recovers the ledger`, { cause: error });
    }
    this.recordAppended(height, hash, frameLength(frame), block);
  }

  private recordAppended(height: number, hash: Uint8Array, frameLength: number, block: Block): void {
    this.offsets.push(this.tailOffset);
    this.frameLengths.push(frameLength);
    this.tailOffset += frameLength;
    this.headState = { height, hash };
    if (this.txLocations !== null) this.indexTransactions(this.txLocations, height, block);
  }

  private async truncateNow(height: number): Promise<void> {
    this.checkWritable();
    if (!Number.isInteger(height) || height < 0 || height > this.headState.height) throw new RangeError(`cannot truncate to ${height}; head is ${this.headState.height}`);
    if (height === this.headState.height) return;
    const offset = this.offsets[height] ?? this.tailOffset;
    await this.segment.truncate(offset);
    await this.segment.datasync();
    await this.index!.truncate(height * INDEX_ENTRY_BYTES);
    this.offsets.length = height;
    this.frameLengths.length = height;
    this.tailOffset = offset;
    this.txLocations = null;
    this.headState = height === 0 ? { height: 0, hash: this.headState.height === 0 ? this.headState.hash : ZERO_HASH } : { height, hash: await this.hashOf(height) };
  }

  /** Rebuilds offsets from the index and the segment, then deals with a torn tail. */
  private async recover(): Promise<void> {
    const segmentSize = (await this.segment.stat()).size;
    const trusted = await this.loadIndex(segmentSize);
    let offset = trusted === 0 ? 0 : this.offsets[trusted - 1]! + this.frameLengths[trusted - 1]!;
    let invalid: { offset: number; height: number; reason: string } | null = null;
    for await (const scan of scanFrames(this.segment, offset, segmentSize, trusted + 1)) {
      if (scan.kind === 'invalid') {
        invalid = scan;
        break;
      }
      this.offsets.push(scan.offset);
      this.frameLengths.push(scan.frameBytes);
      offset = scan.offset + scan.frameBytes;
    }
    this.tailOffset = offset;
    const height = this.offsets.length;
    if (height > 0) this.headState = { height, hash: await this.hashOf(height) };
    if (invalid === null) {
      this.tail = { kind: 'clean', offset: segmentSize, bytes: 0 };
    } else {
      await this.handleInvalidTail(invalid, segmentSize);
    }
    if (this.index !== null && (height > trusted || this.indexBytesFound !== height * INDEX_ENTRY_BYTES)) await this.rewriteIndex(trusted);
  }

  private async handleInvalidTail(invalid: { offset: number; height: number; reason: string }, segmentSize: number): Promise<void> {
    const bytes = segmentSize - invalid.offset;
    if (this.readOnly) {
      this.tail = { kind: 'torn-present', offset: invalid.offset, bytes };
      return;
    }
    const damageFollows = bytes > FRAME_HEADER_BYTES + RECORD_BODY_BYTES_MAX ? invalid.height + 1 : await validFrameFollows(this.segment, invalid.offset, segmentSize, invalid.height);
    if (damageFollows !== null) {
      throw new EntenteError('LEDGER_CORRUPT', `block ${invalid.height} at byte ${invalid.offset} of ${join(this.directory, SEGMENT_FILE)} is damaged (${invalid.reason}) and later blocks follow it, so this is not an interrupted append. Run \`entente verify --data ${this.directory}\`, then restore the directory from a backup or re-sync it from a partner.`, { details: { height: invalid.height, offset: invalid.offset } });
    }
    await this.segment.truncate(invalid.offset);
    await this.segment.datasync();
    this.tail = { kind: 'torn-truncated', offset: invalid.offset, bytes };
  }

  /** Loads index entries that are intact, contiguous and whose last record checks out; returns how many. */
  private async loadIndex(segmentSize: number): Promise<number> {
    // A read-only open uses the index too when there is one; it is re-checked like any other input.
    const bytes = await readFile(join(this.directory, INDEX_FILE)).catch(() => new Uint8Array(0));
    this.indexBytesFound = bytes.length;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let expectedOffset = 0;
    for (let i = 0; (i + 1) * INDEX_ENTRY_BYTES <= bytes.length; i++) {
      const at = i * INDEX_ENTRY_BYTES;
      const offset = view.getUint32(at) * 0x100000000 + view.getUint32(at + 4);
      const length = view.getUint32(at + 8);
      if (crc32(bytes.subarray(at, at + 12)) !== view.getUint32(at + 12) || offset !== expectedOffset || offset + length > segmentSize) break;
      this.offsets.push(offset);
      this.frameLengths.push(length);
      expectedOffset = offset + length;
    }
    // The newest entries may describe records a power loss took away; step back until the last one verifies.
    while (this.offsets.length > 0) {
      const height = this.offsets.length;
      const frame = new Uint8Array(this.frameLengths[height - 1]!);
      await this.segment.read(frame, 0, frame.length, this.offsets[height - 1]!);
      if (typeof parseFrame(frame, height) !== 'string') break;
      this.offsets.pop();
      this.frameLengths.pop();
    }
    return this.offsets.length;
  }

  private async rewriteIndex(from: number): Promise<void> {
    const entries = new Uint8Array((this.offsets.length - from) * INDEX_ENTRY_BYTES);
    for (let h = from; h < this.offsets.length; h++) entries.set(indexEntry(this.offsets[h]!, this.frameLengths[h]!), (h - from) * INDEX_ENTRY_BYTES);
    await this.index!.truncate(from * INDEX_ENTRY_BYTES);
    await writeFully(this.index!, [entries], from * INDEX_ENTRY_BYTES);
  }

  private async hashOf(height: number): Promise<Uint8Array> {
    const body = await this.readIndexedBody(height);
    const reader = new ByteReader(body, 'block record');
    reader.u8('record version');
    const headerBytes = reader.bytesField('header', 1024);
    decodeBlockHeader(headerBytes);
    return this.hasher.sha256(headerBytes);
  }

  private indexTransactions(index: MemoryTransactionIndex, height: number, block: Block): void {
    index.add(height, block.transactionBytes.map((bytes) => toHex(transactionId(this.hasher, bytes))));
  }

  private checkOpen(): void {
    if (this.closed) throw new EntenteError('LEDGER_INVALID', 'the block store is closed');
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new EntenteError('LEDGER_INVALID', 'the block store was opened read-only');
    if (this.failed !== null) throw new EntenteError('LEDGER_CORRUPT', `an earlier write failed (${this.failed.message}); restart the node so it recovers the ledger`);
  }
}

function parseFrame(frame: Uint8Array, height: number): Uint8Array | string {
  if (frame.length < FRAME_HEADER_BYTES) return 'short record';
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint32(0) !== 0x454e5442) return 'no record magic';
  if (view.getUint32(4) !== frame.length - FRAME_HEADER_BYTES) return 'record length mismatch';
  if (view.getUint32(8) * 0x100000000 + view.getUint32(12) !== height) return 'record holds another height';
  const body = frame.subarray(FRAME_HEADER_BYTES);
  if (crc32(body, crc32(frame.subarray(4, 16))) !== view.getUint32(16)) return 'record checksum mismatch';
  return body;
}

function indexEntry(offset: number, length: number): Uint8Array {
  const entry = new Uint8Array(INDEX_ENTRY_BYTES);
  const view = new DataView(entry.buffer);
  view.setUint32(0, Math.floor(offset / 0x100000000));
  view.setUint32(4, offset >>> 0);
  view.setUint32(8, length);
  view.setUint32(12, crc32(entry.subarray(0, 12)));
  return entry;
}


/** The frame header and the encoded block, written side by side (see frameHeader). */
function framedRecord(height: number, block: Block): Uint8Array[] {
  const body = encodeBlock(block);
  assert(body.length <= RECORD_BODY_BYTES_MAX, 'block record exceeds the segment record limit');
  return [frameHeader(height, body), body];
}

function frameLength(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.length;
  return length;
}

/** What is left to write after `written` bytes of `parts` went out (a short write is legal, if rare). */
function unwritten(parts: readonly Uint8Array[], written: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = written;
  for (const part of parts) {
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    rest.push(skip === 0 ? part : part.subarray(skip));
    skip = 0;
  }
  return rest;
}

function writeFullySync(fd: number, parts: readonly Uint8Array[], position: number): void {
  const total = frameLength(parts);
  let written = 0;
  while (written < total) written += writevSync(fd, unwritten(parts, written), position + written);
}

async function writeFully(file: FileHandle, parts: readonly Uint8Array[], position: number): Promise<void> {
  const total = frameLength(parts);
  let written = 0;
  while (written < total) {
    const { bytesWritten } = await file.writev(unwritten(parts, written), position + written);
    written += bytesWritten;
  }
}

/** Opens read-write, creating the file; a newly created file gets its directory entry synced. */
async function openCreating(path: string): Promise<FileHandle> {
  try {
    return await open(path, fsConstants.O_RDWR);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const file = await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT);
  await file.sync();
  await syncDirectory(join(path, '..'));
  return file;
}

/** One writer per directory: a LOCK file holding the writer's pid; a lock left by a dead process is taken over. */
async function acquireLock(directory: string): Promise<void> {
  const path = join(directory, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) {
      throw new EntenteError('LEDGER_INVALID', `the ledger at ${directory} is in use by process ${pid}; stop that node first (or remove ${path} if no such process exists)`);
    }
    await unlink(path).catch(() => undefined);
  }
  throw new EntenteError('LEDGER_INVALID', `could not take the lock ${path}; another process keeps creating it`);
}

async function releaseLock(directory: string): Promise<void> {
  await unlink(join(directory, LOCK_FILE)).catch(() => undefined);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
