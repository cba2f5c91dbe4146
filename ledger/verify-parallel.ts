// `verifyLedger` on several cores. Everything a block costs to check — decoding, transaction and Merkle
// hashing, payload commitments, signatures — depends on the chain only through the state before it
// (height, head hash, time, membership, schema version). The main thread reads and CRC-checks the segment
// in order and predicts that state from each record's header alone (height, SHA-256 of the header, time),
// assuming governance stays as it was; worker threads check runs of consecutive records on top of the
// predicted state with the same code as the in-order path (./verify-record.ts). Answers are taken in
// height order, and each run's predicted state must equal the state the previous run actually ended in;
// when a governance change made a prediction wrong, that run is checked again from the right state.
// Owners' batch chains (rule batch-order) cannot be predicted from headers: a run starts with no heads
// known, takes each owner's first batch in it as given and reports what it assumed; the main thread
// compares that with the true heads the previous runs ended with, and checks the run again from the true
// state when they differ (so the violation is found, and reported, exactly where the in-order path would).
// So every block is judged by checkBlock on top of the true chain state, as in the in-order path.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { assert } from '../common/assert.ts';
import { isEntenteError } from '../common/errors.ts';
import { decodeBlockHeader, NO_PREVIOUS_BATCH } from './block.ts';
import { nodeHasher } from './crypto/sha256-node.ts';
import { ByteReader } from './encoding/byte-reader.ts';
import { bytesEqual } from './encoding/hex.ts';
import type { FrameScan } from './store/segment-file.ts';
import type { ChainState, Violation } from './validity.ts';
import type { RecordCounts, RecordRunResult, RecordRunTask } from './verify-record.ts';

export const VERIFY_WORKERS_MAX = 16;
/** Young generation of each worker: decoding a block leaves many short-lived objects; a larger nursery lets them die young. */
const WORKER_YOUNG_GENERATION_MB = 48;

export interface ParallelCheckLimits {
  /** A run is sent once it holds this many record bytes: big enough that messaging costs nothing next to the checking, small enough to keep every worker busy. */
  readonly runBytesTarget: number;
  readonly runBlocksMax: number;
  /** Record bytes handed to workers and not yet answered; at least one run is always in flight. */
  readonly inFlightBytesMax: number;
}

export const DEFAULT_PARALLEL_CHECK_LIMITS: ParallelCheckLimits = { runBytesTarget: 4 * 1024 * 1024, runBlocksMax: 1024, inFlightBytesMax: 96 * 1024 * 1024 };

export interface ParallelCheckHooks {
  /** Called for every block that passed, in height order. */
  readonly onChecked: (height: number, counts: RecordCounts, frameBytes: number) => void;
  /** The violation an unreadable frame means (the in-order path reports the same). */
  readonly frameViolation: (scan: Extract<FrameScan, { kind: 'invalid' }>) => Violation;
}

export interface ParallelCheckOutcome {
  /** The state after the last block that passed. */
  readonly state: ChainState;
  readonly violation?: Violation;
}

interface Run {
  readonly firstHeight: number;
  readonly state: ChainState;
  /** The records' bodies back to back, in a buffer from the transfer pool. */
  readonly buffer: Uint8Array;
  readonly lengths: number[];
  readonly frameBytes: number[];
  bytes: number;
}

interface Sent {
  readonly task: RecordRunTask;
  readonly bytes: number;
  readonly frameBytes: readonly number[];
  readonly reply: Promise<WorkerReply>;
}

interface WorkerReply {
  readonly result: RecordRunResult;
  readonly bodies: ArrayBuffer;
}

type Head = Pick<ChainState, 'height' | 'headHash' | 'timeMs'>;
type Governance = Pick<ChainState, 'membership' | 'membershipHash' | 'schemaVersion'>;

function governanceOf(state: ChainState): Governance {
  return { membership: state.membership, membershipHash: state.membershipHash, schemaVersion: state.schemaVersion };
}

/** The header fields of a record that the state after it depends on, or null when the record is unreadable. */
function predictedHead(body: Uint8Array, height: number): Head | null {
  try {
    const reader = new ByteReader(body, 'block record');
    reader.u8('record version');
    const headerBytes = reader.bytesField('header', 1024);
    const header = decodeBlockHeader(headerBytes);
    if (header.height !== height) return null;
    return { height, headHash: nodeHasher.sha256(headerBytes), timeMs: header.timeMs };
  } catch (error) {
    if (!isEntenteError(error)) throw error;
    return null;
  }
}

/**
 * Equal in everything a block's check depends on (chain id and ownership never change along the chain).
 * The schema judge's state is compared by identity: workers never run a judge (a judged ledger is checked
 * in order), so it is absent on both sides; were it ever present, every run would simply be checked again.
 */
function sameState(a: ChainState, b: ChainState): boolean {
  return a.height === b.height && a.timeMs === b.timeMs && a.schemaVersion === b.schemaVersion && a.schemaState === b.schemaState && bytesEqual(a.headHash, b.headHash) && bytesEqual(a.membershipHash, b.membershipHash);
}

/** Whether every owner's first batch in a run checked from a predicted state continued that owner's true chain. */
function assumedHeadsHold(after: ChainState, before: ChainState): boolean {
  for (const [partner, assumed] of after.assumedBatchHeads ?? []) {
    if (!bytesEqual(assumed.previous, before.batchHeads.get(partner) ?? NO_PREVIOUS_BATCH)) return false;
  }
  return true;
}

/** The state after a run, with every owner's true last batch: the run's own, over what held before it. */
function withTrueBatchHeads(after: ChainState, before: ChainState): ChainState {
  if (after.assumedBatchHeads === undefined) return after; // checked from the true state
  const { assumedBatchHeads: _assumed, ...state } = after;
  return { ...state, batchHeads: new Map([...before.batchHeads, ...after.batchHeads]) };
}

/** Most record bytes a run's buffer holds (unless one record is larger); a run is also sent when full. */
const RUN_BUFFER_BYTES_MAX = 8 * 1024 * 1024;
/** Idle transfer buffers kept for reuse. */
const FREE_BUFFER_BYTES_MAX = 128 * 1024 * 1024;

/**
 * Buffers that carry runs to the workers and come back with the answers. Reusing them keeps the main
 * thread from allocating a fresh multi-megabyte buffer per run: each new one is external memory that
 * pushes V8 into full garbage collections, which cost more than the copying itself.
 */
class TransferBuffers {
  private readonly free: ArrayBuffer[] = [];
  private freeBytes = 0;

  take(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.byteLength;
      if (length >= bytes && (best < 0 || length < this.free[best]!.byteLength)) best = i;
    }
    if (best < 0) return new ArrayBuffer(bytes);
    const [buffer] = this.free.splice(best, 1);
    this.freeBytes -= buffer!.byteLength;
    return buffer!;
  }

  give(buffer: ArrayBuffer): void {
    if (this.freeBytes + buffer.byteLength > FREE_BUFFER_BYTES_MAX) return;
    this.free.push(buffer);
    this.freeBytes += buffer.byteLength;
  }
}

/** Checks every frame `frames` yields on top of `initial`, on `workerCount` worker threads. */
export async function checkFramesInParallel(frames: AsyncIterable<FrameScan>, initial: ChainState, workerCount: number, hooks: ParallelCheckHooks, limits: ParallelCheckLimits = DEFAULT_PARALLEL_CHECK_LIMITS): Promise<ParallelCheckOutcome> {
  assert(Number.isInteger(workerCount) && workerCount >= 1 && workerCount <= VERIFY_WORKERS_MAX, `workers must be 1..${VERIFY_WORKERS_MAX}`);
  const pool = new RecordCheckPool(workerCount);
  let confirmed = initial;
  // Governance the predictions assume: what the last answered run ended with.
  let governance = governanceOf(initial);
  let head: Head = { height: initial.height, headHash: initial.headHash, timeMs: initial.timeMs };
  const sent: Sent[] = [];
  let inFlightBytes = 0;
  let taskIds = 0;
  let run: Run | null = null;
  const buffers = new TransferBuffers();

  const send = (): void => {
    if (run === null) return;
    const task: RecordRunTask = { taskId: taskIds++, firstHeight: run.firstHeight, bodies: run.buffer.buffer as ArrayBuffer, lengths: run.lengths, state: run.state };
    const reply = pool.check(task);
    // Answers are awaited in height order; one that fails after an earlier violation ended the
    // verification is never awaited and must not surface as an unhandled rejection.
    reply.catch(() => undefined);
    sent.push({ task, bytes: run.bytes, frameBytes: run.frameBytes, reply });
    inFlightBytes += run.bytes;
    run = null;
  };
  /** Copies a record into the current run (the scan reuses its read buffer); starts a run when needed. */
  const add = (body: Uint8Array, frameBytes: number, height: number): Run => {
    if (run !== null && run.bytes + body.length > run.buffer.length) send();
    if (run === null) {
      const capacity = Math.max(body.length, Math.min(limits.runBytesTarget, RUN_BUFFER_BYTES_MAX));
      run = { firstHeight: height, state: { ...confirmed, ...head, ...governance, batchHeads: new Map(), assumedBatchHeads: new Map() }, buffer: new Uint8Array(buffers.take(capacity), 0, capacity), lengths: [], frameBytes: [], bytes: 0 };
    }
    run.buffer.set(body, run.bytes);
    run.bytes += body.length;
    run.lengths.push(body.length);
    run.frameBytes.push(frameBytes);
    return run;
  };
  /** Takes the oldest answer; returns the violation that ends verification, if any. */
  const settle = async (): Promise<Violation | undefined> => {
    const oldest = sent.shift()!;
    inFlightBytes -= oldest.bytes;
    let reply = await oldest.reply;
    if (!sameState(oldest.task.state, confirmed) || !assumedHeadsHold(reply.result.state, confirmed)) {
      // An earlier run changed governance after this one was sent, or an owner's first batch in this run
      // does not continue that owner's chain: check it again on the true state.
      reply = await pool.check({ ...oldest.task, bodies: reply.bodies, state: confirmed });
    }
    buffers.give(reply.bodies);
    const { result } = reply;
    result.counts.forEach((counts, i) => hooks.onChecked(oldest.task.firstHeight + i, counts, oldest.frameBytes[i]!));
    confirmed = withTrueBatchHeads(result.state, confirmed);
    if (confirmed.schemaVersion !== governance.schemaVersion || !bytesEqual(confirmed.membershipHash, governance.membershipHash)) governance = governanceOf(confirmed);
    return result.violation;
  };

  try {
    let frameProblem: Violation | undefined;
    let unpredictable = false;
    for await (const scan of frames) {
      if (scan.kind === 'invalid') {
        frameProblem = hooks.frameViolation(scan);
        break;
      }
      const current = add(scan.body, scan.frameBytes, scan.height);
      const next = predictedHead(scan.body, scan.height);
      if (next === null) {
        // A worker will name what is wrong with this record; nothing after it can be predicted.
        unpredictable = true;
        break;
      }
      head = next;
      if (current.bytes >= limits.runBytesTarget || current.lengths.length >= limits.runBlocksMax) send();
      while (inFlightBytes > limits.inFlightBytesMax && sent.length > 0) {
        const violation = await settle();
        if (violation !== undefined) return { state: confirmed, violation };
      }
    }
    send();
    while (sent.length > 0) {
      const violation = await settle();
      if (violation !== undefined) return { state: confirmed, violation };
    }
    assert(!unpredictable, 'a record whose header cannot be read passed the validity rules');
    return frameProblem === undefined ? { state: confirmed } : { state: confirmed, violation: frameProblem };
  } finally {
    await pool.terminate();
  }
}

/**
 * Worker threads running ./verify-worker.ts. From TypeScript sources (tsx, vitest) a worker does not
 * inherit the parent's loader, so a small bootstrap registers tsx in the worker before importing it;
 * from compiled JavaScript it imports the .js module directly.
 */
class RecordCheckPool {
  private readonly workers: { readonly worker: Worker; readonly waiting: Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }> }[] = [];
  /** Set by terminate(): runs still out then are abandoned (nobody awaits them), not failed. */
  private terminating = false;

  constructor(count: number) {
    const { entry, tsxApi } = workerModule();
    const bootstrap = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi !== null) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((error) => { setImmediate(() => { throw error; }); });`;
    for (let i = 0; i < count; i++) {
      const worker = new Worker(bootstrap, { eval: true, workerData: { entry, tsxApi }, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
      const waiting = new Map<number, { resolve: (reply: WorkerReply) => void; reject: (error: Error) => void }>();
      const failAll = (error: Error): void => {
        if (this.terminating) return;
        for (const w of waiting.values()) w.reject(error);
        waiting.clear();
      };
      worker.on('message', (reply: WorkerReply) => {
        const w = waiting.get(reply.result.taskId);
        assert(w !== undefined, `a verify worker answered a task it was not given (${reply.result.taskId})`);
        waiting.delete(reply.result.taskId);
        w.resolve(reply);
      });
      worker.on('error', failAll);
      worker.on('exit', (code) => failAll(new Error(`a verify worker exited (code ${code}) with ${waiting.size} runs unanswered`)));
      this.workers.push({ worker, waiting });
    }
  }

  check(task: RecordRunTask): Promise<WorkerReply> {
    let least = this.workers[0]!;
    for (const w of this.workers) if (w.waiting.size < least.waiting.size) least = w;
    return new Promise((resolve, reject) => {
      least.waiting.set(task.taskId, { resolve, reject });
      least.worker.postMessage(task, [task.bodies]);
    });
  }

  async terminate(): Promise<void> {
    this.terminating = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

function workerModule(): { entry: string; tsxApi: string | null } {
  const fromTypeScript = import.meta.url.endsWith('.ts');
  const entry = new URL(fromTypeScript ? './verify-worker.ts' : './verify-worker.js', import.meta.url).href;
  return { entry, tsxApi: fromTypeScript ? tsxEsmApiUrl() : null };
}

/**
 * The ESM build of tsx's register API, located through tsx's own package.json exports: require.resolve
 * would pick the CommonJS build, which cannot register hooks from a worker, and a bare import inside the
 * worker would resolve from the current directory, not from this package.
 */
function tsxEsmApiUrl(): string {
  const manifestPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: Record<string, { import?: { default?: string } } | string> };
  const api = manifest.exports?.['./esm/api'];
  const file = typeof api === 'object' ? api.import?.default : undefined;
  assert(file !== undefined, `tsx at ${manifestPath} has no ESM register API (exports["./esm/api"].import); Entente expects tsx 4`);
  return pathToFileURL(join(dirname(manifestPath), file)).href;
}
