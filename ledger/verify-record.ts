// One stored block record checked on top of a chain state: decode it, check it holds the height it is
// stored at, apply every validity rule. Shared by `verifyLedger`'s in-order path and its worker threads
// (./verify-worker.ts), so both judge a record with exactly the same code and report the same violation.
// A worker gets runs of consecutive records (`checkRecordRun`) with the state before the first.
import { isEntenteError } from '../common/errors.ts';
import { decodeBlock } from './block.ts';
import { ed25519Verifier } from './crypto/ed25519.ts';
import { nodeHasher } from './crypto/sha256-node.ts';
import { checkBlock, type ChainState, type ValidityContext, type Violation } from './validity.ts';

/** What a verified block adds to the report's totals. */
export interface RecordCounts {
  readonly transactions: number;
  readonly payloads: number;
  readonly signatures: number;
}

export type RecordCheck =
  | { readonly ok: true; readonly state: ChainState; readonly counts: RecordCounts }
  | { readonly ok: false; readonly violation: Violation };

export function checkRecord(context: ValidityContext, state: ChainState, body: Uint8Array, height: number): RecordCheck {
  let block;
  try {
    block = decodeBlock(body);
  } catch (error) {
    if (!isEntenteError(error)) throw error;
    return { ok: false, violation: { height, rule: 'encoding', message: error.message } };
  }
  if (block.header.height !== height) {
    return { ok: false, violation: { height, rule: 'height', message: `the record for height ${height} holds a header for height ${block.header.height}` } };
  }
  const result = checkBlock(context, state, block);
  if (!result.ok) return result;
  const counts = {
    transactions: block.transactionBytes.length,
    payloads: block.payloads.length,
    signatures: block.certificate.signatures.length + block.batches.length,
  };
  return { ok: true, state: result.state, counts };
}

export interface RecordRunTask {
  readonly taskId: number;
  readonly firstHeight: number;
  /** The records' bodies back to back; `lengths[i]` bytes belong to height firstHeight + i. */
  readonly bodies: ArrayBuffer;
  readonly lengths: readonly number[];
  /** The chain state before `firstHeight` (predicted by the main thread; it re-checks the prediction). */
  readonly state: ChainState;
}

export interface RecordRunResult {
  readonly taskId: number;
  /** One entry per block that passed, in height order. */
  readonly counts: readonly RecordCounts[];
  /** The state after the last block that passed (the task's state when none did). */
  readonly state: ChainState;
  readonly violation?: Violation;
}

/** Checks a run in order with node:crypto hashing and THE Ed25519 verifier, as a worker thread does. */
export function checkRecordRun(task: RecordRunTask): RecordRunResult {
  const context = { hasher: nodeHasher, verifier: ed25519Verifier };
  const counts: RecordCounts[] = [];
  let state = task.state;
  let offset = 0;
  for (const [i, length] of task.lengths.entries()) {
    const body = new Uint8Array(task.bodies, offset, length);
    offset += length;
    const result = checkRecord(context, state, body, task.firstHeight + i);
    if (!result.ok) return { taskId: task.taskId, counts, state, violation: result.violation };
    counts.push(result.counts);
    state = result.state;
  }
  return { taskId: task.taskId, counts, state };
}
