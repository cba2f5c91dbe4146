// `npm run bench:machine`: how fast this machine is at the few things every other benchmark is made of,
// measured the same way on every machine, so figures from two machines can be told apart from a change
// in the code. (One session's machine ran the same commit's consensus at twice the CPU per height of the
// machine before it, while its Ed25519 verify rate, the only machine figure recorded then, was higher.)
//   - loopback TCP round trip between two processes (what consensus messages, HTTP and SQL cost),
//     with the CPU this side spends per round trip;
//   - the same round trip after both sides have been idle 1 ms and 5 ms, with the CPU each spends per
//     round trip: what waking an idle process costs, by a timer (this side) and by a socket (the echo).
//     A gateway under a moderate load wakes for nearly every message and poll; where wake-ups are
//     dear (a VM), they, not the work, set much of its CPU use;
//   - fdatasync of an 8 KiB write (what every durable block and record waits for);
//   - Ed25519 verifies per second on one core;
//   - a fixed JavaScript workload (JSON of a 1 KiB object, stringify + parse) per second.
// Writes bench/results/machine-<date>.{json,md} (BENCH_RESULTS_TAG to keep a second machine's apart).
import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSecondsOf, machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { percentiles, round } from './support/stats.ts';

const MEASURE_MS = 2_000;
/** Gaps after which the round trip is measured again: each side has gone to sleep by then. */
const IDLE_GAPS_MS = [1, 5] as const;

/** The other process of the round trip: echoes what it reads, after printing its port. */
const echoServer = `
const server = require('node:net').createServer((socket) => { socket.setNoDelay(true); socket.on('data', (chunk) => socket.write(chunk)); });
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;

await main();

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const machine = machineFacts();
  const loopback = await loopbackRoundTrip();
  const wakeUps = loopback.afterIdle;
  const disk = fdatasyncLatency();
  const ed25519VerifiesPerSecond = ed25519Rate();
  const jsonRoundTripsPerSecond = jsonRate();
  const lines = [
    `loopback TCP round trip, two processes, 200-byte messages: p50 ${loopback.p50Us} µs, p99 ${loopback.p99Us} µs; CPU this side ${loopback.cpuUsPerRoundTrip} µs per round trip (${loopback.systemUsPerRoundTrip} µs in the kernel)`,
    ...wakeUps.map((figures) => `loopback round trip after ${figures.idleMs} ms idle: p50 ${figures.p50Us} µs; CPU per round trip this side, woken by its timer, ${figures.cpuUsPerRoundTrip} µs (back to back: ${loopback.cpuUsPerRoundTrip} µs); the echoing side, woken by the socket, ${figures.echoCpuUsPerRoundTrip ?? '?'} µs (back to back: ${loopback.echoCpuUsPerRoundTrip ?? '?'} µs)`),
    `fdatasync after an 8 KiB write (${disk.directory}): p50 ${disk.p50Ms} ms, p99 ${disk.p99Ms} ms`,
    `Ed25519 verifies per second, one core: ${ed25519VerifiesPerSecond}`,
    `JSON stringify + parse of a 1 KiB object per second, one core: ${jsonRoundTripsPerSecond}`,
  ];
  for (const line of lines) console.log(line);
  const results = { benchmark: 'machine', date, machine, loopback, fdatasync: disk, ed25519VerifiesPerSecond, jsonRoundTripsPerSecond };
  const markdown = [`# bench:machine — ${date}`, '', machineLine(machine), '', ...lines.map((line) => `- ${line}`), ''].join('\n');
  writeResultFiles('machine', date, results, markdown);
}

interface LoopbackFigures {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly cpuUsPerRoundTrip: number;
  readonly systemUsPerRoundTrip: number;
  /** The echoing process's CPU per round trip (Linux's /proc; null elsewhere). */
  readonly echoCpuUsPerRoundTrip: number | null;
  readonly roundTrips: number;
  readonly afterIdle: readonly IdleRoundTripFigures[];
}

interface IdleRoundTripFigures {
  readonly idleMs: number;
  readonly p50Us: number;
  readonly cpuUsPerRoundTrip: number;
  readonly echoCpuUsPerRoundTrip: number | null;
  readonly roundTrips: number;
}

/** utime + stime of a process in µs; null where /proc cannot tell. */
function processCpuUs(pid: number | undefined): number | null {
  const seconds = pid === undefined ? Number.NaN : cpuSecondsOf(pid);
  return Number.isNaN(seconds) ? null : seconds * 1_000_000;
}

function perRoundTrip(before: number | null, after: number | null, roundTrips: number): number | null {
  return before === null || after === null ? null : round((after - before) / roundTrips, 1);
}

async function loopbackRoundTrip(): Promise<LoopbackFigures> {
  const child = spawn(process.execPath, ['-e', echoServer], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString('utf8').trim()))));
    const socket = connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    await pingPong(socket, 300); // warm up
    const cpuBefore = process.cpuUsage();
    const echoBefore = processCpuUs(child.pid);
    const samplesNs = await pingPong(socket, MEASURE_MS);
    const cpu = process.cpuUsage(cpuBefore);
    const echoCpuUsPerRoundTrip = perRoundTrip(echoBefore, processCpuUs(child.pid), samplesNs.length);
    const afterIdle: IdleRoundTripFigures[] = [];
    for (const idleMs of IDLE_GAPS_MS) afterIdle.push(await idleRoundTrips(socket, idleMs, child.pid));
    socket.destroy();
    const latency = percentiles(samplesNs.map((ns) => ns / 1000));
    return {
      p50Us: round(latency.p50, 1),
      p99Us: round(latency.p99, 1),
      cpuUsPerRoundTrip: round((cpu.user + cpu.system) / samplesNs.length, 1),
      systemUsPerRoundTrip: round(cpu.system / samplesNs.length, 1),
      echoCpuUsPerRoundTrip,
      roundTrips: samplesNs.length,
      afterIdle,
    };
  } finally {
    child.kill();
  }
}

/** Round trips one at a time, each after `idleMs` with nothing to do on either side. */
async function idleRoundTrips(socket: Socket, idleMs: number, echoPid: number | undefined): Promise<IdleRoundTripFigures> {
  const samplesNs: number[] = [];
  const cpuBefore = process.cpuUsage();
  const echoBefore = processCpuUs(echoPid);
  const end = performance.now() + MEASURE_MS;
  while (performance.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    samplesNs.push(...(await pingPong(socket, 0)));
  }
  const cpu = process.cpuUsage(cpuBefore);
  const latency = percentiles(samplesNs.map((ns) => ns / 1000));
  return {
    idleMs,
    p50Us: round(latency.p50, 1),
    cpuUsPerRoundTrip: round((cpu.user + cpu.system) / samplesNs.length, 1),
    echoCpuUsPerRoundTrip: perRoundTrip(echoBefore, processCpuUs(echoPid), samplesNs.length),
    roundTrips: samplesNs.length,
  };
}

function pingPong(socket: Socket, durationMs: number): Promise<number[]> {
  const message = Buffer.alloc(200, 1);
  const samples: number[] = [];
  const end = performance.now() + durationMs;
  return new Promise((resolve) => {
    let sentAt = process.hrtime.bigint();
    let pending = message.length;
    const onData = (chunk: Buffer): void => {
      pending -= chunk.length;
      if (pending > 0) return;
      samples.push(Number(process.hrtime.bigint() - sentAt));
      if (performance.now() >= end) {
        socket.off('data', onData);
        resolve(samples);
        return;
      }
      pending = message.length;
      sentAt = process.hrtime.bigint();
      socket.write(message);
    };
    socket.on('data', onData);
    socket.write(message);
  });
}

function fdatasyncLatency(): { directory: string; p50Ms: number; p99Ms: number; syncs: number } {
  const directory = mkdtempSync(join(tmpdir(), 'entente-machine-'));
  const page = Buffer.alloc(8192, 7);
  const samples: number[] = [];
  const fd = openSync(join(directory, 'sync-test'), 'w');
  try {
    const end = performance.now() + MEASURE_MS / 2;
    for (let offset = 0; performance.now() < end; offset += page.length) {
      const started = performance.now();
      writeSync(fd, page, 0, page.length, offset);
      fdatasyncSync(fd);
      samples.push(performance.now() - started);
    }
  } finally {
    closeSync(fd);
    rmSync(directory, { recursive: true, force: true });
  }
  const latency = percentiles(samples);
  return { directory: tmpdir(), p50Ms: round(latency.p50, 3), p99Ms: round(latency.p99, 3), syncs: samples.length };
}

function ed25519Rate(): number {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const message = Buffer.alloc(200, 3);
  const signature = sign(null, message, privateKey);
  return perSecond(() => {
    if (!verify(null, message, publicKey, signature)) throw new Error('Ed25519 self-check failed');
  });
}

function jsonRate(): number {
  const document = { id: 12345, customer: 'ACME Corporation', status: 'shipped', lines: Array.from({ length: 12 }, (_, index) => ({ sku: `SKU-${index}`, quantity: index + 1, price: '19.90', note: 'standard delivery' })) };
  return perSecond(() => {
    JSON.parse(JSON.stringify(document));
  });
}

function perSecond(work: () => void): number {
  for (let index = 0; index < 1000; index += 1) work(); // warm up (JIT)
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < MEASURE_MS / 2) {
    for (let index = 0; index < 100; index += 1) work();
    count += 100;
  }
  return Math.round(count / ((performance.now() - started) / 1000));
}
