// A three-gateway network for the benchmarks, each gateway its own process (`entente node --config`, as
// an operator runs it): acme on a PostgreSQL database, cargo on another PostgreSQL database, bolt on
// embedded PGlite. acme owns orders (the type the write benchmarks create); bolt and cargo hold
// replicas of them. The databases are created fresh and dropped by `stop`.
//
// BENCH_PG_URL names the PostgreSQL server (default: postgres@127.0.0.1:5432, trust auth). With
// BENCH_CPU_PROF=<folder> every gateway runs with `node --cpu-prof` and writes its profile there on stop;
// BENCH_GATEWAY_OUTPUT=1 passes the gateways' stderr through. With `traceWrites`, the gateways run with
// ENTENTE_TRACE_WRITES=1 (gateway/ledger/write-trace.ts) and `writeTrace` collects the stage timings
// the owner prints; with `traceConsensus`, ENTENTE_TRACE_CONSENSUS=1 (gateway/ledger/consensus-trace.ts)
// and `takeConsensusTrace` hands over every gateway's consensus steps.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { writeGenesisFile } from '../../ledger/genesis.ts';
import type { ConsensusTraceStep } from '../../ledger/node/consensus-host.ts';
import { createMembership } from '../../ledger/membership.ts';
import { createNodeKey, writeNodeKeyFile } from '../../ledger/node/node-key.ts';
import { benchCertificateAuthorityFile, getStatus, postGraphql } from './http-client.ts';
import { cpuSecondsOf, mainThreadCpuSecondsOf } from './machine.ts';
import { freePort } from '../../test/support/free-port.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';

/** The test certificates (test/support/tls) a bench network with `tls` serves. */
const testTlsDir = fileURLToPath(new URL('../../test/support/tls/', import.meta.url));

export const benchPartners = ['acme', 'bolt', 'cargo'] as const;
export type BenchPartner = (typeof benchPartners)[number];

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const schemaDir = fileURLToPath(new URL('./network-schema/', import.meta.url));
export const adminUrl = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const START_TIMEOUT_MS = 120_000;

export interface BenchNetworkOptions {
  /** Orders in acme's table before the gateways start (they reach the replicas as the snapshot). */
  readonly seedOrders: number;
  /** Gateway log level (warnings show problems during a run). */
  readonly logLevel?: string;
  /** Time each mutation's stages on its way to the ledger (ENTENTE_TRACE_WRITES=1 in the gateways). */
  readonly traceWrites?: boolean;
  /** Record every consensus step of every gateway (ENTENTE_TRACE_CONSENSUS=1, gateway/ledger/consensus-trace.ts). */
  readonly traceConsensus?: boolean;
  /** Run the gateways from another checkout of Entente (a baseline commit, bench/heights.ts); default this one. */
  readonly gatewayRoot?: string;
  /** Gateways serve https:// and wss:// with the test certificates of test/support/tls (to measure what TLS costs). */
  readonly tls?: boolean;
  /** Gateways run with `node --trace-gc`; takeMajorCollections returns the heap each full collection left (bench/memory.ts). */
  readonly traceGc?: boolean;
}

/** One full (mark-compact) garbage collection a gateway reported: the V8 heap it left, i.e. what was live. */
export interface MajorCollection {
  /** performance.now() of the bench process when the line arrived. */
  readonly atMs: number;
  readonly heapAfterMiB: number;
}

/**
 * How acme's and cargo's PostgreSQL databases are captured: BENCH_CAPTURE=logical-decoding (needs
 * wal_level = logical) or the default, triggers. Every bench that starts this network says which.
 */
export const benchCapture: 'outbox-trigger' | 'logical-decoding' = process.env['BENCH_CAPTURE'] === 'logical-decoding' ? 'logical-decoding' : 'outbox-trigger';

/** One stage's p50/p90 (ms) over a window of the write-path trace. */
export interface TraceWindow {
  readonly samples: number;
  readonly mutationsPerBlock: number;
  readonly mutationsPerRead: number;
  readonly stages: Readonly<Record<string, { readonly p50: number; readonly p90: number }>>;
}

export interface BenchNetwork {
  graphqlUrl(partner: BenchPartner): string;
  /** The PostgreSQL database behind a gateway (acme and cargo). */
  databaseUrl(partner: 'acme' | 'cargo'): string;
  /** Resident set size of a gateway's process, MiB. */
  rssMiB(partner: BenchPartner): number;
  /** CPU time (user + system) a gateway's process has used so far, seconds. */
  cpuSeconds(partner: BenchPartner): number;
  /** The part of cpuSeconds its main thread used (the rest: V8's compiler and GC threads, libuv's pool). */
  mainThreadCpuSeconds(partner: BenchPartner): number;
  /** CPU time each PostgreSQL backend connected to a gateway's database has used so far, seconds by pid (cpuSecondsBetween subtracts two). */
  databaseCpu(partner: 'acme' | 'cargo'): Promise<Map<number, number>>;
  /** The write-path trace windows a gateway printed since the last call (with `traceWrites`). */
  takeWriteTrace(partner: BenchPartner): TraceWindow[];
  /** The consensus steps a gateway wrote since the last call (with `traceConsensus`), in its order. */
  takeConsensusTrace(partner: BenchPartner): TracedConsensusStep[];
  /** The full collections a gateway reported since the last call (with `traceGc`). */
  takeMajorCollections(partner: BenchPartner): MajorCollection[];
  readonly pids: Readonly<Record<BenchPartner, number>>;
  stop(): Promise<void>;
}

/** One line of gateway/ledger/consensus-trace.ts: a consensus step, the node that took it and when. */
export type TracedConsensusStep = ConsensusTraceStep & { readonly consensusTrace: string; readonly node: number; readonly atMs: number };

interface Running {
  readonly child: ChildProcess;
  output: string;
  readonly exit: Promise<number | null>;
  traces: TraceWindow[];
  consensusSteps: TracedConsensusStep[];
  partialLine: string;
  majorCollections: MajorCollection[];
  partialGcLine: string;
}

/** Full collections kept per gateway between two takeMajorCollections calls. */
const MAJOR_COLLECTIONS_MAX = 100_000;

/** `--trace-gc`'s line for a full collection: `…: Mark-Compact 45.2 (60.1) -> 40.1 (58.2) MB, …` (heap before and after, MB). */
const markCompactLine = /: Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/;

function collectMajorCollections(entry: Running, chunk: Buffer): void {
  const lines = (entry.partialGcLine + chunk.toString('utf8')).split('\n');
  entry.partialGcLine = lines.pop()!;
  for (const line of lines) {
    const match = markCompactLine.exec(line);
    if (match === null) continue;
    // V8 prints MB of 2^20 bytes.
    if (entry.majorCollections.length < MAJOR_COLLECTIONS_MAX) entry.majorCollections.push({ atMs: performance.now(), heapAfterMiB: Number(match[1]) });
  }
}

/** Consensus steps kept per gateway between two takeConsensusTrace calls (~25 per height). */
const CONSENSUS_STEPS_MAX = 500_000;

/** Trace windows kept per gateway between two takeWriteTrace calls. */
const TRACE_WINDOWS_MAX = 10_000;

export async function startBenchNetwork(options: BenchNetworkOptions): Promise<BenchNetwork> {
  const folder = await mkdtemp(join(tmpdir(), 'entente-bench-net-'));
  const http = options.tls === true ? 'https' : 'http';
  const ws = options.tls === true ? 'wss' : 'ws';
  const suffix = `${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6).toString(36)}`;
  const databases = { acme: `entente_bench_${suffix}_acme`, cargo: `entente_bench_${suffix}_cargo` };
  const urlOf = (name: string): string => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const running = new Map<BenchPartner, Running>();
  const stop = async (): Promise<void> => {
    for (const entry of running.values()) if (entry.child.exitCode === null) entry.child.kill('SIGINT');
    for (const [partner, entry] of running) {
      const code = await Promise.race([entry.exit, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 20_000))]);
      if (code === 'timeout') entry.child.kill('SIGKILL');
      else if (code !== 0) console.error(`gateway ${partner} exited with ${code}:\n${entry.output.slice(-2000)}`);
    }
    await withAdmin(async (client) => {
      for (const name of Object.values(databases)) await client.query(`drop database if exists "${name}" with (force)`);
    });
    await rm(folder, { recursive: true, force: true });
  };
  try {
    await withAdmin(async (client) => {
      for (const name of Object.values(databases)) await client.query(`create database "${name}"`);
    });
    await execSql(urlOf(databases.acme), `create table orders (id bigint generated by default as identity primary key, customer text not null, status text not null, total numeric(12,2) not null, note text);
      insert into orders (customer, status, total, note) select 'Customer ' || i, case when i % 2 = 0 then 'shipped' else 'open' end, (i % 500) + 0.5, null from generate_series(1, ${options.seedOrders}) as i;`);
    await execSql(urlOf(databases.cargo), 'create table shipments (id bigint generated by default as identity primary key, order_id bigint not null, carrier text not null)');
    await mkdir(join(folder, 'bolt'), { recursive: true });
    const bolt = (await openPglite(join(folder, 'bolt', 'db'))).db;
    await bolt.exec("create table parts (sku text primary key, name text not null, stock integer not null); insert into parts values ('B-1', 'bolt M8', 500)");
    await bolt.close();

    const keys = benchPartners.map((partner) => createNodeKey(partner));
    await writeGenesisFile(join(folder, 'genesis.json'), {
      network: 'bench', timeMs: Date.now() - 1000, schemaVersion: 1,
      membership: createMembership(keys.map((key) => ({ partner: key.partner, publicKey: key.publicKey }))),
      ownership: new Map([['Order', 'acme'], ['Part', 'bolt'], ['Shipment', 'cargo']]),
    });
    const ports = new Map<BenchPartner, { http: number; consensus: number }>();
    for (const partner of benchPartners) ports.set(partner, { http: await freePort(), consensus: await freePort() });
    const database: Record<BenchPartner, string> = { acme: urlOf(databases.acme), cargo: urlOf(databases.cargo), bolt: `pglite:${join('bolt', 'db')}` };
    for (const [i, partner] of benchPartners.entries()) {
      writeNodeKeyFile(join(folder, `${partner}.key`), keys[i]!);
      await mkdir(join(folder, partner), { recursive: true });
      const config = {
        partner, database: partner === 'bolt' ? { url: database[partner] } : { url: database[partner], capture: benchCapture }, listen: { host: '127.0.0.1', port: ports.get(partner)!.http },
        node: { keyFile: `${partner}.key`, consensusPort: ports.get(partner)!.consensus },
        genesisFile: 'genesis.json', schemaDir, dataDir: partner, auth: { anonymous: { roles: ['staff'] } }, log: { level: options.logLevel ?? 'warn' },
        limits: { subscriptionsPerConnectionMax: 100, connectionsMax: 20_000 },
        peers: benchPartners.filter((other) => other !== partner).map((other) => ({ partner: other, url: `${http}://127.0.0.1:${ports.get(other)!.http}`, consensusUrl: `${ws}://127.0.0.1:${ports.get(other)!.consensus}` })),
        ...(options.tls === true ? { tls: { certFile: join(testTlsDir, 'gateway.crt'), keyFile: join(testTlsDir, 'gateway.key'), caFile: fileURLToPath(benchCertificateAuthorityFile) } } : {}),
      };
      await writeFile(join(folder, `${partner}.json`), JSON.stringify(config));
    }
    const profileDir = process.env['BENCH_CPU_PROF'];
    for (const partner of benchPartners) {
      const profile = profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${partner}-${Date.now()}.cpuprofile`];
      const env = { ...process.env, ...(options.traceWrites === true ? { ENTENTE_TRACE_WRITES: '1' } : {}), ...(options.traceConsensus === true ? { ENTENTE_TRACE_CONSENSUS: '1' } : {}) };
      const gcTrace = options.traceGc === true ? ['--trace-gc'] : [];
      const child = spawn(process.execPath, [...profile, ...gcTrace, 'bin/entente.js', 'node', '--config', join(folder, `${partner}.json`)], { cwd: options.gatewayRoot ?? projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const entry: Running = { child, output: '', exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))), traces: [], consensusSteps: [], partialLine: '', majorCollections: [], partialGcLine: '' };
      if (options.traceGc === true) child.stdout?.on('data', (chunk: Buffer) => collectMajorCollections(entry, chunk));
      if (options.traceWrites === true || options.traceConsensus === true) child.stderr?.on('data', (chunk: Buffer) => collectTraces(entry, chunk));
      const keep = (chunk: Buffer): void => {
        // Consensus steps would push the start-up and error lines out of the kept tail.
        const text = options.traceConsensus === true ? chunk.toString('utf8').split('\n').filter((line) => !line.startsWith('{"consensusTrace"')).join('\n') : chunk.toString('utf8');
        entry.output = (entry.output + text).slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      // BENCH_GATEWAY_OUTPUT=1 shows each gateway's output as it comes (to look into a slow run).
      if (process.env['BENCH_GATEWAY_OUTPUT'] === '1') child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${partner}] ${chunk.toString('utf8')}`));
      running.set(partner, entry);
    }
    const graphqlUrl = (partner: BenchPartner): string => `${http}://127.0.0.1:${ports.get(partner)!.http}/graphql`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const [partner, entry] of running) {
      while (!entry.output.includes(`listening on ${http}://`)) {
        if (Date.now() > deadline || entry.child.exitCode !== null) throw new Error(`gateway ${partner} did not start:\n${entry.output}`);
        await sleep(100);
      }
    }
    // Ready: every gateway hears a quorum, and the seeded orders reached the replicas (the snapshot).
    for (const partner of benchPartners) {
      while ((await getStatus(`${http}://127.0.0.1:${ports.get(partner)!.http}/ready`)) !== 200) {
        if (Date.now() > deadline) throw new Error(`gateway ${partner} never became ready:\n${running.get(partner)!.output}`);
        await sleep(200);
      }
    }
    const expected = Math.min(options.seedOrders, 1);
    while (expected > 0) {
      const answer = await postGraphql(graphqlUrl('bolt'), '{ orders(first: 1, orderBy: [{ field: id, direction: DESC }]) { nodes { id } } }').catch(() => null);
      const nodes = (answer?.data?.['orders'] as { nodes: { id: string }[] } | undefined)?.nodes ?? [];
      if (nodes.length > 0 && Number(nodes[0]!.id) === options.seedOrders) break;
      if (Date.now() > deadline) throw new Error(`bolt's replica never received acme's ${options.seedOrders} seeded orders:\n${running.get('bolt')!.output}`);
      await sleep(200);
    }
    const pids = Object.fromEntries([...running].map(([partner, entry]) => [partner, entry.child.pid!])) as Record<BenchPartner, number>;
    return {
      graphqlUrl,
      databaseUrl: (partner) => urlOf(databases[partner]),
      rssMiB: (partner) => rssMiBOf(pids[partner]),
      cpuSeconds: (partner) => cpuSecondsOf(pids[partner]),
      mainThreadCpuSeconds: (partner) => mainThreadCpuSecondsOf(pids[partner]),
      databaseCpu: (partner) => databaseCpuOf(databases[partner]),
      takeWriteTrace: (partner) => {
        const entry = running.get(partner)!;
        const traces = entry.traces;
        entry.traces = [];
        return traces;
      },
      takeConsensusTrace: (partner) => {
        const entry = running.get(partner)!;
        const steps = entry.consensusSteps;
        entry.consensusSteps = [];
        return steps;
      },
      takeMajorCollections: (partner) => {
        const entry = running.get(partner)!;
        const collections = entry.majorCollections;
        entry.majorCollections = [];
        return collections;
      },
      pids,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Picks the trace lines (JSON objects with a `writeTrace` or `consensusTrace` field) out of a gateway's stderr. */
function collectTraces(entry: Running, chunk: Buffer): void {
  const lines = (entry.partialLine + chunk.toString('utf8')).split('\n');
  entry.partialLine = lines.pop()!.slice(-100_000);
  for (const line of lines) {
    try {
      if (line.startsWith('{"writeTrace"') && entry.traces.length < TRACE_WINDOWS_MAX) entry.traces.push(JSON.parse(line) as TraceWindow);
      else if (line.startsWith('{"consensusTrace"') && entry.consensusSteps.length < CONSENSUS_STEPS_MAX) entry.consensusSteps.push(JSON.parse(line) as TracedConsensusStep);
    } catch {
      // A line cut by another writer is skipped: the trace is a sample.
    }
  }
}

/** utime + stime of each backend connected to `database` now, seconds by pid. */
async function databaseCpuOf(database: string): Promise<Map<number, number>> {
  const cpu = new Map<number, number>();
  await withAdmin(async (client) => {
    const result = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
    for (const { pid } of result.rows) {
      const seconds = cpuSecondsOf(pid);
      if (Number.isFinite(seconds)) cpu.set(pid, seconds);
    }
  });
  return cpu;
}

/**
 * CPU the backends used between two databaseCpu readings, seconds: a backend that started meanwhile counts
 * whole, one that ended meanwhile is missed (the gateways' pools keep their connections under load).
 */
export function cpuSecondsBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of after) total += seconds - (before.get(pid) ?? 0);
  return total;
}

/** VmRSS of a process from /proc (Linux), MiB; NaN where /proc is not there. */
export function rssMiBOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? Number.NaN : Math.round(Number(match[1]) / 1024);
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS every `intervalMs` until `stop` is called; returns the peak, MiB. */
export function sampleRss(pid: number, intervalMs = 250): { stop(): number } {
  let peak = rssMiBOf(pid);
  const timer = setInterval(() => {
    const now = rssMiBOf(pid);
    if (!(now <= peak)) peak = now;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiBOf(pid));
    },
  };
}

export async function execSql(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function withAdmin(fn: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
