// Child of test/ledger/transaction-index-crash.test.ts: plays a ledger node's use of the persistent
// transaction index until it is killed. Each block is first made durable in a log (the block store's
// part: one line per height, fdatasynced), then added to the index, whose runs of 50 ids are written off
// the event loop as a serving node writes them. On start it opens the index against the logged head and
// replays every logged block, as LedgerChain.open does. Block h holds 1 + (h mod 23) ids, all derived
// from h, so the parent can recompute every id and its place.
import { appendFileSync, closeSync, fdatasyncSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PersistentTransactionIndex } from '../../../ledger/store/committed-transaction-index.ts';
import { crashBlockHash, crashBlockIds, CRASH_RUN_ENTRIES } from './tx-index-crash-chain.ts';

const directory = process.argv[2]!;
const log = join(directory, 'blocks.log');
let head = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => line !== '').length : 0;
const index = PersistentTransactionIndex.open(join(directory, 'transactions'), { headHeight: head, blockHash: crashBlockHash, runEntries: CRASH_RUN_ENTRIES });
for (let height = 1; height <= head; height++) index.add(height, crashBlockIds(height), crashBlockHash(height));
index.serving();
process.stdout.write('ready\n');
const fd = openSync(log, 'a');
try {
  for (;;) {
    const height = head + 1;
    appendFileSync(fd, `${height}\n`);
    fdatasyncSync(fd);
    head = height;
    index.add(height, crashBlockIds(height), crashBlockHash(height));
    await nextTurn(); // the run being written goes on between blocks
  }
} finally {
  closeSync(fd);
}
