// Benchmark: committed transactions per second and commit latency of a 4-process consensus network on
// loopback with 1 KB transactions, at offered loads of 1,000 and 5,000 tx/s (open loop) and at saturation
// (closed loop), with this machine's Ed25519 verify rate measured in the same run as the baseline.
// Latency is from the client's POST to the node's answer, which comes once the transactions are durably
// committed on that node. Writes bench/results/consensus-<date>.json and .md.
// Run: npm run bench:consensus [-- --phase-ms 8000]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os';
import { createEd25519Signer, verifyEd25519 } from '../ledger/crypto/ed25519.ts';
import { LocalCluster } from '../test/consensus/local-cluster.ts';

const TX_BYTES = 1024;
const argIndex = process.argv.indexOf('--phase-ms');
const PHASE_MS = argIndex < 0 ? 8_000 : Number(process.argv[argIndex + 1]);
const TICK_MS = 10;
const SATURATION_CLIENTS = 8;
const SATURATION_BATCH = 400;

interface PhaseResult {
  readonly name: string;
  readonly offeredTxPerSec: number | null;
  readonly committedTxPerSec: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
}

let txCounter = 0;
const padding = 'x'.repeat(TX_BYTES);
function makeTxs(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const head = `bench ${process.pid} ${txCounter++} `;
    out.push(new TextEncoder().encode(head + padding.slice(head.length)));
  }
  return out;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summarize(name: string, offered: number | null, latencies: number[], acknowledged: number, failed: number, elapsedMs: number): PhaseResult {
  latencies.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 10) / 10;
  return {
    name, offeredTxPerSec: offered, committedTxPerSec: Math.round((acknowledged / elapsedMs) * 1000), acknowledged, failed,
    latencyMs: { p50: round(percentile(latencies, 50)), p90: round(percentile(latencies, 90)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1) ?? NaN) },
  };
}

/** Open loop: every TICK_MS a batch of rate·TICK_MS/1000 transactions goes to the next node, whatever came back. */
async function openLoop(cluster: LocalCluster, rate: number): Promise<PhaseResult> {
  const latencies: number[] = [];
  let acknowledged = 0;
  let failed = 0;
  const inflight: Promise<void>[] = [];
  const perTick = (rate * TICK_MS) / 1000;
  let owed = 0;
  let target = 0;
  const started = performance.now();
  for (let tick = 0; performance.now() - started < PHASE_MS; tick++) {
    owed += perTick;
    const count = Math.floor(owed);
    owed -= count;
    if (count > 0) {
      const txs = makeTxs(count);
      const sentAt = performance.now();
      inflight.push(cluster.submit(target++ % cluster.size, txs, AbortSignal.timeout(30_000)).then(
        () => {
          const latency = performance.now() - sentAt;
          for (let i = 0; i < count; i++) latencies.push(latency);
          acknowledged += count;
        },
        () => {
          failed += count;
        },
      ));
    }
    const next = started + (tick + 1) * TICK_MS;
    await sleep(Math.max(0, next - performance.now()));
  }
  await Promise.all(inflight);
  return summarize(`offered ${rate} tx/s`, rate, latencies, acknowledged, failed, performance.now() - started);
}

/** Closed loop: SATURATION_CLIENTS clients each keep one batch of SATURATION_BATCH transactions in flight. */
async function saturation(cluster: LocalCluster): Promise<PhaseResult> {
  const latencies: number[] = [];
  let acknowledged = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: SATURATION_CLIENTS }, async (_, client) => {
    while (performance.now() - started < PHASE_MS) {
      const txs = makeTxs(SATURATION_BATCH);
      const sentAt = performance.now();
      try {
        await cluster.submit(client % cluster.size, txs, AbortSignal.timeout(30_000));
        const latency = performance.now() - sentAt;
        for (let i = 0; i < txs.length; i++) latencies.push(latency);
        acknowledged += txs.length;
      } catch {
        failed += txs.length;
      }
    }
  }));
  return summarize('saturation', null, latencies, acknowledged, failed, performance.now() - started);
}

function ed25519VerifyRate(): number {
  const signer = createEd25519Signer(new Uint8Array(32).fill(7));
  const message = new Uint8Array(120).fill(1);
  const signature = signer.sign(message);
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < 1_000) {
    for (let i = 0; i < 100; i++) verifyEd25519(signer.publicKey, message, signature);
    count += 100;
  }
  return Math.round(count / ((performance.now() - started) / 1000));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const loadBefore = loadavg();
const verifyPerSec = ed25519VerifyRate();
process.stdout.write(`Ed25519 verify on this machine: ${verifyPerSec.toLocaleString('en-US')} /s (one core)\n`);
const cluster = await LocalCluster.create(4);
const phases: PhaseResult[] = [];
try {
  await cluster.startAll();
  await cluster.submit(0, makeTxs(10)); // warm-up: connections up, first block committed
  phases.push(await openLoop(cluster, 1_000));
  phases.push(await openLoop(cluster, 5_000));
  phases.push(await saturation(cluster));
  const heads = await Promise.all([0, 1, 2, 3].map((i) => cluster.status(i)));
  process.stdout.write(`final heights ${heads.map((h) => h.height).join(', ')}\n`);
} finally {
  await cluster.stopAll();
  cluster.remove();
}

process.stdout.write('\nphase                 committed tx/s   p50 ms   p90 ms   p99 ms   max ms   acked    failed\n');
for (const p of phases) {
  process.stdout.write(`${p.name.padEnd(22)}${String(p.committedTxPerSec).padStart(15)}${String(p.latencyMs.p50).padStart(9)}${String(p.latencyMs.p90).padStart(9)}${String(p.latencyMs.p99).padStart(9)}${String(p.latencyMs.max).padStart(9)}${String(p.acknowledged).padStart(9)}${String(p.failed).padStart(9)}\n`);
}
const sat = phases.find((p) => p.name === 'saturation');
if (sat !== undefined) {
  process.stdout.write(`\nsaturation throughput / single-core Ed25519 verify rate = ${(sat.committedTxPerSec / verifyPerSec).toFixed(3)} (transactions are not signature-checked here; the ratio shows how far consensus is from the crypto bound)\n`);
  process.stdout.write(`goals: >= 10,000 tx/s at saturation: ${sat.committedTxPerSec >= 10_000 ? 'met' : 'NOT met'}; p50 <= 15 ms at 1,000 tx/s: ${(phases[0]?.latencyMs.p50 ?? Infinity) <= 15 ? 'met' : 'NOT met'}\n`);
}

const date = new Date().toISOString().slice(0, 10);
const machine = { os: `${osType()} ${release()}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageBefore: loadBefore.map((x) => Math.round(x * 100) / 100), loadAverageAfter: loadavg().map((x) => Math.round(x * 100) / 100) };
const result = { benchmark: 'consensus', date: new Date().toISOString(), machine, setup: { nodes: 4, transport: 'WebSocket on loopback', txBytes: TX_BYTES, phaseMs: PHASE_MS }, ed25519VerifyPerSec: verifyPerSec, phases, note: 'The machine is shared with other engineers\' builds and tests; the load averages above show how busy it was. All four nodes and the load generator share its cores.' };
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/consensus-${date}.json`, `${JSON.stringify(result, null, 2)}\n`);
const md = [
  `# Consensus benchmark, ${date}`, '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}. Load average before/after: ${machine.loadAverageBefore.join(' ')} / ${machine.loadAverageAfter.join(' ')} (shared machine: other work ran at the same time).`, '',
  `Setup: 4 node processes on loopback (WebSocket, signed frames), 1 KB transactions, ${PHASE_MS / 1000} s per phase; latency = client POST to acknowledgement after durable commit.`, '',
  `Baseline: Ed25519 verify ${verifyPerSec.toLocaleString('en-US')} /s on one core.`, '',
  '| phase | committed tx/s | p50 ms | p90 ms | p99 ms | max ms | acknowledged | failed |', '|---|---:|---:|---:|---:|---:|---:|---:|',
  ...phases.map((p) => `| ${p.name} | ${p.committedTxPerSec} | ${p.latencyMs.p50} | ${p.latencyMs.p90} | ${p.latencyMs.p99} | ${p.latencyMs.max} | ${p.acknowledged} | ${p.failed} |`), '',
];
writeFileSync(`bench/results/consensus-${date}.md`, md.join('\n'));
process.stdout.write(`\nwrote bench/results/consensus-${date}.json and .md\n`);
