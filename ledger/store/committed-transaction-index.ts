// Every committed transaction id → where it is (height, position in its block): the replay rule (a block
// may not repeat a committed transaction), the republish checks and the gateway's transaction and proof
// queries ask it. Two implementations behind one seam:
//   - MemoryTransactionIndex: all ids in memory (tests, the simulator, the standalone consensus runner),
//     refused beyond a cap, checked before a block is stored so the chain never outruns its index.
//   - PersistentTransactionIndex (the gateway): the newest ids in memory, older ones in sealed, sorted run
//     files beside the blocks (transaction-run-file.ts). Memory stays at about 2.3 bytes per old id plus
//     at most `runEntries` recent ones, so a gateway no longer stops after 20 million transactions (the
//     old all-in-memory index's cap, ~1.3 GB of tables), and a restart reads the runs instead of
//     re-indexing the whole chain.
import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../common/assert.ts';
import { bytesEqual } from '../encoding/hex.ts';
import { EntenteError } from '../../common/errors.ts';
import { ID_WORDS, parseTransactionId, TransactionIdIndex } from './transaction-id-index.ts';
import { BUILD_STEP_ENTRIES, buildRunSteps, ENTRY_WORDS, parseRunFileName, runFileName, runToEnd, TransactionRun, writeRunFile, writeRunFileSync, type RunEntries } from './transaction-run-file.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { syncDirectory, syncDirectorySync } from './sync-directory.ts';

export interface TransactionLocation {
  readonly height: number;
  /** Position of the transaction in its block. */
  readonly index: number;
}

export interface CommittedTransactionIndex {
  /** Ids indexed. */
  readonly size: number;
  /** Heights 1..flushedHeight are held durably (opened from disk, not re-added); 0 for an index all in memory. */
  readonly flushedHeight: number;
  /**
   * Heights 1..openedHeight were indexed when the index was opened (its runs, and the ids its last stop
   * kept): the caller adds the stored blocks above it. 0 for an index all in memory.
   */
  readonly openedHeight: number;
  has(id: string | Uint8Array): boolean;
  /** The height of the block holding the id; undefined when it is not committed. */
  get(id: string | Uint8Array): number | undefined;
  locate(id: string | Uint8Array): TransactionLocation | null;
  /** Throws LIMIT_EXCEEDED when `count` more ids would not fit: asked before a block is stored. */
  reserve(count: number): void;
  /** Records one stored block's ids, in block order, and its hash; heights only grow. */
  add(height: number, ids: readonly string[], blockHash: Uint8Array): void;
  /** Waits for work in flight (a run being written), then releases the files. */
  close(): Promise<void>;
}

/** Positions per block in a location value (height × TX_POSITIONS + position, exact below 2^53). */
const TX_POSITIONS = 2 ** 20;

function location(value: number | undefined): TransactionLocation | null {
  return value === undefined ? null : { height: Math.floor(value / TX_POSITIONS), index: value % TX_POSITIONS };
}

function locationValue(height: number, position: number): number {
  assert(position < TX_POSITIONS, `a block holds at most ${TX_POSITIONS} transactions`);
  return height * TX_POSITIONS + position;
}

/** Ids the all-in-memory index holds at most (about 1.3 GB of tables at the cap). */
export const MEMORY_TX_INDEX_MAX = 20_000_000;

export class MemoryTransactionIndex implements CommittedTransactionIndex {
  private readonly table = new TransactionIdIndex();
  private readonly maxIds: number;

  constructor(maxIds = MEMORY_TX_INDEX_MAX) {
    this.maxIds = maxIds;
  }

  get size(): number {
    return this.table.size;
  }

  get flushedHeight(): number {
    return 0;
  }

  get openedHeight(): number {
    return 0;
  }

  /** Bytes held in memory (outside the V8 heap). */
  get memoryBytes(): number {
    return this.table.bytes;
  }

  has(id: string | Uint8Array): boolean {
    return this.table.has(id);
  }

  get(id: string | Uint8Array): number | undefined {
    return location(this.table.get(id))?.height;
  }

  locate(id: string | Uint8Array): TransactionLocation | null {
    return location(this.table.get(id));
  }

  reserve(count: number): void {
    if (this.table.size + count > this.maxIds) throw new EntenteError('LIMIT_EXCEEDED', `more than ${this.maxIds} committed transactions in the in-memory index; run the node with a ledger directory, whose index keeps older ids on disk`);
  }

  add(height: number, ids: readonly string[]): void {
    ids.forEach((id, position) => this.table.set(id, locationValue(height, position)));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The committed-transaction index's folder inside a ledger directory. */
export const TRANSACTION_INDEX_DIRECTORY = 'transactions';

/** Where `locateInRuns` found an id, or the heights its runs cover (null location: not in them). */
export interface RunsLookup {
  readonly location: TransactionLocation | null;
  /** The last height the usable runs cover without a gap from height 1 (0: none): look above it in the blocks. */
  readonly coveredHeight: number;
}

/**
 * Looks `id` up in the index runs under `directory` without changing anything there, for offline tools
 * that may run beside the node (which owns the folder: it drops unusable runs and writes new ones).
 * Runs are used in height order while they follow each other from height 1 and their last block's hash
 * matches the stored chain; the first one that does not (or that vanished meanwhile) ends the covered range.
 */
export function locateInRuns(directory: string, id: string | Uint8Array, chain: Pick<PersistentTransactionIndexOptions, 'headHeight' | 'blockHash'>): RunsLookup {
  const probe = new Uint32Array(ID_WORDS);
  if (!parseTransactionId(id, probe)) return { location: null, coveredHeight: 0 };
  let names: string[];
  try {
    names = readdirSync(directory).sort();
  } catch {
    return { location: null, coveredHeight: 0 };
  }
  let coveredHeight = 0;
  for (const name of names) {
    const heights = parseRunFileName(name);
    if (heights === null) continue;
    if (heights.firstHeight !== coveredHeight + 1 || heights.lastHeight > chain.headHeight) break;
    let run: TransactionRun | string;
    try {
      run = TransactionRun.open(join(directory, name));
    } catch {
      break;
    }
    if (typeof run === 'string') break;
    try {
      if (run.firstHeight !== heights.firstHeight || run.lastHeight !== heights.lastHeight || !bytesEqual(run.lastBlockHash, chain.blockHash(run.lastHeight))) break;
      const found = run.locate(probe, 0);
      if (found !== null) return { location: { height: found.height, index: found.position }, coveredHeight: run.lastHeight };
      coveredHeight = run.lastHeight;
    } finally {
      run.close();
    }
  }
  return { location: null, coveredHeight };
}

/** Ids kept in memory before they are sealed into a run: ~50 MB of table, and one run file per million. */
export const RUN_ENTRIES_DEFAULT = 1_048_576;

export interface PersistentTransactionIndexOptions {
  /** The stored chain's head: runs beyond it (a store that lost its tail) are dropped and rebuilt. */
  readonly headHeight: number;
  /**
   * The hash of the stored block at a height (at most headHeight): a run whose last block's hash differs
   * belongs to another chain (a ledger directory put together from two) and is dropped and rebuilt.
   */
  readonly blockHash: (height: number) => Uint8Array;
  readonly runEntries?: number;
  /** Told about each run that could not be used and was dropped (it is rebuilt from the blocks). */
  readonly onDroppedRun?: (file: string, reason: string) => void;
  /** Told when writing a run failed (a full disk, say); its ids stay in memory and the write is tried again later. */
  readonly onSealFailed?: (file: string, reason: string) => void;
}

/** Ids whose run is being written: still answered from memory until the run is open. */
interface Sealing {
  readonly table: TransactionIdIndex;
  readonly firstHeight: number;
  readonly lastHeight: number;
  readonly lastBlockHash: Uint8Array;
}

export class PersistentTransactionIndex implements CommittedTransactionIndex {
  private readonly directory: string;
  private readonly runEntries: number;
  private readonly onSealFailed: ((file: string, reason: string) => void) | undefined;
  /** Sealed runs, oldest first, covering heights 1..flushedHeight without a gap. */
  private readonly runs: TransactionRun[];
  private recent = new TransactionIdIndex();
  /** The first height the recent table holds ids of (0: none yet). */
  private recentFirstHeight = 0;
  /** The run being written (at most one at a time), and the write. */
  private sealing: Sealing | null = null;
  private sealed: Promise<void> = Promise.resolve();
  /** The recent table's size at which the next run is sealed (pushed further after a failed write). */
  private sealAt: number;
  private lastHeight: number;
  private lastBlockHash: Uint8Array = new Uint8Array(32);
  private sealedCount: number;
  private closed = false;
  /**
   * Until serving() is called (the start-up replay), runs are written on this thread as they fill: a replay
   * of blocks whose runs were lost would otherwise hold every id in memory until its first write ended.
   */
  private synchronous = true;
  private readonly probe = new Uint32Array(ID_WORDS);
  /** Heights 1..this were in the index when it was opened (openedHeight). */
  private heightAtOpen = 0;

  private constructor(directory: string, runs: TransactionRun[], runEntries: number, onSealFailed?: (file: string, reason: string) => void) {
    this.directory = directory;
    this.runs = runs;
    this.runEntries = runEntries;
    this.sealAt = runEntries;
    this.onSealFailed = onSealFailed;
    this.lastHeight = this.flushedHeight;
    this.heightAtOpen = this.flushedHeight;
    this.sealedCount = runs.reduce((sum, run) => sum + run.count, 0);
  }

  /**
   * Opens the runs in `directory` (created when missing). The caller then adds every stored block above
   * `flushedHeight` (adding one at or below it is ignored, so replaying the whole chain is safe).
   */
  static open(directory: string, options: PersistentTransactionIndexOptions): PersistentTransactionIndex {
    const runEntries = options.runEntries ?? RUN_ENTRIES_DEFAULT;
    assert(Number.isInteger(runEntries) && runEntries >= 1, 'runEntries is a positive integer');
    mkdirSync(directory, { recursive: true });
    const runs: TransactionRun[] = [];
    let expectedFirst = 1;
    let dropping: string | null = null;
    for (const name of readdirSync(directory).sort()) {
      const path = join(directory, name);
      if (name.endsWith('.tmp')) {
        unlinkSync(path); // a run whose write a crash interrupted
        continue;
      }
      const heights = parseRunFileName(name);
      if (heights === null) continue;
      let problem: string | null = dropping;
      if (problem === null && heights.firstHeight !== expectedFirst) problem = `starts at height ${heights.firstHeight}, not ${expectedFirst}`;
      if (problem === null && heights.lastHeight > options.headHeight) problem = `ends at height ${heights.lastHeight}, above the stored head ${options.headHeight}`;
      let run: TransactionRun | string | null = null;
      if (problem === null) {
        run = TransactionRun.open(path);
        if (typeof run === 'string') problem = run;
        else if (run.firstHeight !== heights.firstHeight || run.lastHeight !== heights.lastHeight) problem = 'its header disagrees with its name';
        else if (!bytesEqual(run.lastBlockHash, options.blockHash(run.lastHeight))) problem = `it was written for another chain: block ${run.lastHeight}'s hash differs`;
        if (problem !== null && typeof run !== 'string') run.close();
      }
      if (problem !== null) {
        // Every later run follows a gap now; all of them are rebuilt from the blocks.
        dropping ??= `follows the dropped run ${name}`;
        options.onDroppedRun?.(name, problem);
        unlinkSync(path);
        continue;
      }
      runs.push(run as TransactionRun);
      expectedFirst = heights.lastHeight + 1;
    }
    const index = new PersistentTransactionIndex(directory, runs, runEntries, options.onSealFailed);
    index.takeBackStopRun(options.onDroppedRun);
    return index;
  }

  /**
   * A stop seals the ids it held only in memory into a short run (close({ keepRecent: true })), so that
   * the next start need not read and hash those blocks again: this takes them back into the recent table
   * and removes the file, which would otherwise stay a short run in front of every later one. (A run
   * sealed while serving holds at least runEntries ids, so a shorter last run is a stop's.) If its ids
   * cannot be read back, its blocks are indexed again instead, as for any run that does not check out.
   */
  private takeBackStopRun(onDroppedRun: ((file: string, reason: string) => void) | undefined): void {
    const run = this.runs.at(-1);
    if (run === undefined || run.count >= this.runEntries) return;
    const name = runFileName(run.firstHeight, run.lastHeight);
    let problem: string | null = null;
    try {
      run.forEachEntry((words, offset, height, position) => this.recent.setWords(words, offset, locationValue(height, position)));
    } catch (error) {
      problem = (error as Error).message;
    }
    this.runs.pop();
    run.close();
    this.sealedCount -= run.count;
    if (problem === null) {
      this.recentFirstHeight = run.firstHeight;
      this.lastHeight = run.lastHeight;
      this.lastBlockHash = run.lastBlockHash;
      this.heightAtOpen = run.lastHeight;
    } else {
      this.recent = new TransactionIdIndex();
      this.lastHeight = this.flushedHeight;
      this.heightAtOpen = this.flushedHeight;
      onDroppedRun?.(name, problem);
    }
    // Synced, so that the file cannot come back after a crash beside a later run that covers its heights.
    unlinkSync(join(this.directory, name));
    syncDirectorySync(this.directory);
  }

  /** The last height whose ids are in a run (or in the run being written). */
  get flushedHeight(): number {
    return this.sealing?.lastHeight ?? this.runs.at(-1)?.lastHeight ?? 0;
  }

  get size(): number {
    return this.sealedCount + this.recentSize;
  }

  /** Ids only in memory: the recent table and a run being written. */
  get recentSize(): number {
    return this.recent.size + (this.sealing?.table.size ?? 0);
  }

  get openedHeight(): number {
    return this.heightAtOpen;
  }

  /** Sealed runs (for status and tests). */
  get runCount(): number {
    return this.runs.length;
  }

  /** Bytes held in memory: the recent table(s) and each run's filter and page index. */
  get memoryBytes(): number {
    return this.recent.bytes + (this.sealing?.table.bytes ?? 0) + this.runMemoryBytes;
  }

  /** Bytes the open runs hold in memory. */
  get runMemoryBytes(): number {
    return this.runs.reduce((sum, run) => sum + run.memoryBytes, 0);
  }

  /** From now on runs are written off the event loop (call it once the start-up replay is done). */
  serving(): void {
    this.synchronous = false;
  }

  /** Resolves when no run is being written. */
  idle(): Promise<void> {
    return this.sealed;
  }

  has(id: string | Uint8Array): boolean {
    return this.locate(id) !== null;
  }

  get(id: string | Uint8Array): number | undefined {
    return this.locate(id)?.height;
  }

  locate(id: string | Uint8Array): TransactionLocation | null {
    // Parsed once for the tables and every run (the replay rule asks for every transaction of every proposal).
    if (!parseTransactionId(id, this.probe)) return null;
    const recent = this.recent.getWords(this.probe) ?? this.sealing?.table.getWords(this.probe);
    if (recent !== undefined) return location(recent);
    // Newest first: replays and republish checks mostly ask about recent transactions.
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const found = this.runs[i]!.locate(this.probe, 0);
      if (found !== null) return { height: found.height, index: found.position };
    }
    return null;
  }

  reserve(): void {}

  add(height: number, ids: readonly string[], blockHash: Uint8Array): void {
    if (height <= Math.max(this.flushedHeight, this.heightAtOpen)) return;
    assert(height > this.lastHeight || (height === this.lastHeight && ids.length === 0), `index heights grow: ${height} after ${this.lastHeight}`);
    this.lastHeight = height;
    this.lastBlockHash = blockHash;
    if (ids.length === 0) return;
    if (this.recentFirstHeight === 0) this.recentFirstHeight = this.flushedHeight + 1;
    ids.forEach((id, position) => this.recent.set(id, locationValue(height, position)));
    if (this.recent.size >= this.sealAt && this.sealing === null && !this.closed) this.seal(height);
  }

  /**
   * Waits for a run being written, then releases the files. With `keepRecent` (a node's stop, once its
   * blocks are stored) the ids held only in memory are first sealed into a short run, which the next
   * open takes back instead of indexing their blocks again; if that write fails, they are indexed again.
   */
  async close(options: { readonly keepRecent?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sealed;
    if (options.keepRecent === true && this.recent.size > 0) this.sealAtStop();
    for (const run of this.runs) run.close();
  }

  private sealAtStop(): void {
    const sealing: Sealing = { table: this.recent, firstHeight: this.recentFirstHeight, lastHeight: this.lastHeight, lastBlockHash: this.lastBlockHash };
    const path = join(this.directory, runFileName(sealing.firstHeight, sealing.lastHeight));
    try {
      writeRunFileSync(path, runToEnd(runSteps(sealing)));
      syncDirectorySync(this.directory);
    } catch (error) {
      this.onSealFailed?.(path, (error as Error).message);
    }
  }

  /**
   * Seals the recent ids (blocks recentFirstHeight..height) into a run: built on this thread, written and
   * synced off it. Until the run is open its ids are answered from the table, which is then dropped.
   */
  private seal(height: number): void {
    const sealing: Sealing = { table: this.recent, firstHeight: this.recentFirstHeight, lastHeight: height, lastBlockHash: this.lastBlockHash };
    this.sealing = sealing;
    this.recent = new TransactionIdIndex();
    this.recentFirstHeight = 0;
    const path = join(this.directory, runFileName(sealing.firstHeight, sealing.lastHeight));
    const steps = runSteps(sealing);
    if (this.synchronous) {
      try {
        writeRunFileSync(path, runToEnd(steps));
        syncDirectorySync(this.directory);
        this.opened(path, sealing);
      } catch (error) {
        this.sealFailed(path, sealing, error as Error);
      }
      return;
    }
    this.sealed = (async () => {
      try {
        // Built a step at a time between event-loop turns (BUILD_STEP_ENTRIES each), written off the loop.
        let step = steps.next();
        while (step.done !== true) {
          await nextTurn();
          step = steps.next();
        }
        await writeRunFile(path, step.value);
        await syncDirectory(this.directory);
        this.opened(path, sealing);
      } catch (error) {
        this.sealFailed(path, sealing, error as Error);
      }
    })();
  }

  /** Opens the run just written and drops the table it replaces. */
  private opened(path: string, sealing: Sealing): void {
    const run = TransactionRun.open(path);
    if (typeof run === 'string') throw new Error(`the run just written does not read back (${run})`);
    this.runs.push(run);
    this.sealedCount += sealing.table.size;
    this.sealing = null;
    this.sealAt = this.runEntries;
  }

  /**
   * Nothing is lost: the ids go back to the recent table (oldest heights first, so the next run still
   * starts where the last one ended), and the write is tried again once another run's worth has come,
   * not at every block of a full disk.
   */
  private sealFailed(path: string, sealing: Sealing, error: Error): void {
    this.onSealFailed?.(path, error.message);
    sealing.table.forEach((words, offset, value) => this.recent.setWords(words, offset, value));
    this.recentFirstHeight = sealing.firstHeight;
    this.sealing = null;
    this.sealAt = this.recent.size + this.runEntries;
  }
}

/** The sealed table's entries packed for a run, then the run's bytes, a step at a time. */
function* runSteps(sealing: Sealing): Generator<void, Uint8Array> {
  const entries = yield* packSteps(sealing.table);
  return yield* buildRunSteps(sealing.firstHeight, sealing.lastHeight, sealing.lastBlockHash, entries);
}

function* packSteps(table: TransactionIdIndex): Generator<void, RunEntries> {
  const count = table.size;
  const packed = new Uint32Array(count * ENTRY_WORDS);
  let n = 0;
  const pack = (words: Uint32Array, offset: number, value: number): void => {
    const at = n * ENTRY_WORDS;
    for (let word = 0; word < ID_WORDS; word++) packed[at + word] = words[offset + word]!;
    packed[at + ID_WORDS] = Math.floor(value / TX_POSITIONS);
    packed[at + ID_WORDS + 1] = value % TX_POSITIONS;
    n += 1;
  };
  for (let from = 0; from < table.slotCount; from += BUILD_STEP_ENTRIES) {
    table.forEach(pack, from, from + BUILD_STEP_ENTRIES);
    yield;
  }
  assert(n === count, 'every entry of the table was packed');
  return { packed, count };
}
