// `npm run bench:ledger`: the ledger's costs against the raw cost of the cryptography it must do.
// 1. Raw limits on this machine: SHA-256 (node:crypto and @noble/hashes), Ed25519 sign/verify, fdatasync.
// 2. Append (validity check + durable store append, what a node does per committed block) with 1 KB
//    payloads in blocks of 1..10,000 transactions, against the raw cost of the same hashing, signature
//    checks and one fsync per block, computed from the rates measured in step 1.
// 3. Proof generation and offline verification times.
// 4. A 1,000,000-transaction ledger built on disk and verified from genesis (goal: < 60 s).
// Writes bench/results/ledger-<date>.json and .md. Options: LEDGER_BENCH_MILLION=0 skips step 4;
// LEDGER_BENCH_MILLION_TX=n changes its size.
import { mkdtemp, open, rm, writeFile, mkdir } from 'node:fs/promises';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { type Block } from '../ledger/block.ts';
import { browserEd25519Verifier } from '../ledger/crypto/ed25519-browser.ts';
import { createEd25519Signer, ed25519Verifier, generateEd25519KeyPair } from '../ledger/crypto/ed25519.ts';
import { browserHasher } from '../ledger/crypto/sha256-browser.ts';
import { nodeHasher } from '../ledger/crypto/sha256-node.ts';
import { GENESIS_FILE, writeGenesisFile } from '../ledger/genesis.ts';
import { buildTransactionProof, checkTransactionProof } from '../ledger/proof.ts';
import { SegmentBlockStore } from '../ledger/store/segment-store.ts';
import { createTestNetwork, TestChainBuilder, type TestNetwork } from '../ledger/testing/test-network.ts';
import { transactionId } from '../ledger/transaction.ts';
import { checkBlock, genesisState } from '../ledger/validity.ts';
import { verifyLedger } from '../ledger/verify-ledger.ts';

const PAYLOAD_BYTES = 1024;
const BLOCK_SIZES = [1, 10, 100, 1000, 10_000];
const millionTx = process.env['LEDGER_BENCH_MILLION'] === '0' ? 0 : Number(process.env['LEDGER_BENCH_MILLION_TX'] ?? 1_000_000);
const work = await mkdtemp(join(tmpdir(), 'entente-bench-ledger-'));
const log = (line: string): void => void process.stdout.write(`${line}\n`);

function percentiles(values: number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0, 3);
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted[sorted.length - 1] ?? 0, 3) };
}

function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Runs `fn` repeatedly for about `ms` milliseconds; returns calls per second. */
function rate(fn: () => void, ms = 700): number {
  for (let i = 0; i < 50; i++) fn();
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    for (let i = 0; i < 20; i++) fn();
    calls += 20;
  }
  return calls / ((performance.now() - started) / 1000);
}

// ---- 1. raw limits ----
log('# raw limits');
const kib = new Uint8Array(1024).fill(7);
const mib = new Uint8Array(1024 * 1024).fill(9);
const small = new Uint8Array(65).fill(3);
const raw = {
  sha256NodeMBps1KiB: round((rate(() => nodeHasher.sha256(kib)) * 1024) / 1e6),
  sha256NodeMBps1MiB: round((rate(() => nodeHasher.sha256(mib), 1000) * mib.length) / 1e6),
  sha256NobleMBps1KiB: round((rate(() => nobleSha256(kib)) * 1024) / 1e6),
  sha256NodeCallsPerSec65B: Math.round(rate(() => nodeHasher.merkleNode(small.subarray(0, 32), small.subarray(32, 64)))),
  ed25519SignPerSec: 0,
  ed25519VerifyPerSec: 0,
  ed25519NobleVerifyPerSec: 0,
  fdatasyncPerSec: 0,
};
const pair = generateEd25519KeyPair();
const signer = createEd25519Signer(pair.secretKey);
const message = new Uint8Array(80).fill(1);
const signature = signer.sign(message);
raw.ed25519SignPerSec = Math.round(rate(() => signer.sign(message)));
raw.ed25519VerifyPerSec = Math.round(rate(() => ed25519Verifier.verify(pair.publicKey, message, signature)));
raw.ed25519NobleVerifyPerSec = Math.round(rate(() => browserEd25519Verifier.verify(pair.publicKey, message, signature), 1000));
{
  const file = await open(join(work, 'fsync-probe'), 'w');
  const page = new Uint8Array(4096);
  let position = 0;
  const started = performance.now();
  let syncs = 0;
  while (performance.now() - started < 2000) {
    await file.write(page, 0, page.length, position);
    position += page.length;
    await file.datasync();
    syncs++;
  }
  raw.fdatasyncPerSec = Math.round(syncs / ((performance.now() - started) / 1000));
  await file.close();
}
log(JSON.stringify(raw, null, 1));

/** Raw seconds for the hashing and signature checks a block needs (what any verifier must do at least). */
function rawCostSeconds(blocks: readonly Block[], fsyncs: number): number {
  let payloadBytes = 0;
  let smallHashes = 0;
  let txBytes = 0;
  let signatures = 0;
  for (const block of blocks) {
    const n = block.transactionBytes.length;
    for (const tx of block.transactionBytes) txBytes += tx.length;
    for (const p of block.payloads) payloadBytes += p.data.length + 48;
    smallHashes += 2 * n + 1; // leaf hash per tx, ~n interior nodes, the header
    signatures += block.certificate.signatures.length + block.batches.length;
  }
  const bytesPerSec = raw.sha256NodeMBps1KiB * 1e6;
  return (payloadBytes + txBytes) / bytesPerSec + smallHashes / raw.sha256NodeCallsPerSec65B + signatures / raw.ed25519VerifyPerSec + fsyncs / raw.fdatasyncPerSec;
}

// ---- 2. append ----
log('\n# append: validity check + durable append, 1 KB payloads');
interface AppendRow { txPerBlock: number; blocks: number; txPerSec: number; blockLatencyMs: ReturnType<typeof percentiles>; rawSeconds: number; seconds: number; ratioVsRaw: number }
const appendRows: AppendRow[] = [];
let proofSource: { network: TestNetwork; blocks: Block[]; dir: string } | null = null;
for (const size of BLOCK_SIZES) {
  const network = createTestNetwork({ nodes: 4 });
  const builder = new TestChainBuilder(network, { payloadBytes: PAYLOAD_BYTES, selfCheck: false });
  const count = Math.max(5, Math.min(400, Math.ceil(20_000 / size)));
  const blocks = builder.blocks(count, size);
  const dir = join(work, `append-${size}`);
  const store = await SegmentBlockStore.open(dir);
  let state = genesisState(nodeHasher, network.genesis);
  const latencies: number[] = [];
  const started = performance.now();
  for (const block of blocks) {
    const t0 = performance.now();
    const result = checkBlock({ hasher: nodeHasher, verifier: ed25519Verifier }, state, block);
    if (!result.ok) throw new Error(`bench chain invalid: ${result.violation.message}`);
    await store.append(block, result.hash);
    state = result.state;
    latencies.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  const rawSeconds = rawCostSeconds(blocks, blocks.length);
  const row = { txPerBlock: size, blocks: count, txPerSec: Math.round((count * size) / seconds), blockLatencyMs: percentiles(latencies), rawSeconds: round(rawSeconds, 3), seconds: round(seconds, 3), ratioVsRaw: round(seconds / rawSeconds, 2) };
  appendRows.push(row);
  log(`${String(size).padStart(6)} tx/block × ${count}: ${row.txPerSec} tx/s, block p50 ${row.blockLatencyMs.p50} ms p99 ${row.blockLatencyMs.p99} ms, ${row.ratioVsRaw}× raw crypto+fsync cost`);
  if (size === 100) {
    await writeGenesisFile(join(dir, GENESIS_FILE), network.genesis);
    proofSource = { network, blocks, dir };
  }
}

// ---- 3. proofs ----
log('\n# proofs');
const proofs = await (async () => {
  const { network, blocks, dir } = proofSource!;
  const store = await SegmentBlockStore.open(dir, { readOnly: true });
  const firstLocate = performance.now();
  await store.locateTransaction(transactionId(nodeHasher, blocks[0]!.transactionBytes[0]!));
  const indexBuildMs = performance.now() - firstLocate;
  const genTimes: number[] = [];
  const checkNode: number[] = [];
  const checkBrowser: number[] = [];
  const genesisHashBytes = genesisState(nodeHasher, network.genesis).headHash;
  for (let i = 0; i < 200; i++) {
    const block = blocks[(i * 7) % blocks.length]!;
    const txIndex = (i * 13) % block.transactionBytes.length;
    const t0 = performance.now();
    const location = await store.locateTransaction(transactionId(nodeHasher, block.transactionBytes[txIndex]!));
    const stored = (await store.readBlock(location!.height))!;
    const proof = buildTransactionProof(nodeHasher, { network: network.genesis.network, genesisHash: genesisHashBytes, membership: network.genesis.membership, block: stored, txIndex: location!.index });
    const json = JSON.stringify(proof);
    const t1 = performance.now();
    checkTransactionProof(nodeHasher, ed25519Verifier, JSON.parse(json));
    const t2 = performance.now();
    if (i < 40) checkTransactionProof(browserHasher, browserEd25519Verifier, JSON.parse(json));
    const t3 = performance.now();
    genTimes.push(t1 - t0);
    checkNode.push(t2 - t1);
    if (i < 40) checkBrowser.push(t3 - t2);
  }
  await store.close();
  return { ledgerTx: blocks.length * 100, txIndexBuildMs: round(indexBuildMs), generateMs: percentiles(genTimes), checkNodeMs: percentiles(checkNode), checkBrowserMs: percentiles(checkBrowser) };
})();
log(JSON.stringify(proofs, null, 1));

// ---- 4. full-chain verification, 1,000,000 transactions ----
const million = millionTx > 0 ? await (async () => {
  log(`\n# ${millionTx} transactions: build on disk, then verify from genesis`);
  const dir = join(work, 'million');
  await mkdir(dir, { recursive: true });
  const network = createTestNetwork({ nodes: 4 });
  await writeGenesisFile(join(dir, GENESIS_FILE), network.genesis);
  const builder = new TestChainBuilder(network, { payloadBytes: PAYLOAD_BYTES, selfCheck: false });
  const store = await SegmentBlockStore.open(dir);
  const perBlock = 10_000;
  const buildStarted = performance.now();
  const sampleBlocks: Block[] = [];
  for (let done = 0; done < millionTx; done += perBlock) {
    const [block] = builder.blocks(1, Math.min(perBlock, millionTx - done));
    await store.append(block!, nodeHasher.sha256(block!.headerBytes));
    if (sampleBlocks.length < 3) sampleBlocks.push(block!);
  }
  await store.close();
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  log(`built in ${round(buildSeconds)} s`);
  const report = await verifyLedger(dir);
  if (!report.ok) throw new Error(`million ledger failed verification: ${JSON.stringify(report.violation)}`);
  const seconds = report.durationMs / 1000;
  const rawSeconds = (rawCostSeconds(sampleBlocks, 0) / sampleBlocks.reduce((s, b) => s + b.transactionBytes.length, 0)) * report.transactions;
  const result = { transactions: report.transactions, blocks: report.blocks, bytes: report.bytes, buildSeconds: round(buildSeconds), verifySeconds: round(seconds, 2), verifyTxPerSec: Math.round(report.transactions / seconds), verifyMBps: round(report.bytes / 1e6 / seconds), rawCryptoSeconds: round(rawSeconds, 2), ratioVsRaw: round(seconds / rawSeconds, 2), goalUnder60s: seconds < 60 };
  log(JSON.stringify(result, null, 1));
  return result;
})() : null;

await rm(work, { recursive: true, force: true });

// ---- results ----
const date = new Date().toISOString().slice(0, 10);
const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: round(totalmem() / 2 ** 30), os: `${platform()} ${release()}`, node: process.version, loadAverage1m: round(loadavg()[0] ?? 0, 2) };
const note = 'Measured on a machine shared with other engineers\' builds and tests (see loadAverage1m); figures are lower bounds. Raw costs are computed from the raw rates measured in the same run.';
const results = { benchmark: 'ledger', date: new Date().toISOString(), machine, note, raw, append: appendRows, proofs, million };
const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
await mkdir(resultsDir, { recursive: true });
await writeFile(join(resultsDir, `ledger-${date}.json`), `${JSON.stringify(results, null, 2)}\n`);
const md = [
  `# Ledger benchmark ${date}`,
  '',
  `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, load average ${machine.loadAverage1m}. ${note}`,
  '',
  '## Raw limits',
  '',
  '| measure | value |',
  '|---|---|',
  ...Object.entries(raw).map(([k, v]) => `| ${k} | ${v} |`),
  '',
  '## Append (validity check + durable append, 1 KB payloads, 4 nodes)',
  '',
  '| tx/block | blocks | tx/s | block p50 ms | block p99 ms | raw crypto+fsync s | measured s | ratio |',
  '|---|---|---|---|---|---|---|---|',
  ...appendRows.map((r) => `| ${r.txPerBlock} | ${r.blocks} | ${r.txPerSec} | ${r.blockLatencyMs.p50} | ${r.blockLatencyMs.p99} | ${r.rawSeconds} | ${r.seconds} | ${r.ratioVsRaw}× |`),
  '',
  '## Proofs',
  '',
  `Ledger of ${proofs.ledgerTx} tx; building the tx-id index once: ${proofs.txIndexBuildMs} ms. Generate p50 ${proofs.generateMs.p50} ms / p99 ${proofs.generateMs.p99} ms; check (node:crypto) p50 ${proofs.checkNodeMs.p50} ms / p99 ${proofs.checkNodeMs.p99} ms; check (@noble, browser) p50 ${proofs.checkBrowserMs.p50} ms.`,
  '',
  '## Full-chain verification from genesis',
  '',
  million === null ? 'skipped' : `${million.transactions} tx in ${million.blocks} blocks (${round(million.bytes / 1e9, 2)} GB): verified in ${million.verifySeconds} s = ${million.verifyTxPerSec} tx/s (${million.verifyMBps} MB/s); raw crypto cost ${million.rawCryptoSeconds} s → ${million.ratioVsRaw}×; goal < 60 s: ${million.goalUnder60s ? 'met' : 'NOT met'}. Build took ${million.buildSeconds} s.`,
  '',
].join('\n');
await writeFile(join(resultsDir, `ledger-${date}.md`), md);
log(`\nwrote bench/results/ledger-${date}.json and .md`);
