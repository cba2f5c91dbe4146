// `npm run bench:transaction-index`: the committed-transaction index a gateway keeps (every committed
// transaction id → its block; the replay rule asks it for every transaction of every proposal), side by
// side in one run: the all-in-memory table every gateway used to keep (MemoryTransactionIndex, refused
// beyond 20 million ids) and the persistent index (PersistentTransactionIndex: the newest ids in memory,
// older ones in sorted run files with a Bloom filter each; ledger/store/committed-transaction-index.ts).
// For BENCH_IDS ids (default 8,000,000) in blocks of BENCH_BLOCK_IDS (default 500), it prints:
//   - memory held per id, and the run files' bytes on disk;
//   - adding: µs per id (writing the runs included), and the longest event-loop delay while a run is
//     sealed (p50, max over the runs: a run is built a step at a time on the loop, written off it);
//   - lookups, ns each: an id of the newest blocks, an id of the oldest, and an absent one (what every new
//     transaction of a proposal is: the filters answer most, a false positive costs one page read);
//   - a restart: opening the runs and replaying the blocks above them, against rebuilding the whole
//     table (what every start did, on top of reading the blocks);
//   - how an absent id's lookup grows with the number of runs (runs are never merged: one filter per
//     run is checked), with small runs of 65,536 ids so that 96 of them fit in the run time.
// Writes bench/results/transaction-index-<date>.{json,md}.
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryTransactionIndex, PersistentTransactionIndex, RUN_ENTRIES_DEFAULT, type CommittedTransactionIndex } from '../ledger/store/committed-transaction-index.ts';
import { machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { percentiles, round } from './support/stats.ts';

const totalIds = Number(process.env['BENCH_IDS'] ?? 8_000_000);
const blockIds = Number(process.env['BENCH_BLOCK_IDS'] ?? 500);
const lookups = 200_000;

/**
 * The ids, as one buffer outside the V8 heap, handed out a block at a time as hex (as the chain hands them
 * to the index): millions of id strings held at once would make the bench's own garbage collections the
 * longest pauses measured, which a gateway (that holds only its recent blocks) does not have.
 */
class Blocks {
  readonly count = Math.ceil(totalIds / blockIds);
  private readonly bytes = randomBytes(32 * totalIds);

  ids(block: number): string[] {
    const first = block * blockIds;
    return Array.from({ length: Math.min(blockIds, totalIds - first) }, (_, i) => this.bytes.toString('hex', (first + i) * 32, (first + i) * 32 + 32));
  }
}

/** Stand-in block hashes (a run records its last block's and checks it on opening). */
function blockHashAt(height: number): Uint8Array {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, height);
  return hash;
}

interface Figures {
  readonly memoryBytesPerId: number;
  /** The runs' share: filter and page index per id they hold. */
  readonly runMemoryBytesPerSealedId: number | null;
  readonly diskBytes: number;
  readonly addMicrosPerId: number;
  readonly sealPauseMs: { readonly p50: number; readonly max: number; readonly count: number } | null;
  readonly lookupNs: { readonly newest: number; readonly oldest: number; readonly absent: number };
  readonly restartMs: number;
}

function timeLookups(index: CommittedTransactionIndex, ids: readonly string[], expectFound: boolean): number {
  const started = process.hrtime.bigint();
  let found = 0;
  for (const id of ids) if (index.has(id)) found += 1;
  const ns = Number(process.hrtime.bigint() - started) / ids.length;
  if (found !== (expectFound ? ids.length : 0)) throw new Error(`lookups answered ${found} of ${ids.length} found, expected ${expectFound ? 'all' : 'none'}`);
  return ns;
}

function sample(blocks: Blocks, fromBlock: number, toBlock: number): string[] {
  return Array.from({ length: lookups }, () => {
    const block = blocks.ids(fromBlock + Math.floor(Math.random() * (toBlock - fromBlock)));
    return block[Math.floor(Math.random() * block.length)]!;
  });
}

async function measure(name: string, blocks: Blocks, open: () => CommittedTransactionIndex, directory: string | null): Promise<Figures> {
  const pauses: number[] = [];
  let index = open();
  const started = performance.now();
  for (let i = 0; i < blocks.count; i++) {
    const persistent = index instanceof PersistentTransactionIndex ? index : null;
    const flushedBefore = persistent?.flushedHeight ?? 0;
    index.add(i + 1, blocks.ids(i), blockHashAt(i + 1));
    if (persistent !== null && persistent.flushedHeight > flushedBefore) {
      // A run is being sealed: built a step at a time between event-loop turns, written off the loop.
      // The figure is the longest the loop was held meanwhile (blocks are milliseconds apart on a real
      // chain, so the seal runs beside them; here the adds wait for it).
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      await persistent.idle();
      delay.disable();
      pauses.push(delay.max / 1e6);
    }
  }
  const addMicrosPerId = ((performance.now() - started) * 1000) / totalIds;
  const memoryBytes = index instanceof PersistentTransactionIndex ? index.memoryBytes : (index as MemoryTransactionIndex).memoryBytes;
  const sealedMemory = index instanceof PersistentTransactionIndex ? round(index.runMemoryBytes / (index.size - index.recentSize), 2) : null;
  const newestBlocks = Math.max(1, Math.floor(blocks.count / 100));
  const lookupNs = {
    newest: timeLookups(index, sample(blocks, blocks.count - newestBlocks, blocks.count), true),
    oldest: timeLookups(index, sample(blocks, 0, newestBlocks), true),
    absent: timeLookups(index, Array.from({ length: lookups }, () => randomBytes(32).toString('hex')), false),
  };
  await index.close();
  const restartStarted = performance.now();
  index = open();
  for (let i = 0; i < blocks.count; i++) index.add(i + 1, blocks.ids(i), blockHashAt(i + 1));
  const restartMs = performance.now() - restartStarted;
  if (index.size !== totalIds) throw new Error(`${name}: ${index.size} ids after the restart, expected ${totalIds}`);
  await index.close();
  const diskBytes = directory === null ? 0 : readdirSync(directory).reduce((sum, file) => sum + statSync(join(directory, file)).size, 0);
  const sorted = percentiles(pauses);
  return {
    memoryBytesPerId: round(memoryBytes / totalIds, 2), runMemoryBytesPerSealedId: sealedMemory, diskBytes, addMicrosPerId: round(addMicrosPerId, 3),
    sealPauseMs: pauses.length === 0 ? null : { p50: round(sorted.p50, 1), max: round(Math.max(...pauses), 1), count: pauses.length },
    lookupNs: { newest: Math.round(lookupNs.newest), oldest: Math.round(lookupNs.oldest), absent: Math.round(lookupNs.absent) },
    restartMs: Math.round(restartMs),
  };
}

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const machine = machineFacts();
  console.log(`bench:transaction-index — ${totalIds} ids in blocks of ${blockIds}; runs of ${RUN_ENTRIES_DEFAULT} ids`);
  const blocks = new Blocks();
  const memory = await measure('memory', blocks, () => new MemoryTransactionIndex(Number.MAX_SAFE_INTEGER), null);
  console.log('all in memory', JSON.stringify(memory));
  const directory = mkdtempSync(join(tmpdir(), 'entente-bench-txindex-'));
  let persistent: Figures;
  try {
    persistent = await measure('persistent', blocks, () => {
      const index = PersistentTransactionIndex.open(directory, { headHeight: blocks.count, blockHash: blockHashAt });
      index.serving();
      return index;
    }, directory);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  console.log('persistent   ', JSON.stringify(persistent));
  const rows: [string, (f: Figures) => string][] = [
    ['memory per id (bytes)', (f) => String(f.memoryBytesPerId)],
    ['of which the runs, per id they hold (bytes)', (f) => (f.runMemoryBytesPerSealedId === null ? '—' : String(f.runMemoryBytesPerSealedId))],
    ['on disk (MiB)', (f) => String(round(f.diskBytes / 2 ** 20, 1))],
    ['adding, µs per id', (f) => String(f.addMicrosPerId)],
    ['longest event-loop delay while a run is sealed, p50 / max ms (runs)', (f) => (f.sealPauseMs === null ? '—' : `${f.sealPauseMs.p50} / ${f.sealPauseMs.max} (${f.sealPauseMs.count})`)],
    ['lookup, id of the newest 1% of blocks (ns)', (f) => String(f.lookupNs.newest)],
    ['lookup, id of the oldest 1% of blocks (ns)', (f) => String(f.lookupNs.oldest)],
    ['lookup, absent id (ns)', (f) => String(f.lookupNs.absent)],
    ['restart: open + index every block again (ms)', (f) => String(f.restartMs)],
  ];
  const markdown = [
    `# bench:transaction-index — ${date}`, '', machineLine(machine), '',
    `${totalIds.toLocaleString('en-US')} committed transaction ids in blocks of ${blockIds}, one process, nothing else running in it. "All in memory" is the table every gateway kept before (a cap of 20 million ids); "persistent" seals every ${RUN_ENTRIES_DEFAULT.toLocaleString('en-US')} ids into a sorted run file with a Bloom filter (ledger/store/committed-transaction-index.ts). A restart replays every stored block into the index; the persistent one skips the blocks its runs hold.`,
    '', '| measure | all in memory | persistent | ratio |', '|---|---|---|---|',
    ...rows.map(([label, value]) => {
      const a = Number(value(memory));
      const b = Number(value(persistent));
      return `| ${label} | ${value(memory)} | ${value(persistent)} | ${Number.isFinite(a) && Number.isFinite(b) && a > 0 ? `×${round(b / a, 2)}` : ''} |`;
    }),
  ].join('\n');
  const growth = await absentLookupByRuns();
  const growthMarkdown = [
    '', '', 'An absent id\'s lookup as runs accumulate (runs are never merged, so each adds a filter to check; runs of 65,536 ids here, so their filters are 128 KiB each where a default run\'s are 2–4 MiB):', '',
    '| runs | absent lookup (ns, median of 3) |', '|---|---|',
    ...growth.map((g) => `| ${g.runs} | ${g.absentNs} |`),
  ].join('\n');
  console.log(markdown + growthMarkdown);
  writeResultFiles('transaction-index', date, { date, machine, totalIds, blockIds, runEntries: RUN_ENTRIES_DEFAULT, memory, persistent, absentLookupByRuns: growth }, markdown + growthMarkdown);
}

async function absentLookupByRuns(): Promise<{ runs: number; absentNs: number }[]> {
  const results: { runs: number; absentNs: number }[] = [];
  const directory = mkdtempSync(join(tmpdir(), 'entente-bench-txruns-'));
  try {
    for (const runs of [8, 32, 96]) {
      rmSync(directory, { recursive: true, force: true });
      const index = PersistentTransactionIndex.open(directory, { headHeight: Number.MAX_SAFE_INTEGER, blockHash: blockHashAt, runEntries: 65_536 });
      for (let height = 1; index.runCount < runs; height++) index.add(height, Array.from({ length: 512 }, () => randomBytes(32).toString('hex')), blockHashAt(height));
      const absent = Array.from({ length: lookups }, () => randomBytes(32).toString('hex'));
      const rounds = [0, 1, 2].map(() => timeLookups(index, absent, false)).sort((a, b) => a - b);
      results.push({ runs, absentNs: Math.round(rounds[1]!) });
      await index.close();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return results;
}

await main();
