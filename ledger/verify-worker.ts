// Worker thread of `verifyLedger`'s parallel path (./verify-parallel.ts). It receives runs of consecutive
// block records with the chain state before the first, checks them in order exactly as the in-order path
// does (./verify-record.ts) and answers with the counts of the blocks that passed, the state after the
// last of them and the first violation, if any.
import { parentPort } from 'node:worker_threads';
import { assert } from '../common/assert.ts';
import { checkRecordRun, type RecordRunTask } from './verify-record.ts';

const port = parentPort;
assert(port !== null, 'verify-worker.ts runs only as a worker thread (see verify-parallel.ts)');
// The bodies go back with the answer (moved, not copied) so the main thread can resend them when it
// predicted the state before the run wrongly (a governance change in an earlier run).
port.on('message', (task: RecordRunTask) => port.postMessage({ result: checkRecordRun(task), bodies: task.bodies }, [task.bodies]));
