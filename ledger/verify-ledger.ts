// `entente verify` as an API: recompute and check a stored ledger from its genesis, without trusting the
// index or anything cached — read every record of the segment in order, decode it, and apply every
// validity rule. Stops at the first problem and names the block, the transaction (when there is one) and
// the rule. A torn tail (an append a crash interrupted, which the node drops on its next start) is also
// reported: verify cannot tell it from a damaged last block. A large ledger is checked on several cores
// (./verify-parallel.ts) with the same per-record code (./verify-record.ts) and the same outcome.
import { open } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { ed25519Verifier } from './crypto/ed25519.ts';
import type { Hasher } from './crypto/hasher.ts';
import { nodeHasher } from './crypto/sha256-node.ts';
import type { SignatureVerifier } from './crypto/signature.ts';
import { toHex } from './encoding/hex.ts';
import { GENESIS_FILE, genesisHash, readGenesisFile, type Genesis, type OwnershipMap } from './genesis.ts';
import { resolveLedgerDirectory } from './ledger-directory.ts';
import { SEGMENT_FILE, scanFrames, type FrameScan } from './store/segment-file.ts';
import { genesisState, type ChainState, type SchemaJudge, type ValidityContext, type Violation } from './validity.ts';
import { checkFramesInParallel, VERIFY_WORKERS_MAX, type ParallelCheckLimits } from './verify-parallel.ts';
import { checkRecord, type RecordCounts } from './verify-record.ts';

/** Below this segment size starting worker threads costs more than it saves. */
const PARALLEL_SEGMENT_BYTES_MIN = 64 * 1024 * 1024;

export interface VerifyOptions {
  /** entityType → partner; defaults to the genesis ownership map. */
  readonly ownership?: OwnershipMap;
  readonly hasher?: Hasher;
  readonly verifier?: SignatureVerifier;
  /** Called after every verified block (progress output). */
  readonly onBlock?: (height: number, transactions: number) => void;
  /**
   * Worker threads checking blocks in parallel (0: check in order on this thread). Default, for a segment
   * of 64 MiB or more with the default hasher and verifier (workers always use those): one per idle core,
   * none unless two are idle (workersForIdleCores).
   */
  readonly workers?: number;
  /** How records are grouped for the workers (tests use tiny runs so that governance changes cross runs). */
  readonly parallelLimits?: ParallelCheckLimits;
  /**
   * The schema judge for this genesis (schema/evolution/schema-judge.ts; undefined: key rules only). Its
   * state runs block after block, so a judged ledger is checked in order, without workers.
   */
  readonly schemaJudgeFor?: (genesis: Genesis, hasher: Hasher) => SchemaJudge | undefined;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly directory: string;
  readonly network: string;
  readonly genesisHash: string;
  /** Height of the last block that passed every rule. */
  readonly height: number;
  readonly headHash: string;
  readonly blocks: number;
  readonly transactions: number;
  readonly payloads: number;
  readonly signatures: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** Worker threads used (0: checked in order on the calling thread). */
  readonly workers: number;
  readonly violation?: Violation;
}

export async function verifyLedger(dataDirectory: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const directory = resolveLedgerDirectory(dataDirectory);
  const hasher = options.hasher ?? nodeHasher;
  const genesis = await readGenesisFile(join(directory, GENESIS_FILE));
  const schemaJudge = options.schemaJudgeFor?.(genesis, hasher);
  const context = { hasher, verifier: options.verifier ?? ed25519Verifier, ...(schemaJudge === undefined ? {} : { schemaJudge }) };
  let state = genesisState(hasher, genesis, options.ownership);
  const totals = { blocks: 0, transactions: 0, payloads: 0, signatures: 0, bytes: 0 };
  const onChecked = (height: number, counts: RecordCounts, frameBytes: number): void => {
    totals.blocks += 1;
    totals.transactions += counts.transactions;
    totals.payloads += counts.payloads;
    totals.signatures += counts.signatures;
    totals.bytes += frameBytes;
    options.onBlock?.(height, counts.transactions);
  };
  let violation: Violation | undefined;
  let workers = 0;
  const segment = await open(join(directory, SEGMENT_FILE), 'r').catch(() => null);
  if (segment !== null) {
    try {
      const size = (await segment.stat()).size;
      workers = schemaJudge === undefined ? workerCount(options, size) : 0;
      // Each record is checked (or, on the parallel path, copied for a worker) before the scan resumes.
      const frames = scanFrames(segment, 0, size, 1, { reuseBuffer: true });
      const outcome = workers > 0 ? await checkFramesInParallel(frames, state, workers, { onChecked, frameViolation }, options.parallelLimits) : await checkFramesInOrder(frames, state, context, onChecked);
      state = outcome.state;
      violation = outcome.violation;
    } finally {
      await segment.close();
    }
  }
  return {
    ok: violation === undefined,
    directory,
    network: genesis.network,
    genesisHash: toHex(genesisHash(hasher, genesis)),
    height: state.height,
    headHash: toHex(state.headHash),
    ...totals,
    durationMs: performance.now() - started,
    workers,
    ...(violation === undefined ? {} : { violation }),
  };
}

function workerCount(options: VerifyOptions, segmentBytes: number): number {
  if (options.workers !== undefined) {
    if (!Number.isInteger(options.workers) || options.workers < 0 || options.workers > VERIFY_WORKERS_MAX) throw new RangeError(`workers must be an integer 0..${VERIFY_WORKERS_MAX}, got ${options.workers}`);
    if (options.workers > 0 && (options.hasher !== undefined || options.verifier !== undefined)) throw new RangeError('worker threads verify with node:crypto and the Ed25519 verifier only; pass workers: 0 with a custom hasher or verifier');
    return options.workers;
  }
  if (options.hasher !== undefined || options.verifier !== undefined || segmentBytes < PARALLEL_SEGMENT_BYTES_MIN) return 0;
  return workersForIdleCores(availableParallelism(), loadavg()[0] ?? 0);
}

/**
 * One worker per core that is idle now (cores minus the 1-minute load average, rounded), and none unless
 * at least two are: workers only pay when they get cores of their own. On a busy shared machine they
 * cost more than they save — measured on the loaded 2-core VM: 1 worker +30% CPU, 2 workers +55%, and
 * slower wall time than checking in order (see README, Verification cost).
 */
export function workersForIdleCores(cores: number, loadAverage1m: number): number {
  const idle = Math.round(cores - loadAverage1m);
  return idle >= 2 ? Math.min(idle, VERIFY_WORKERS_MAX) : 0;
}

function frameViolation(scan: Extract<FrameScan, { kind: 'invalid' }>): Violation {
  return { height: scan.height, rule: 'record-checksum', message: `the record at byte ${scan.offset} is damaged (${scan.reason}): tampering or media damage — or, if it is the last record, an append a crash interrupted, which the node drops when it next starts` };
}

async function checkFramesInOrder(frames: AsyncIterable<FrameScan>, initial: ChainState, context: ValidityContext, onChecked: (height: number, counts: RecordCounts, frameBytes: number) => void): Promise<{ state: ChainState; violation?: Violation }> {
  let state = initial;
  for await (const scan of frames) {
    if (scan.kind === 'invalid') return { state, violation: frameViolation(scan) };
    const result = checkRecord(context, state, scan.body, scan.height);
    if (!result.ok) return { state, violation: result.violation };
    state = result.state;
    onChecked(scan.height, result.counts, scan.frameBytes);
  }
  return { state };
}
