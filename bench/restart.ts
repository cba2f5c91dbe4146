// `npm run bench:restart`: what a gateway's ledger costs to open at start, with and without the chain
// checkpoint (ledger/store/chain-checkpoint.ts), side by side in one run. A ledger directory of
// BENCH_BLOCKS blocks (default 6,000) of BENCH_BLOCK_TXS transactions (default 500, one 64-byte payload
// each, rotating over four owners: 3 million, so the index holds two sealed runs and ~0.9 million recent
// ids, as a gateway's does) is built once, with its transaction index runs, as a gateway leaves it;
// then, alternating round by round (BENCH_ROUNDS, default 3), the chain is opened three ways:
//   - genesis: no checkpoint, every stored block read and checked again (what every start did before);
//   - head: a checkpoint at the stored head (what a gateway writes when it stops: a planned restart);
//   - middle: a checkpoint at half the height (a crash halfway between two periodic checkpoints), so
//     half the blocks are checked again;
//   - stopped: the head's checkpoint after a stop that also kept the index's recent ids in a short run
//     (PersistentTransactionIndex.close({ keepRecent: true }), as LedgerNode.stop does), which the open
//     takes back instead of reading and hashing those blocks again. "head" is then a crash just after a
//     checkpoint: the short run is missing.
// Each prints ms, µs per stored transaction (medians over the rounds) and the ratio to "genesis"; and the
// checkpoint's size and the time to write one. Writes bench/results/restart-<date>.{json,md}.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash } from '../ledger/block.ts';
import { ed25519Verifier } from '../ledger/crypto/ed25519.ts';
import { genesisHash } from '../ledger/genesis.ts';
import { LedgerChain } from '../ledger/node/ledger-chain.ts';
import { CHECKPOINT_FILE, readCheckpointFile, writeCheckpointFile, type ChainCheckpoint } from '../ledger/store/chain-checkpoint.ts';
import { PersistentTransactionIndex } from '../ledger/store/committed-transaction-index.ts';
import { SegmentBlockStore } from '../ledger/store/segment-store.ts';
import { createTestNetwork, TestChainBuilder, type TestNetwork } from '../ledger/testing/test-network.ts';
import { machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { round } from './support/stats.ts';

const blockCount = Number(process.env['BENCH_BLOCKS'] ?? 6_000);
const blockTxs = Number(process.env['BENCH_BLOCK_TXS'] ?? 500);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const totalTxs = blockCount * blockTxs;

type Variant = 'genesis' | 'head' | 'middle' | 'stopped';
const variants: readonly Variant[] = ['genesis', 'head', 'middle', 'stopped'];

async function openStore(network: TestNetwork, directory: string): Promise<SegmentBlockStore> {
  return SegmentBlockStore.open(directory, { genesisHash: genesisHash(network.hasher, network.genesis), hasher: network.hasher });
}

/** Opens the chain as LedgerNode.start does: the index runs, then the chain from the checkpoint if any. */
async function openChain(network: TestNetwork, directory: string, checkpoint: ChainCheckpoint | undefined, keepRecent = false): Promise<{ ms: number; from: number }> {
  const store = await openStore(network, directory);
  const started = performance.now();
  const index = PersistentTransactionIndex.open(join(directory, 'transactions'), {
    headHeight: store.head().height, blockHash: (height) => blockHash(network.hasher, store.readBlockSync(height)!.headerBytes),
  });
  const chain = LedgerChain.open({
    genesis: network.genesis, store, transactionIndex: index, hasher: network.hasher, verifier: ed25519Verifier, payloads: () => undefined,
    ...(checkpoint === undefined ? {} : { checkpoint, checkpointRefused: (reason: string) => { throw new Error(`checkpoint refused: ${reason}`); } }),
  });
  const ms = performance.now() - started;
  if (chain.headHeight() !== blockCount) throw new Error(`opened at ${chain.headHeight()}, expected ${blockCount}`);
  await store.close();
  await index.close({ keepRecent });
  return { ms, from: chain.resumedFrom };
}

/** The chain's checkpoint at `height`: the chain opened over a store of only those blocks. */
async function checkpointAt(network: TestNetwork, source: string, height: number): Promise<ChainCheckpoint> {
  const directory = mkdtempSync(join(tmpdir(), 'entente-bench-restart-part-'));
  try {
    const from = await openStore(network, source);
    const to = await openStore(network, directory);
    for (let h = 1; h <= height; h++) {
      const block = from.readBlockSync(h)!;
      to.appendSync(block, blockHash(network.hasher, block.headerBytes));
    }
    await from.close();
    const chain = LedgerChain.open({ genesis: network.genesis, store: to, hasher: network.hasher, verifier: ed25519Verifier, payloads: () => undefined });
    await to.close();
    return { height, headHash: chain.state.headHash, chain: chain.checkpointState(), node: {} };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const machine = machineFacts();
  console.log(`bench:restart — ${blockCount} blocks of ${blockTxs} transactions (${totalTxs}), ${rounds} rounds`);
  const network = createTestNetwork({ nodes: 4 });
  const directory = mkdtempSync(join(tmpdir(), 'entente-bench-restart-'));
  try {
    const builder = new TestChainBuilder(network, { selfCheck: false });
    const store = await openStore(network, directory);
    const buildStarted = performance.now();
    for (let b = 0; b < blockCount; b++) {
      const [block] = builder.blocks(1, blockTxs);
      store.appendSync(block!, blockHash(network.hasher, block!.headerBytes));
    }
    await store.close();
    console.log(`built in ${round((performance.now() - buildStarted) / 1000, 1)} s`);
    // A first open writes the index runs, as the gateway that stored these blocks had.
    await openChain(network, directory, undefined);

    const checkpoints = { head: await checkpointAt(network, directory, blockCount), middle: await checkpointAt(network, directory, Math.floor(blockCount / 2)) };
    const writeStarted = performance.now();
    const checkpointBytes = await writeCheckpointFile(directory, checkpoints.head);
    const writeMs = performance.now() - writeStarted;
    const read = readCheckpointFile(directory);
    if (read === null || !read.ok) throw new Error('the checkpoint just written cannot be read');
    if (statSync(join(directory, CHECKPOINT_FILE)).size !== checkpointBytes) throw new Error('checkpoint size mismatch');
    // A stop's short run of the recent ids, kept aside: present for "stopped", absent for the others.
    const runsDirectory = join(directory, 'transactions');
    const runsBefore = new Set(readdirSync(runsDirectory));
    const stopStarted = performance.now();
    await openChain(network, directory, checkpoints.head, true);
    const shortRunName = readdirSync(runsDirectory).find((name) => !runsBefore.has(name));
    if (shortRunName === undefined) throw new Error('the stop wrote no short run');
    const shortRunPath = join(runsDirectory, shortRunName);
    const shortRun = readFileSync(shortRunPath);
    console.log(`a stop's short run: ${shortRunName}, ${shortRun.length} bytes (open and stop: ${Math.round(performance.now() - stopStarted)} ms)`);

    const timings: Record<Variant, number[]> = { genesis: [], head: [], middle: [], stopped: [] };
    for (let r = 0; r < rounds; r++) {
      // Rotating the order each round, so no variant always runs first (cold caches) or last.
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + r) % variants.length]!;
        if (variant === 'stopped' && !existsSync(shortRunPath)) writeFileSync(shortRunPath, shortRun);
        if (variant !== 'stopped' && existsSync(shortRunPath)) unlinkSync(shortRunPath);
        const opened = await openChain(network, directory, variant === 'genesis' ? undefined : variant === 'stopped' ? checkpoints.head : checkpoints[variant]);
        timings[variant].push(opened.ms);
        console.log(`round ${r + 1} ${variant.padEnd(7)} ${Math.round(opened.ms)} ms (replayed after height ${opened.from})`);
      }
    }
    const base = median(timings.genesis);
    const rows = variants.map((variant) => {
      const ms = median(timings[variant]);
      return { variant, ms: Math.round(ms), microsPerTx: round((ms * 1000) / totalTxs, 2), ratio: round(ms / base, 3) };
    });
    const labels: Record<Variant, string> = {
      genesis: 'no checkpoint: every block checked again',
      head: 'checkpoint at the head, recent ids lost (a crash right after a checkpoint)',
      middle: 'checkpoint at half the height',
      stopped: 'checkpoint at the head and the recent ids kept in a short run (a stop)',
    };
    const markdown = [
      `# bench:restart — ${date}`, '', machineLine(machine), '',
      `A gateway's ledger of ${blockCount.toLocaleString('en-US')} blocks of ${blockTxs} transactions (${totalTxs.toLocaleString('en-US')}; one 64-byte payload each, four owners), opened as LedgerNode.start does: the transaction index's runs, then LedgerChain.open, with and without a chain checkpoint. Medians of ${rounds} rounds, variants alternating.`,
      '', '| open | ms | µs per stored transaction | ratio to no checkpoint |', '|---|---:|---:|---:|',
      ...rows.map((row) => `| ${labels[row.variant]} | ${row.ms} | ${row.microsPerTx} | ×${row.ratio} |`),
      '', `Every way of opening first opens the index runs and indexes the ids of the blocks at or below its starting point that no run holds (up to a run's 1,048,576 ids, kept in memory until sealed); the blocks after its starting point are read and checked again. After a stop, those ids come back from the short run the stop wrote (${shortRunName}, ${shortRun.length.toLocaleString('en-US')} bytes).`,
      '', `Checkpoint: ${checkpointBytes} bytes, written (serialized, synced, renamed) in ${round(writeMs, 1)} ms. A gateway's also holds its own origin index (at most 65,536 recent capture origins) and grows with that, not with the chain.`,
    ].join('\n');
    console.log(markdown);
    writeResultFiles('restart', date, { date, machine, blockCount, blockTxs, rounds, timings, rows, checkpointBytes, writeMs: round(writeMs, 1) }, markdown);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

await main();
