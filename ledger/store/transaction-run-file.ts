// One sealed run of the committed-transaction index (committed-transaction-index.ts): every transaction
// id of the blocks firstHeight..lastHeight, sorted, with its location (height, position in the block), in
// one immutable file. A run costs about 2.3 bytes of memory per id while open (its Bloom filter and the
// first id of each page); lookups read one page from the file, and only when the filter says "maybe".
//
// Layout (all integers big-endian; also in ledger/FORMAT.md):
//   header  96 bytes: magic "ENTXRUN1", version, firstHeight, lastHeight, count, pages, bloomBytes,
//           bloomProbes, the hash of block lastHeight (which ties the run to its chain), then zeros,
//           and a CRC-32 of the preceding 92 bytes
//   bloom   bloomBytes (a power of two, at least 4), then a CRC-32 of them
//   fences  pages × 32 bytes (the first id of each page), then a CRC-32 of them
//   pages   PAGE_ENTRIES entries each (the last one may hold fewer), an entry being the 32-byte id, the
//           u32 height and the u32 position, each page followed by a CRC-32 of its entries
// The ids are SHA-256 outputs, so their words are already uniform: the filter's probes come straight from
// them, and the fences split the id space evenly.
//
// A run is written to a temporary name, synced, renamed and the folder synced, so after a crash a run
// either exists whole or not at all. It can always be rebuilt from the blocks, so anything that does not
// check out on opening (size, a CRC) is reported and the caller drops the run and rebuilds it.
import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { assert } from '../../common/assert.ts';
import { EntenteError } from '../../common/errors.ts';
import { crc32 } from './crc32.ts';

const MAGIC = 'ENTXRUN1';
const VERSION = 1;
const HEADER_BYTES = 96;
const HASH_AT = 36;
const HASH_BYTES = 32;
export const ID_BYTES = 32;
const ID_WORDS = ID_BYTES / 4;
const ENTRY_BYTES = ID_BYTES + 8;
const CRC_BYTES = 4;
/** Entries per page: one page (4,004 bytes with its CRC) is what a lookup reads. */
export const PAGE_ENTRIES = 100;
/**
 * At least this many filter bits per id (the filter is rounded up to a power of two, so 12 to 24), and
 * the probes: at most about 0.3% false positives, each costing one page read.
 */
const BLOOM_BITS_PER_ID = 12;
const BLOOM_PROBES = 8;

/** Words per entry as a run is built from: the id's ID_WORDS big-endian words, the height, the position. */
export const ENTRY_WORDS = ID_WORDS + 2;

/** The entries of a run, in any order, ENTRY_WORDS words each. */
export interface RunEntries {
  readonly packed: Uint32Array;
  readonly count: number;
}

/** Entries handled between two yields of a step-wise build: a few milliseconds of work. */
export const BUILD_STEP_ENTRIES = 16_384;

export interface RunLocation {
  readonly height: number;
  readonly position: number;
}

/** The file name of the run holding heights first..last: sortable, so runs list in height order. */
export function runFileName(firstHeight: number, lastHeight: number): string {
  return `run-${String(firstHeight).padStart(12, '0')}-${String(lastHeight).padStart(12, '0')}.txr`;
}

/** firstHeight and lastHeight from a run's file name; null for any other name. */
export function parseRunFileName(name: string): { readonly firstHeight: number; readonly lastHeight: number } | null {
  const match = /^run-(\d{12})-(\d{12})\.txr$/.exec(name);
  if (match === null) return null;
  return { firstHeight: Number(match[1]), lastHeight: Number(match[2]) };
}

function bloomBit(key: Uint32Array, offset: number, probe: number, mask: number): number {
  // Double hashing over two independent words of a uniform id, in 32-bit arithmetic.
  return (key[offset + 1]! + Math.imul(probe, key[offset + 2]! | 1)) & mask;
}

function compareKeys(a: Uint32Array, aOffset: number, b: Uint32Array, bOffset: number): number {
  for (let word = 0; word < ID_WORDS; word++) {
    const x = a[aOffset + word]!;
    const y = b[bOffset + word]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The order of the entries by id: counting sort on the top bits of the first word (uniform; about as many
 * buckets as ids, so each holds one or two), then insertion sort inside each bucket. A comparison sort of
 * a million ids took about a second; this takes a few percent of that. Yields every BUILD_STEP_ENTRIES.
 */
function* sortSteps(packed: Uint32Array, count: number): Generator<void, Uint32Array> {
  const bucketBits = Math.min(24, Math.max(1, Math.ceil(Math.log2(Math.max(2, count)))));
  const shift = 32 - bucketBits;
  const bucketCount = 2 ** bucketBits;
  const starts = new Uint32Array(bucketCount + 1);
  for (let i = 0; i < count; i++) {
    starts[(packed[i * ENTRY_WORDS]! >>> shift) + 1]! += 1;
    if (i % BUILD_STEP_ENTRIES === BUILD_STEP_ENTRIES - 1) yield;
  }
  for (let b = 0; b < bucketCount; b++) starts[b + 1]! += starts[b]!;
  const next = starts.slice(0, bucketCount);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    order[next[packed[i * ENTRY_WORDS]! >>> shift]!++] = i;
    if (i % BUILD_STEP_ENTRIES === BUILD_STEP_ENTRIES - 1) yield;
  }
  for (let b = 0; b < bucketCount; b++) {
    for (let i = starts[b]! + 1; i < starts[b + 1]!; i++) {
      const moving = order[i]!;
      let j = i;
      while (j > starts[b]! && compareEntries(packed, order[j - 1]!, moving) > 0) {
        order[j] = order[j - 1]!;
        j -= 1;
      }
      order[j] = moving;
    }
    if (b % BUILD_STEP_ENTRIES === BUILD_STEP_ENTRIES - 1) yield;
  }
  return order;
}

function compareEntries(packed: Uint32Array, a: number, b: number): number {
  return compareKeys(packed, a * ENTRY_WORDS, packed, b * ENTRY_WORDS);
}

/** Runs a step-wise computation to its end without yielding the thread. */
export function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/** The entries' order by id (sortSteps, run to its end). */
export function sortedOrder(packed: Uint32Array, count: number): Uint32Array {
  return runToEnd(sortSteps(packed, count));
}

function readFullySync(fd: number, bytes: Uint8Array, position: number): number {
  let read = 0;
  while (read < bytes.length) {
    const got = readSync(fd, bytes, read, bytes.length - read, position + read);
    if (got === 0) break;
    read += got;
  }
  return read;
}

/** Words per page with its CRC. */
const PAGE_WORDS = (PAGE_ENTRIES * ENTRY_BYTES + CRC_BYTES) / 4;

/**
 * A run's bytes, built in memory: sorting, the filter, the fences and the pages; about 0.3 s of work for a
 * million ids, mostly cache misses, so it yields every BUILD_STEP_ENTRIES (drive it with runToEnd, or
 * between event-loop turns). Writing the bytes is writeRunFile's job.
 */
export function* buildRunSteps(firstHeight: number, lastHeight: number, lastBlockHash: Uint8Array, entries: RunEntries): Generator<void, Uint8Array> {
  const { packed, count } = entries;
  assert(count > 0 && firstHeight >= 1 && lastHeight >= firstHeight && lastHeight < 2 ** 32, 'a run holds ids of heights 1..2^32 - 1');
  assert(lastBlockHash.length === HASH_BYTES, 'a block hash is 32 bytes');
  const order = yield* sortSteps(packed, count);
  const pages = Math.ceil(count / PAGE_ENTRIES);
  // At least 4 bytes, so every later section starts on a 4-byte boundary (the words are written as such).
  const bloomBytes = 2 ** Math.max(5, Math.ceil(Math.log2(count * BLOOM_BITS_PER_ID))) / 8;
  const bloomMask = bloomBytes * 8 - 1;
  const bloomStart = HEADER_BYTES;
  const fencesStart = bloomStart + bloomBytes + CRC_BYTES;
  const pagesStart = fencesStart + pages * ID_BYTES + CRC_BYTES;
  const fileBytes = pagesStart + count * ENTRY_BYTES + pages * CRC_BYTES;
  const file = new Uint8Array(fileBytes);
  const view = new DataView(file.buffer);
  const bloom = file.subarray(bloomStart, bloomStart + bloomBytes);
  // Entries as native words (fast), turned big-endian by native passes (Buffer#swap32) below.
  const body = new Uint32Array(file.buffer, pagesStart, (fileBytes - pagesStart) / 4);
  const fences = new Uint32Array(file.buffer, fencesStart, pages * ID_WORDS);
  for (let n = 0; n < count; n++) {
    const offset = order[n]! * ENTRY_WORDS;
    if (n > 0) assert(compareKeys(packed, order[n - 1]! * ENTRY_WORDS, packed, offset) < 0, 'a run holds each transaction id once');
    const page = (n / PAGE_ENTRIES) | 0;
    const at = page * PAGE_WORDS + (n - page * PAGE_ENTRIES) * ENTRY_WORDS;
    for (let word = 0; word < ENTRY_WORDS; word++) body[at + word] = packed[offset + word]!;
    if (n === page * PAGE_ENTRIES) for (let word = 0; word < ID_WORDS; word++) fences[page * ID_WORDS + word] = packed[offset + word]!;
    for (let probe = 0; probe < BLOOM_PROBES; probe++) {
      const bit = bloomBit(packed, offset, probe, bloomMask);
      bloom[bit >>> 3]! |= 1 << (bit & 7);
    }
    if (n % BUILD_STEP_ENTRIES === BUILD_STEP_ENTRIES - 1) yield;
  }
  const swapStep = BUILD_STEP_ENTRIES * ENTRY_BYTES;
  for (let at = fencesStart; at < fileBytes; at += swapStep) {
    Buffer.from(file.buffer, at, Math.min(swapStep, fileBytes - at)).swap32();
    yield;
  }
  for (let page = 0; page < pages; page++) {
    const start = pagesStart + page * PAGE_WORDS * 4;
    const entriesBytes = Math.min(PAGE_ENTRIES, count - page * PAGE_ENTRIES) * ENTRY_BYTES;
    view.setUint32(start + entriesBytes, crc32(file.subarray(start, start + entriesBytes)));
    if (page % (BUILD_STEP_ENTRIES / PAGE_ENTRIES) === 0) yield;
  }
  view.setUint32(bloomStart + bloomBytes, crc32(bloom));
  view.setUint32(fencesStart + pages * ID_BYTES, crc32(file.subarray(fencesStart, fencesStart + pages * ID_BYTES)));
  file.set(new TextEncoder().encode(MAGIC), 0);
  [VERSION, firstHeight, lastHeight, count, pages, bloomBytes, BLOOM_PROBES].forEach((value, i) => view.setUint32(8 + i * 4, value));
  file.set(lastBlockHash, HASH_AT);
  view.setUint32(HEADER_BYTES - CRC_BYTES, crc32(file.subarray(0, HEADER_BYTES - CRC_BYTES)));
  return file;
}

/** The same as writeRunFile, blocking: for the start-up replay, when nothing else waits on the thread. */
export function writeRunFileSync(path: string, run: Uint8Array): void {
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    let written = 0;
    while (written < run.length) written += writeSync(fd, run, written, run.length - written, written);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/**
 * Writes a built run durably at `path`, off the event loop: a temporary file, written and synced, then
 * renamed. The caller syncs the folder.
 */
export async function writeRunFile(path: string, run: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    let written = 0;
    while (written < run.length) written += (await handle.write(run, written, run.length - written, written)).bytesWritten;
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

/** An open run: its filter and fences in memory, its pages read on demand. */
export class TransactionRun {
  readonly firstHeight: number;
  readonly lastHeight: number;
  /** The hash of block lastHeight, as the chain had it when the run was written. */
  readonly lastBlockHash: Uint8Array;
  readonly count: number;
  private readonly path: string;
  private fd: number;
  private readonly bloom: Uint8Array;
  private readonly bloomMask: number;
  private readonly bloomProbes: number;
  private readonly fences: Uint32Array;
  private readonly pages: number;
  private readonly pagesStart: number;
  /** One page, reused by every lookup. */
  private readonly page = new Uint8Array(PAGE_ENTRIES * ENTRY_BYTES + CRC_BYTES);
  private readonly pageView = new DataView(this.page.buffer);

  private constructor(path: string, fd: number, fields: { firstHeight: number; lastHeight: number; lastBlockHash: Uint8Array; count: number; pages: number; bloom: Uint8Array; bloomProbes: number; fences: Uint32Array; pagesStart: number }) {
    this.path = path;
    this.fd = fd;
    this.firstHeight = fields.firstHeight;
    this.lastHeight = fields.lastHeight;
    this.lastBlockHash = fields.lastBlockHash;
    this.count = fields.count;
    this.pages = fields.pages;
    this.bloom = fields.bloom;
    this.bloomMask = fields.bloom.length * 8 - 1;
    this.bloomProbes = fields.bloomProbes;
    this.fences = fields.fences;
    this.pagesStart = fields.pagesStart;
  }

  /** Opens and checks the run at `path`; a string says why it is unusable (the caller rebuilds it). */
  static open(path: string): TransactionRun | string {
    const fd = openSync(path, 'r');
    const fail = (reason: string): string => {
      closeSync(fd);
      return reason;
    };
    const header = new Uint8Array(HEADER_BYTES);
    if (readFullySync(fd, header, 0) !== HEADER_BYTES) return fail('shorter than its header');
    const view = new DataView(header.buffer);
    if (new TextDecoder().decode(header.subarray(0, 8)) !== MAGIC) return fail('not a transaction run');
    if (view.getUint32(HEADER_BYTES - CRC_BYTES) !== crc32(header.subarray(0, HEADER_BYTES - CRC_BYTES))) return fail('header checksum mismatch');
    const [version, firstHeight, lastHeight, count, pages, bloomBytes, bloomProbes] = Array.from({ length: 7 }, (_, i) => view.getUint32(8 + i * 4)) as [number, number, number, number, number, number, number];
    if (version !== VERSION) return fail(`format version ${version}, this build reads ${VERSION}`);
    if (count === 0 || pages !== Math.ceil(count / PAGE_ENTRIES) || bloomBytes < 1 || (bloomBytes & (bloomBytes - 1)) !== 0 || bloomProbes === 0 || lastHeight < firstHeight) return fail('inconsistent header');
    const bloomStart = HEADER_BYTES;
    const fencesStart = bloomStart + bloomBytes + CRC_BYTES;
    const pagesStart = fencesStart + pages * ID_BYTES + CRC_BYTES;
    const expectedSize = pagesStart + count * ENTRY_BYTES + pages * CRC_BYTES;
    if (fstatSync(fd).size !== expectedSize) return fail(`${fstatSync(fd).size} bytes where the header implies ${expectedSize}`);
    const bloomAndCrc = new Uint8Array(bloomBytes + CRC_BYTES);
    const fencesAndCrc = new Uint8Array(pages * ID_BYTES + CRC_BYTES);
    readFullySync(fd, bloomAndCrc, bloomStart);
    readFullySync(fd, fencesAndCrc, fencesStart);
    if (!crcHolds(bloomAndCrc)) return fail('filter checksum mismatch');
    if (!crcHolds(fencesAndCrc)) return fail('page index checksum mismatch');
    const fenceView = new DataView(fencesAndCrc.buffer);
    const fences = Uint32Array.from({ length: pages * ID_WORDS }, (_, i) => fenceView.getUint32(i * 4));
    return new TransactionRun(path, fd, { firstHeight, lastHeight, lastBlockHash: header.slice(HASH_AT, HASH_AT + HASH_BYTES), count, pages, bloom: bloomAndCrc.subarray(0, bloomBytes), bloomProbes, fences, pagesStart });
  }

  /** Bytes held in memory. */
  get memoryBytes(): number {
    return this.bloom.byteLength + this.fences.byteLength + this.page.byteLength;
  }

  /** Where the id (ID_WORDS words at `offset` of `key`) is, or null when the run does not hold it. */
  locate(key: Uint32Array, offset: number): RunLocation | null {
    for (let probe = 0; probe < this.bloomProbes; probe++) {
      const bit = bloomBit(key, offset, probe, this.bloomMask);
      if ((this.bloom[bit >>> 3]! & (1 << (bit & 7))) === 0) return null;
    }
    // The last page whose first id is not above the key.
    let low = 0;
    let high = this.pages - 1;
    if (compareKeys(this.fences, 0, key, offset) > 0) return null;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (compareKeys(this.fences, middle * ID_WORDS, key, offset) <= 0) low = middle;
      else high = middle - 1;
    }
    const entries = this.readPage(low);
    let first = 0;
    let last = entries - 1;
    while (first <= last) {
      const middle = (first + last) >>> 1;
      const order = this.compareEntry(middle, key, offset);
      if (order === 0) return { height: this.pageView.getUint32(middle * ENTRY_BYTES + ID_BYTES), position: this.pageView.getUint32(middle * ENTRY_BYTES + ID_BYTES + 4) };
      if (order < 0) first = middle + 1;
      else last = middle - 1;
    }
    return null;
  }

  /**
   * Visits every entry in id order: the id as ID_WORDS big-endian words at `offset` of `words` (as the
   * in-memory table takes them), its height and position. Each page is checked; a damaged one throws
   * LEDGER_CORRUPT.
   */
  forEachEntry(visit: (words: Uint32Array, offset: number, height: number, position: number) => void): void {
    const words = new Uint32Array(ID_WORDS);
    for (let page = 0; page < this.pages; page++) {
      const entries = this.readPage(page);
      for (let entry = 0; entry < entries; entry++) {
        const at = entry * ENTRY_BYTES;
        for (let word = 0; word < ID_WORDS; word++) words[word] = this.pageView.getUint32(at + word * 4);
        visit(words, 0, this.pageView.getUint32(at + ID_BYTES), this.pageView.getUint32(at + ID_BYTES + 4));
      }
    }
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }

  private compareEntry(entry: number, key: Uint32Array, offset: number): number {
    for (let word = 0; word < ID_WORDS; word++) {
      const x = this.pageView.getUint32(entry * ENTRY_BYTES + word * 4);
      const y = key[offset + word]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }

  /** Reads page `index` into the reused buffer and checks it; returns how many entries it holds. */
  private readPage(index: number): number {
    assert(this.fd >= 0, 'a closed run is not read');
    const entries = Math.min(PAGE_ENTRIES, this.count - index * PAGE_ENTRIES);
    const bytes = entries * ENTRY_BYTES;
    const target = this.page.subarray(0, bytes + CRC_BYTES);
    const read = readFullySync(this.fd, target, this.pagesStart + index * (PAGE_ENTRIES * ENTRY_BYTES + CRC_BYTES));
    if (read !== target.length || this.pageView.getUint32(bytes) !== crc32(this.page.subarray(0, bytes))) {
      throw new EntenteError('LEDGER_CORRUPT', `page ${index} of the transaction index run ${this.path} is damaged; stop the gateway and delete that file — it is rebuilt from the blocks at the next start`);
    }
    return entries;
  }
}

function crcHolds(bytesAndCrc: Uint8Array): boolean {
  const length = bytesAndCrc.length - CRC_BYTES;
  return new DataView(bytesAndCrc.buffer, bytesAndCrc.byteOffset).getUint32(length) === crc32(bytesAndCrc.subarray(0, length));
}
