// The persistent transaction index survives being killed at any moment, a run half written included: a
// child adds durable blocks and writes runs off the event loop until SIGKILL (support/
// tx-index-crash-child.ts); after each kill the index reopened against the durable head and replayed
// answers exactly for every block, holds no leftover temporary file, and its runs cover the heights
// without a gap.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { PersistentTransactionIndex } from '../../ledger/store/committed-transaction-index.ts';
import { parseRunFileName } from '../../ledger/store/transaction-run-file.ts';
import { crashBlockHash, crashBlockIds, CRASH_RUN_ENTRIES } from './support/tx-index-crash-chain.ts';
import { tempFolder } from '../support/temp-folder.ts';

const KILLS = 12;
const workDir = tempFolder('entente-txindex-crash-');

/** Starts the child, kills it `delayMs` after it is ready (or during start-up when `early`), resolves on exit. */
function runUntilKilled(script: string, directory: string, delayMs: number, early: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, directory], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const kill = (): void => void child.kill('SIGKILL');
    if (early) setTimeout(kill, delayMs);
    else child.stdout.on('data', () => setTimeout(kill, delayMs));
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the child exited by itself (code ${code}): ${stderr}`))));
  });
}

describe('PersistentTransactionIndex under SIGKILL', () => {
  it(`answers exactly for every durable block after each of ${KILLS} kills`, async () => {
    const script = join(workDir(), 'child.mjs');
    await build({ entryPoints: [fileURLToPath(new URL('./support/tx-index-crash-child.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: script, logLevel: 'silent' });
    const directory = join(workDir(), 'node');
    let runsSeen = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      await runUntilKilled(script, directory, 40 + ((kill * 97) % 400), kill % 5 === 4);
      const log = join(directory, 'blocks.log');
      const head = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((line) => line !== '').length : 0;
      const folder = join(directory, 'transactions');
      const names = existsSync(folder) ? readdirSync(folder).sort() : [];
      const runs = names.flatMap((name) => parseRunFileName(name) ?? []);
      runsSeen = Math.max(runsSeen, runs.length);
      // Whatever the kill interrupted: runs start at 1 and follow each other (a leftover .tmp is removed on opening).
      runs.forEach((run, i) => expect(run.firstHeight).toBe(i === 0 ? 1 : runs[i - 1]!.lastHeight + 1));
      const dropped: string[] = [];
      const index = PersistentTransactionIndex.open(folder, { headHeight: head, blockHash: crashBlockHash, runEntries: CRASH_RUN_ENTRIES, onDroppedRun: (file, reason) => dropped.push(`${file}: ${reason}`) });
      expect(readdirSync(folder).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      for (let height = 1; height <= head; height++) index.add(height, crashBlockIds(height), crashBlockHash(height));
      let ids = 0;
      for (let height = 1; height <= head; height++) {
        crashBlockIds(height).forEach((id, position) => expect(index.locate(id)).toEqual({ height, index: position }));
        ids += crashBlockIds(height).length;
      }
      expect(index.size).toBe(ids);
      for (const id of crashBlockIds(head + 1)) expect(index.has(id)).toBe(false); // a block never made durable
      expect(dropped).toEqual([]); // a kill never leaves a damaged run behind
      await index.close();
    }
    expect(runsSeen).toBeGreaterThan(10);
  }, 120_000);
});
