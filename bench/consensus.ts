// Benchmark: committed transactions per second and commit latency of a 4-process consensus network on
// loopback with 1 KB transactions, at offered loads of 1,000 and 5,000 tx/s (open loop) and at saturation
// (closed loop), with this machine's Ed25519 verify rate measured in the same run as the baseline.
// Latency is from the client's POST to the node's answer, which comes once the transactions are durably
// committed on that node. Writes bench/results/consensus-<date>.json and .md.
// The load generator posts through LocalCluster.submit (node:http, kept-alive sockets; it used fetch,
// which cost several times the CPU per request on the same two cores the nodes run on). Each phase also
// reports its heights and the nodes' CPU per height: at low load a height's fixed cost, not the
// transactions, is what the nodes spend, and heights run back to back while transactions keep arriving.
//
// The machine is shared, so absolute figures move with other people's load. `--baseline <git ref>` runs
// the same phases against that commit's node code in the same run (extracted with `git archive` into a
// temporary directory, never touching the working tree), alternating current/baseline per round
// (`--rounds N`, order ABBA…), and reports the ratio, which the load affects far less.
// Run: npm run bench:consensus [-- --phase-ms 8000] [--baseline <ref>] [--rounds 2]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEd25519Signer, verifyEd25519 } from '../ledger/crypto/ed25519.ts';
import { LocalCluster } from '../test/consensus/local-cluster.ts';
import { resultStem } from './support/machine.ts';
import { percentiles, round } from './support/stats.ts';

const TX_BYTES = 1024;
const PHASE_MS = Number(argument('--phase-ms') ?? 8_000);
const BASELINE_REF = argument('--baseline');
const ROUNDS = Number(argument('--rounds') ?? 1);
const TICK_MS = 10;
/** Closed loop: 3,200 transactions in flight (as in the first results, so figures stay comparable). */
const SATURATION_CLIENTS = 8;
const SATURATION_BATCH = 400;
const REQUEST_TIMEOUT_MS = 30_000;

/** What the bench needs of a cluster (the current LocalCluster and a baseline commit's one both fit). */
interface Cluster {
  readonly size: number;
  startAll(): Promise<void>;
  stopAll(): Promise<void>;
  remove(): void;
  submit(i: number, txs: readonly Uint8Array[], signal?: AbortSignal): Promise<number>;
  status(i: number): Promise<{ height: number }>;
}

interface PhaseResult {
  readonly variant: string;
  readonly round: number;
  readonly name: string;
  readonly offeredTxPerSec: number | null;
  /** What the load generator really sent per second (below the offered rate when the machine starves it). */
  readonly sentTxPerSec: number;
  readonly committedTxPerSec: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly loadAverage1m: number;
  /** CPU time (user + system) of the four node processes per 1,000 committed transactions: what the load hardly changes. */
  readonly nodeCpuMsPer1000Tx: number | null;
  /** Blocks committed during the phase (node 0's head), and the four nodes' CPU per block: the fixed cost of a height. */
  readonly heights: number;
  readonly nodeCpuMsPerHeight: number | null;
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index < 0 ? undefined : process.argv[index + 1];
}

let txCounter = 0;
const template = Buffer.alloc(TX_BYTES, 'x');
function makeTxs(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const tx = Buffer.from(template);
    tx.write(`bench ${process.pid} ${txCounter++} `, 0, 'latin1');
    out.push(tx);
  }
  return out;
}

/** CPU milliseconds used so far by this process's child processes (the nodes), from /proc; null elsewhere. */
function childCpuMs(): number | null {
  try {
    let ticks = 0;
    for (const task of readdirSync(`/proc/${process.pid}/task`)) {
      for (const pid of readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').split(' ').filter((p) => p !== '')) {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
      }
    }
    return (ticks * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return null;
  }
}
const CLOCK_TICKS_PER_SEC = 100;

function summarize(variant: string, roundIndex: number, name: string, offered: number | null, sent: { txs: number; ms: number }, latencies: number[], acknowledged: number, failed: number, elapsedMs: number, cpuBeforeMs: number | null, heights: number): PhaseResult {
  const cpuAfterMs = childCpuMs();
  return {
    heights, nodeCpuMsPerHeight: cpuBeforeMs === null || cpuAfterMs === null || heights === 0 ? null : round((cpuAfterMs - cpuBeforeMs) / heights, 1),
    variant, round: roundIndex, name, offeredTxPerSec: offered, sentTxPerSec: Math.round((sent.txs / sent.ms) * 1000), committedTxPerSec: Math.round((acknowledged / elapsedMs) * 1000), acknowledged, failed,
    latencyMs: percentiles(latencies), loadAverage1m: round(loadavg()[0]!),
    nodeCpuMsPer1000Tx: cpuBeforeMs === null || cpuAfterMs === null || acknowledged === 0 ? null : round(((cpuAfterMs - cpuBeforeMs) / acknowledged) * 1000, 1),
  };
}

/** Open loop: every TICK_MS a batch of rate·TICK_MS/1000 transactions goes to the next node, whatever came back. */
async function openLoop(cluster: Cluster, rate: number, variant: string, roundIndex: number): Promise<PhaseResult> {
  const latencies: number[] = [];
  let acknowledged = 0;
  let failed = 0;
  const inflight: Promise<void>[] = [];
  const perTick = (rate * TICK_MS) / 1000;
  let owed = 0;
  let target = 0;
  let sent = 0;
  const heightBefore = (await cluster.status(0)).height;
  const cpuBeforeMs = childCpuMs();
  const started = performance.now();
  for (let tick = 0; performance.now() - started < PHASE_MS; tick++) {
    owed += perTick;
    const count = Math.floor(owed);
    owed -= count;
    if (count > 0) {
      sent += count;
      const txs = makeTxs(count);
      const sentAt = performance.now();
      inflight.push(cluster.submit(target++ % cluster.size, txs, AbortSignal.timeout(REQUEST_TIMEOUT_MS)).then(
        () => {
          const latency = performance.now() - sentAt;
          for (let i = 0; i < count; i++) latencies.push(latency);
          acknowledged += count;
        },
        (error: unknown) => {
          failed += count;
          noteFailure(error);
        },
      ));
    }
    const next = started + (tick + 1) * TICK_MS;
    await sleep(Math.max(0, next - performance.now()));
  }
  const sending = { txs: sent, ms: performance.now() - started };
  await Promise.all(inflight);
  const elapsedMs = performance.now() - started;
  const heights = (await cluster.status(0)).height - heightBefore;
  return summarize(variant, roundIndex, `offered ${rate} tx/s`, rate, sending, latencies, acknowledged, failed, elapsedMs, cpuBeforeMs, heights);
}

/** Closed loop: SATURATION_CLIENTS clients each keep one batch of SATURATION_BATCH transactions in flight. */
async function saturation(cluster: Cluster, variant: string, roundIndex: number): Promise<PhaseResult> {
  const latencies: number[] = [];
  let acknowledged = 0;
  let failed = 0;
  let sent = 0;
  const heightBefore = (await cluster.status(0)).height;
  const cpuBeforeMs = childCpuMs();
  const started = performance.now();
  await Promise.all(Array.from({ length: SATURATION_CLIENTS }, async (_, client) => {
    while (performance.now() - started < PHASE_MS) {
      const txs = makeTxs(SATURATION_BATCH);
      sent += txs.length;
      const sentAt = performance.now();
      try {
        await cluster.submit(client % cluster.size, txs, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
        const latency = performance.now() - sentAt;
        for (let i = 0; i < txs.length; i++) latencies.push(latency);
        acknowledged += txs.length;
      } catch (error) {
        failed += txs.length;
        noteFailure(error);
      }
    }
  }));
  const elapsedMs = performance.now() - started;
  const heights = (await cluster.status(0)).height - heightBefore;
  return summarize(variant, roundIndex, 'saturation', null, { txs: sent, ms: elapsedMs }, latencies, acknowledged, failed, elapsedMs, cpuBeforeMs, heights);
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

/** Why requests failed (the first few, printed at the end): a failure is a finding, not only a count. */
const failureReasons: string[] = [];
const FAILURE_REASONS_MAX = 5;
function noteFailure(error: unknown): void {
  if (failureReasons.length >= FAILURE_REASONS_MAX) return;
  const e = error as { code?: unknown; message?: unknown };
  failureReasons.push(`${String(e.code ?? '')} ${String(e.message ?? error)}`.trim());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The baseline commit's files needed to run its nodes, in a temporary directory sharing our node_modules. */
function extractBaseline(ref: string): { directory: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { encoding: 'utf8' }).trim();
  const directory = mkdtempSync(join(tmpdir(), 'entente-bench-baseline-'));
  const archive = execFileSync('git', ['archive', '--format=tar', commit, 'package.json', 'tsconfig.json', 'bin', 'common', 'ledger', 'test/consensus', 'test/support'], { maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', directory], { input: archive });
  symlinkSync(join(process.cwd(), 'node_modules'), join(directory, 'node_modules'), 'dir');
  return { directory, commit };
}

async function runVariant(variant: string, create: () => Promise<Cluster>, roundIndex: number): Promise<PhaseResult[]> {
  const cluster = await create();
  const phases: PhaseResult[] = [];
  try {
    await cluster.startAll();
    await cluster.submit(0, makeTxs(10)); // warm-up: connections up, first block committed
    phases.push(await openLoop(cluster, 1_000, variant, roundIndex));
    phases.push(await openLoop(cluster, 5_000, variant, roundIndex));
    phases.push(await saturation(cluster, variant, roundIndex));
    const heads = await Promise.all([0, 1, 2, 3].map((i) => cluster.status(i)));
    process.stdout.write(`${variant} round ${roundIndex}: final heights ${heads.map((h) => h.height).join(', ')}\n`);
  } finally {
    await cluster.stopAll();
    cluster.remove();
  }
  for (const p of phases) process.stdout.write(`  ${p.name.padEnd(20)} sent ${String(p.sentTxPerSec).padStart(6)}/s  committed ${String(p.committedTxPerSec).padStart(6)} tx/s  p50 ${p.latencyMs.p50} ms  p99 ${p.latencyMs.p99} ms  node CPU ${p.nodeCpuMsPer1000Tx ?? '?'} ms/1000 tx, ${p.heights} heights, ${p.nodeCpuMsPerHeight ?? '?'} ms/height  (load ${p.loadAverage1m})\n`);
  return phases;
}

/** One row per variant and phase over all rounds: throughput summed over rounds, latencies pooled by median of rounds. */
function combine(phases: readonly PhaseResult[], variant: string, name: string): { committedTxPerSec: number; p50: number; p99: number; cpu: number; failed: number } | null {
  const rows = phases.filter((p) => p.variant === variant && p.name === name);
  if (rows.length === 0) return null;
  const median = (values: number[]): number => {
    const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
    const middle = sorted.length / 2;
    return round(sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2, 1);
  };
  return {
    committedTxPerSec: median(rows.map((r) => r.committedTxPerSec)), p50: median(rows.map((r) => r.latencyMs.p50)), p99: median(rows.map((r) => r.latencyMs.p99)),
    cpu: median(rows.map((r) => r.nodeCpuMsPer1000Tx ?? Number.NaN)), failed: rows.reduce((sum, r) => sum + r.failed, 0),
  };
}

const loadBefore = loadavg();
const verifyPerSec = ed25519VerifyRate();
process.stdout.write(`Ed25519 verify on this machine: ${verifyPerSec.toLocaleString('en-US')} /s (one core); load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}\n`);
const baseline = BASELINE_REF === undefined ? null : extractBaseline(BASELINE_REF);
const variants: { name: string; create: () => Promise<Cluster> }[] = [{ name: 'current', create: () => LocalCluster.create(4) }];
if (baseline !== null) {
  const module = (await import(pathToFileURL(join(baseline.directory, 'test/consensus/local-cluster.ts')).href)) as { LocalCluster: { create(count: number): Promise<Cluster> } };
  variants.push({ name: `baseline ${baseline.commit.slice(0, 7)}`, create: () => module.LocalCluster.create(4) });
}
const phases: PhaseResult[] = [];
try {
  for (let r = 1; r <= ROUNDS; r++) {
    const order = r % 2 === 1 ? variants : [...variants].reverse();
    for (const variant of order) phases.push(...(await runVariant(variant.name, variant.create, r)));
  }
} finally {
  if (baseline !== null) rmSync(baseline.directory, { recursive: true, force: true });
}

const phaseNames = ['offered 1000 tx/s', 'offered 5000 tx/s', 'saturation'];
const lines: string[] = ['| phase | variant | committed tx/s | p50 ms | p99 ms | node CPU ms / 1,000 tx | failed |', '|---|---|---:|---:|---:|---:|---:|'];
for (const name of phaseNames) {
  for (const variant of variants) {
    const row = combine(phases, variant.name, name);
    if (row !== null) lines.push(`| ${name} | ${variant.name} | ${row.committedTxPerSec} | ${row.p50} | ${row.p99} | ${row.cpu} | ${row.failed} |`);
  }
  const current = combine(phases, 'current', name);
  const base = variants[1] === undefined ? null : combine(phases, variants[1].name, name);
  if (current !== null && base !== null) lines.push(`| ${name} | **ratio current/baseline** | **${(current.committedTxPerSec / base.committedTxPerSec).toFixed(2)}×** | **${(current.p50 / base.p50).toFixed(2)}×** | **${(current.p99 / base.p99).toFixed(2)}×** | **${(current.cpu / base.cpu).toFixed(2)}×** | |`);
}
process.stdout.write(`\n${lines.join('\n')}\n`);
const sat = combine(phases, 'current', 'saturation');
const low = combine(phases, 'current', 'offered 1000 tx/s');
const goals = `goals (current code): >= 10,000 tx/s at saturation: ${sat !== null && sat.committedTxPerSec >= 10_000 ? 'met' : 'NOT met'} (${sat?.committedTxPerSec ?? '?'}); p50 <= 15 ms at 1,000 tx/s: ${low !== null && low.p50 <= 15 ? 'met' : 'NOT met'} (${low?.p50 ?? '?'} ms)`;
if (failureReasons.length > 0) process.stdout.write(`\nfirst request failures: ${failureReasons.join(' | ')}\n`);
process.stdout.write(`\nsaturation throughput / single-core Ed25519 verify rate = ${((sat?.committedTxPerSec ?? 0) / verifyPerSec).toFixed(3)} (transactions are not signature-checked here)\n${goals}\n`);

const date = new Date().toISOString().slice(0, 10);
const machine = { os: `${osType()} ${release()}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageBefore: loadBefore.map((x) => round(x)), loadAverageAfter: loadavg().map((x) => round(x)) };
const setup = { nodes: 4, transport: 'WebSocket on loopback', txBytes: TX_BYTES, phaseMs: PHASE_MS, rounds: ROUNDS, saturationInFlightTxs: SATURATION_CLIENTS * SATURATION_BATCH, baseline: baseline?.commit ?? null };
const note = "The machine (2 cores) is a VM whose host may be shared; the load averages show how busy it was. All four nodes and the load generator share its cores, so absolute figures are depressed; the ratio against the baseline, measured in the same run, is the comparable figure.";
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/${resultStem('consensus', date)}.json`, `${JSON.stringify({ benchmark: 'consensus', date: new Date().toISOString(), machine, setup, ed25519VerifyPerSec: verifyPerSec, phases, failureReasons, note }, null, 2)}\n`);
const md = [
  `# Consensus benchmark, ${date}`, '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}. Load average before/after: ${machine.loadAverageBefore.join(' ')} / ${machine.loadAverageAfter.join(' ')}. ${note}`, '',
  `Node CPU = user + system time of the four node processes during the phase per 1,000 acknowledged transactions (from /proc): the cost of the work itself, which the machine's load changes far less than throughput and latency. "sent" below the offered rate means the load generator itself was starved of CPU. Phases run back to back on one network, so a phase that falls behind leaves its backlog to the next.`, '',
  `Setup: 4 node processes on loopback (WebSocket, session-authenticated frames in the current code), 1 KB transactions, ${PHASE_MS / 1000} s per phase, ${ROUNDS} round(s)${baseline === null ? '' : `, baseline commit ${baseline.commit} run alternately in the same run`}; saturation = ${SATURATION_CLIENTS} clients × ${SATURATION_BATCH} transactions in flight; latency = client POST to acknowledgement after durable commit. Medians over rounds.`, '',
  `Ed25519 verify: ${verifyPerSec.toLocaleString('en-US')} /s on one core (same run).`, '',
  ...lines, '',
  goals, '',
  '## Per round', '',
  '| round | variant | phase | sent tx/s | committed tx/s | p50 ms | p99 ms | max ms | node CPU ms / 1,000 tx | heights | node CPU ms / height | failed | load 1m |', '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...phases.map((p) => `| ${p.round} | ${p.variant} | ${p.name} | ${p.sentTxPerSec} | ${p.committedTxPerSec} | ${p.latencyMs.p50} | ${p.latencyMs.p99} | ${p.latencyMs.max} | ${p.nodeCpuMsPer1000Tx ?? '?'} | ${p.heights} | ${p.nodeCpuMsPerHeight ?? '?'} | ${p.failed} | ${p.loadAverage1m} |`), '',
];
writeFileSync(`bench/results/${resultStem('consensus', date)}.md`, md.join('\n'));
process.stdout.write(`\nwrote bench/results/${resultStem('consensus', date)}.json and .md\n`);
