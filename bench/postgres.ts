// `npm run bench:postgres`: the PostgreSQL connector's figures (acceptance 3 and 4), on the real server
// and on PGlite. Needs pgbench (postgresql-client) on the PATH for the server part.
//   1. Introspection of a 300-table schema (with keys, foreign keys, enums, comments): time per run.
//   2. Capture rate against the raw rate, in alternating rounds (the machine is shared and its load
//      swings within seconds, so each round's ratio compares neighbours, and the median is reported):
//      raw = outside writers (pgbench, 4 clients, one row per autocommit transaction) into a table
//      without capture; capture = the same writers, unthrottled, into a captured table while a follower
//      reads, acknowledges and prunes; its rate is changes delivered per second. Each capture method is
//      measured: triggers, and logical decoding when the server runs wal_level = logical (each round
//      rotates which of the phases goes first).
//   3. Capture lag (commit answered → delivered to the follower) p50/p99 with writers paced at
//      5,000 writes/s in 10-row transactions, and paced single-row transactions, for each method.
//   4. Catch-up: a backlog written with no reader, read in pages; a short and a 4× longer one, so the
//      per-change cost shows whether reading grows with the backlog (trigger capture).
// Goals: capture ≥ 80% of raw; lag p99 < 50 ms. The load average is recorded with every phase.
// Writes results to bench/results/postgres-<date>.{json,md}.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import type { CaptureMethod, Connector } from '../connectors/connector.ts';
import { openConnector } from '../connectors/index.ts';
import { CAPTURE_READ_CHANGES_MAX, CAPTURE_READ_TRANSACTIONS_MAX } from '../gateway/ledger/capture-publisher.ts';
import { createPgliteConnector } from '../connectors/postgres/postgres-connector.ts';
import { resultStem } from './support/machine.ts';
import { percentiles, round } from './support/stats.ts';

const tablesCount = 300;
const introspectionRuns = 5;
const phaseSeconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const ratioRounds = Number(process.env['BENCH_ROUNDS'] ?? 4);
const writersCount = 4;
const targetWritesPerSecond = 5000;
const batchRows = 10;
const acknowledgeEveryMs = 100;
const readIntervalMsMin = Number(process.env['BENCH_READ_INTERVAL_MS'] ?? 20);
/** Catch-up phase: seconds of writing with no reader (then 4× as long), read in the gateway publisher's pages. */
const catchUpSecondsShort = Number(process.env['BENCH_CATCH_UP_SECONDS'] ?? 3);
const catchUpReadTransactions = CAPTURE_READ_TRANSACTIONS_MAX;
const catchUpReadChanges = CAPTURE_READ_CHANGES_MAX;
const adminUrl = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';


function schemaDdl(count: number): string {
  const statements = [`create type bench_state as enum ('new', 'active', 'closed');`];
  for (let index = 1; index <= count; index += 1) {
    const reference = index > 1 ? `, parent_id integer references t${String(index - 1).padStart(3, '0')}(id)` : '';
    const name = `t${String(index).padStart(3, '0')}`;
    statements.push(
      `create table ${name} (id integer primary key, code text not null unique, state bench_state not null default 'new', amount numeric(12,2), tags text[], doc jsonb, created_at timestamptz not null default now()${reference});`,
      `comment on table ${name} is 'bench table ${index}';`,
    );
  }
  return statements.join('\n');
}

async function timeIntrospection(connector: Connector): Promise<{ readonly runsMs: readonly number[]; readonly tables: number }> {
  const runsMs: number[] = [];
  let tables = 0;
  for (let run = 0; run < introspectionRuns; run += 1) {
    const started = performance.now();
    const model = await connector.introspect({ schemas: ['public'] });
    runsMs.push(round(performance.now() - started));
    tables = model.tables.length;
  }
  return { runsMs, tables };
}

// ─── Writers and follower (real server) ─────────────────────────────────────────────────────────────
// The writers are pgbench (a separate process, like a legacy application): writing from this Node
// process would let the follower's CPU use throttle the writers and flatter nobody. pgbench -R paces
// the load. Each row records clock_timestamp() when written; the follower's lag is delivery time
// minus that (same host clock), which includes the commit itself: an upper bound of commit → delivered.

const benchTableDdl = (name: string): string =>
  `create table ${name} (id bigserial primary key, payload text not null, amount numeric(12,2), written_at timestamptz not null default clock_timestamp())`;

interface PgbenchResult {
  readonly rows: number;
  readonly rowsPerSecond: number;
}

function runPgbenchAsync(url: string, table: string, seconds: number, rowsPerSecond: number | null, rowsPerTransaction: number): Promise<PgbenchResult> {
  // Asynchronous, so the follower runs while pgbench writes.
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const script = join(tmpdir(), `entente-bench-${process.pid}-${table}-${rowsPerTransaction}.sql`);
    writeFileSync(script, `insert into ${table} (payload, amount) select 'row', 12.50 from generate_series(1, ${rowsPerTransaction});\n`);
    const args = ['-n', '-h', parsed.hostname, '-p', parsed.port || '5432', '-U', decodeURIComponent(parsed.username || 'postgres'), '-c', String(writersCount), '-j', '2', '-T', String(seconds), '-f', script];
    if (rowsPerSecond !== null) args.push('-R', String(Math.max(1, Math.round(rowsPerSecond / rowsPerTransaction))));
    args.push(decodeURIComponent(parsed.pathname.slice(1)));
    const child = spawn('pgbench', args, { env: { ...process.env, PGPASSWORD: decodeURIComponent(parsed.password) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      rmSync(script, { force: true });
      if (code !== 0) return reject(new Error(`pgbench failed: ${stderr}`));
      const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1] ?? 0);
      resolve({ rows: transactions * rowsPerTransaction, rowsPerSecond: (transactions * rowsPerTransaction) / seconds });
    });
  });
}


// ─── CPU per row ────────────────────────────────────────────────────────────────────────────────────
// Rates swing with the shared machine's load; CPU time per row does much less. So every phase also
// counts the CPU it cost: this database's backends (sampled from /proc while they live — pgbench's exit
// with the phase), this process (the follower: reading, decoding, acknowledging) and its children
// (pgbench). raw CPU per row ÷ capture CPU per change is the rate capture keeps on a CPU-bound machine.
// Needs the server on this host (/proc readable); otherwise the CPU figures are omitted.

const clockTicksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** utime+stime (and the reaped children's) of a process, in ms; undefined when it is gone or unreadable. */
function processCpuMs(pid: number | 'self', withChildren = false): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 3 of stat(5), so utime (14) is at index 11 here.
    const ticks = Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
    return (ticks * 1000) / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

interface CpuUse {
  readonly writerBackendsMs: number;
  readonly readerBackendsMs: number;
  /** This process (the follower) and its children (pgbench). */
  readonly clientMs: number;
}

class CpuMeter {
  private readonly baseline = new Map<number, number>();
  private readonly latest = new Map<number, { ms: number; reader: boolean }>();
  private readonly clientStartMs: number;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private readonly admin: pg.Client;

  private constructor(admin: pg.Client) {
    this.admin = admin;
    this.clientStartMs = processCpuMs('self', true) ?? 0;
  }

  static async start(admin: pg.Client): Promise<CpuMeter> {
    const meter = new CpuMeter(admin);
    for (const backend of await meter.backends()) {
      const ms = processCpuMs(backend.pid);
      if (ms !== undefined) meter.baseline.set(backend.pid, ms);
    }
    meter.timer = setInterval(() => {
      meter.sampling = meter.sampling.then(() => meter.sample()).catch(() => undefined);
    }, 100);
    return meter;
  }

  private async backends(): Promise<{ pid: number; reader: boolean }[]> {
    const result = await this.admin.query<{ pid: number; application_name: string }>(
      'select pid, application_name from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
    return result.rows.map((row) => ({ pid: Number(row.pid), reader: row.application_name === 'entente' || row.application_name === 'entente-capture' }));
  }

  private async sample(): Promise<void> {
    for (const backend of await this.backends()) {
      const ms = processCpuMs(backend.pid);
      if (ms !== undefined) this.latest.set(backend.pid, { ms, reader: backend.reader });
    }
  }

  async stop(): Promise<CpuUse | undefined> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    const clientEndMs = processCpuMs('self', true);
    if (clientEndMs === undefined || this.latest.size === 0) return undefined;
    let writerBackendsMs = 0;
    let readerBackendsMs = 0;
    for (const [pid, { ms, reader }] of this.latest) {
      const used = ms - (this.baseline.get(pid) ?? 0);
      if (reader) readerBackendsMs += used;
      else writerBackendsMs += used;
    }
    return { writerBackendsMs, readerBackendsMs, clientMs: clientEndMs - this.clientStartMs };
  }
}

interface CpuBreakdown {
  readonly writerBackends: number;
  readonly readerBackends: number;
  readonly followerAndPgbench: number;
}

function cpuBreakdown(use: CpuUse | undefined): CpuBreakdown | null {
  if (use === undefined) return null;
  return { writerBackends: Math.round(use.writerBackendsMs), readerBackends: Math.round(use.readerBackendsMs), followerAndPgbench: Math.round(use.clientMs) };
}

/** Where a change's CPU went: the writers' backends, the reader's (walsender or capture reader), this process with pgbench. */
function cpuParts(use: CpuUse | undefined, rows: number): string {
  if (use === undefined || rows === 0) return '';
  const perRow = (ms: number): number => round((1000 * ms) / rows, 1);
  return ` [writers' backends ${perRow(use.writerBackendsMs)}, reader's backend ${perRow(use.readerBackendsMs)}, follower and pgbench ${perRow(use.clientMs)}]`;
}

function cpuUsPerRow(use: CpuUse | undefined, rows: number): number | null {
  if (use === undefined || rows === 0) return null;
  return round((1000 * (use.writerBackendsMs + use.readerBackendsMs + use.clientMs)) / rows, 1);
}

interface FollowResult {
  readonly delivered: number;
  readonly lagsMs: number[];
  readonly lastDeliveredAt: number;
}

/** Reads, acknowledges and prunes the stream until `expected()` changes were delivered after the writers stopped. */
async function follow(connector: Connector, isDone: () => boolean, expected: () => number): Promise<FollowResult> {
  let position = await connector.capture.acknowledgedPosition();
  let delivered = 0;
  let lastDeliveredAt = performance.now();
  let lastAcknowledgedAt = lastDeliveredAt;
  let acknowledging: Promise<void> | undefined;
  const lagsMs: number[] = [];
  let lastReadAt = 0;
  for (;;) {
    // A gateway proposes a block every few tens of milliseconds at most: reading more often only spends
    // CPU (the writers' CPU, on a shared machine) on smaller batches. Measured here: reading every 5 ms
    // kept capture at 46% of raw, every 20 ms at 81% (with the earlier commit-window capture;
    // BENCH_READ_INTERVAL_MS to try others).
    const sinceLastRead = performance.now() - lastReadAt;
    if (sinceLastRead < readIntervalMsMin) await new Promise((resolve) => setTimeout(resolve, readIntervalMsMin - sinceLastRead));
    lastReadAt = performance.now();
    const batch = await connector.capture.read(position, { transactionsMax: 2000, changesMax: 5000 });
    const now = Date.now();
    for (const transaction of batch) {
      for (const change of transaction.changes) {
        delivered += 1;
        const writtenAt = change.after?.['written_at'];
        if (typeof writtenAt === 'string') lagsMs.push(Math.max(0, now - Date.parse(writtenAt)));
      }
      position = transaction.position;
    }
    if (batch.length > 0) {
      lastDeliveredAt = performance.now();
      // A gateway acknowledges when the ledger has committed, a block at a time, not per read.
      // Off the read path, one at a time, as a gateway acknowledges after its ledger commits.
      if (position !== null && acknowledging === undefined && lastDeliveredAt - lastAcknowledgedAt >= acknowledgeEveryMs) {
        lastAcknowledgedAt = lastDeliveredAt;
        acknowledging = connector.capture.acknowledge(position).finally(() => {
          acknowledging = undefined;
        });
      }
      continue;
    }
    if (isDone() && delivered >= expected()) break;
    await connector.capture.waitForChanges(50);
  }
  await acknowledging;
  if (position !== null) await connector.capture.acknowledge(position);
  return { delivered, lagsMs, lastDeliveredAt };
}

/** Reads and acknowledges whatever is pending, so the next phase starts from an empty outbox. */
async function drain(connector: Connector, limits = { transactionsMax: 10_000, changesMax: 50_000 }): Promise<number> {
  let position = await connector.capture.acknowledgedPosition();
  let changes = 0;
  for (;;) {
    const batch = await connector.capture.read(position, limits);
    if (batch.length === 0) return changes;
    for (const transaction of batch) changes += transaction.changes.length;
    position = batch.at(-1)?.position ?? position;
    if (position !== null) await connector.capture.acknowledge(position);
  }
}

/**
 * Catch-up after an outage: the writers fill the outbox with no reader for a short and a 4× longer
 * time, then the reader reads the backlog in the publisher's page size, acknowledging each page.
 * Reading a page should cost what it returns, whatever is left behind it: the per-change cost of the
 * long backlog over the short one's is printed (1 = linear; the design before batch membership
 * re-scanned the rest of the batch on every read and grew with the backlog).
 */
async function measureCatchUp(url: string, connector: Connector, settle: () => Promise<void>): Promise<Record<string, unknown>> {
  const runs: { changes: number; seconds: number; usPerChange: number }[] = [];
  for (const writeSeconds of [catchUpSecondsShort, catchUpSecondsShort * 4]) {
    await settle();
    await runPgbenchAsync(url, 'bench_captured', writeSeconds, null, 1);
    const started = performance.now();
    const changes = await drain(connector, { transactionsMax: catchUpReadTransactions, changesMax: catchUpReadChanges });
    const seconds = (performance.now() - started) / 1000;
    runs.push({ changes, seconds: round(seconds, 2), usPerChange: round((seconds * 1e6) / Math.max(1, changes), 1) });
    print(`server: outbox-trigger catch-up of a ${changes}-change backlog: ${Math.round(changes / seconds)} changes/s (${runs.at(-1)?.usPerChange} µs per change, pages of ${catchUpReadTransactions} transactions, each acknowledged)`);
  }
  const growth = round((runs[1]?.usPerChange ?? 0) / Math.max(0.001, runs[0]?.usPerChange ?? 0), 2);
  print(`server: outbox-trigger catch-up cost per change, ${runs[1]?.changes} vs ${runs[0]?.changes} changes: ×${growth} (1 = linear)`);
  return { runs, costGrowth: growth };
}

async function captureRun(url: string, capture: CaptureUnderTest, rowsPerSecond: number | null, rowsPerTransaction: number): Promise<{ delivered: number; seconds: number; writeRate: number; lagsMs: number[] }> {
  const connector = await capture.prepare();
  const writers: { result?: PgbenchResult } = {};
  const started = performance.now();
  const following = follow(connector, () => writers.result !== undefined, () => writers.result?.rows ?? Number.POSITIVE_INFINITY);
  const written = await runPgbenchAsync(url, capture.table, phaseSeconds, rowsPerSecond, rowsPerTransaction);
  writers.result = written;
  const result = await following;
  await capture.finish();
  return { delivered: result.delivered, seconds: (result.lastDeliveredAt - started) / 1000, writeRate: written.rowsPerSecond, lagsMs: result.lagsMs };
}

interface RatioRound {
  readonly rawRowsPerSecond: number;
  readonly capturedWritesPerSecond: number;
  readonly deliveredChangesPerSecond: number;
  readonly ratio: number;
  readonly cpuUsPerRawRow: number | null;
  readonly cpuUsPerCapturedChange: number | null;
  /** raw CPU per row ÷ capture CPU per change: the share of raw capture keeps when CPU is the limit. */
  readonly cpuRatio: number | null;
  readonly rawCpuMs: CpuBreakdown | null;
  readonly captureCpuMs: CpuBreakdown | null;
  readonly loadAverage1m: readonly number[];
}

function loadNow(): number {
  return round(loadavg()[0] ?? Number.NaN);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

const round1 = (value: number): number => round(value, 1);
const round3 = (value: number): number => round(value, 3);

/** A capture method in the bench: the table it captures, and a reader that runs only during its phases. */
interface CaptureUnderTest {
  readonly method: CaptureMethod;
  readonly label: string;
  readonly table: string;
  /** The connector to follow with, at the start of a phase. */
  prepare(): Promise<Connector>;
  /** At the end of a phase: nothing of this method runs during the others. */
  finish(): Promise<void>;
  remove(): Promise<void>;
}

function triggerCapture(connector: Connector): CaptureUnderTest {
  return {
    method: 'outbox-trigger',
    label: 'trigger',
    table: 'bench_captured',
    prepare: async () => connector,
    finish: async () => undefined,
    remove: () => connector.capture.uninstall(),
  };
}

/**
 * Logical decoding on table bench_logical. Its stream is closed between its phases (a walsender decodes
 * every write of the database, so an open one would bill the raw phase), and before each phase the slot
 * skips the WAL the other phases wrote: decoding it would bill this phase for their writes.
 */
async function logicalCapture(url: string, setup: pg.Client): Promise<CaptureUnderTest> {
  await setup.query(benchTableDdl('bench_logical'));
  const installer = await openConnector(url, { schemas: ['public'], capture: 'logical-decoding' });
  await installer.capture.install([{ schema: 'public', name: 'bench_logical' }]);
  await installer.close();
  let current: Connector | undefined;
  return {
    method: 'logical-decoding',
    label: 'logical decoding',
    table: 'bench_logical',
    async prepare() {
      for (let attempt = 0; ; attempt += 1) {
        try {
          await setup.query('select pg_replication_slot_advance(slot_name, pg_current_wal_lsn()) from entente.logical_capture_state');
          break;
        } catch (error) {
          // 55006: the last phase's walsender has not let go of the slot yet.
          if ((error as { code?: string }).code !== '55006' || attempt > 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      current = await openConnector(url, { schemas: ['public'], capture: 'logical-decoding' });
      // A gateway's connector and stream stay open. A new stream first re-decodes the slot's WAL from
      // its restart point — here the other phases' writes: a ~300 ms stall inside the phase, measured —
      // so one marker row goes through before the writers start, and is acknowledged.
      await setup.query(`insert into bench_logical (payload, amount) values ('warm-up', 0)`);
      let position = await current.capture.acknowledgedPosition();
      for (let seen = false, deadline = performance.now() + 60_000; !seen; ) {
        if (performance.now() > deadline) throw new Error('the warm-up row never came through the logical stream');
        const batch = await current.capture.read(position, { transactionsMax: 1000, changesMax: 10_000 });
        for (const transaction of batch) {
          position = transaction.position;
          seen ||= transaction.changes.some((change) => change.after?.['payload'] === 'warm-up');
        }
        if (batch.length === 0) await current.capture.waitForChanges(100);
      }
      if (position !== null) await current.capture.acknowledge(position);
      return current;
    },
    async finish() {
      await current?.close();
      current = undefined;
    },
    async remove() {
      const connector = await openConnector(url, { schemas: ['public'], capture: 'logical-decoding' });
      await connector.capture.uninstall();
      await connector.close();
    },
  };
}

async function benchServer(): Promise<Record<string, unknown>> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const database = `entente_bench_${Date.now()}`;
  await admin.query(`create database ${database}`);
  const url = adminUrl.replace(/\/[^/]*$/, `/${database}`);
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  try {
    const settings = await setup.query(`select name, setting from pg_settings where name in ('wal_level', 'fsync', 'synchronous_commit', 'server_version')`);
    await setup.query(schemaDdl(tablesCount));
    const connector = await openConnector(url, { schemas: ['public'] });
    const introspection = await timeIntrospection(connector);
    print(`server: introspection of ${introspection.tables} tables: ${introspection.runsMs.join(', ')} ms`);

    await setup.query(benchTableDdl('bench_raw'));
    await setup.query(benchTableDdl('bench_captured'));
    await connector.capture.install([{ schema: 'public', name: 'bench_captured' }]);
    const logicalAvailable = settings.rows.some((row: { name: string; setting: string }) => row.name === 'wal_level' && row.setting === 'logical');
    const methods: CaptureUnderTest[] = [triggerCapture(connector)];
    if (logicalAvailable) methods.push(await logicalCapture(url, setup));
    else print(`server: logical-decoding capture not measured: wal_level is not logical (ALTER SYSTEM SET wal_level = logical, then restart)`);

    const triggersOnly = await runPgbenchAsync(url, 'bench_captured', phaseSeconds, null, 1);
    print(`server: captured table without a reader: ${Math.round(triggersOnly.rowsPerSecond)} rows/s (the trigger's own cost; load ${loadNow()})`);
    await drain(connector);
    // Each phase starts clean: the previous phase's dirty pages and dead outbox rows would otherwise be
    // written and vacuumed during the next one (measured: whichever phase came second lost ~45%).
    const settle = async (): Promise<void> => {
      await setup.query('checkpoint');
      await setup.query(`vacuum bench_raw, bench_captured, entente.capture_outbox${logicalAvailable ? ', bench_logical' : ''}`);
    };
    const measureRaw = async (): Promise<{ raw: PgbenchResult; cpu: CpuUse | undefined }> => {
      await settle();
      const meter = await CpuMeter.start(setup);
      const raw = await runPgbenchAsync(url, 'bench_raw', phaseSeconds, null, 1);
      return { raw, cpu: await meter.stop() };
    };
    const measureCapture = async (method: CaptureUnderTest): Promise<{ run: Awaited<ReturnType<typeof captureRun>>; cpu: CpuUse | undefined }> => {
      await settle();
      const meter = await CpuMeter.start(setup);
      const run = await captureRun(url, method, null, 1);
      return { run, cpu: await meter.stop() };
    };
    const roundsByMethod = new Map<CaptureMethod, RatioRound[]>(methods.map((method) => [method.method, []]));
    for (let round = 0; round < ratioRounds; round += 1) {
      // Rotate which phase goes first, so a load swing does not always favour the same side.
      const loadBefore = loadNow();
      const phases: (() => Promise<void>)[] = [];
      let raw: { raw: PgbenchResult; cpu: CpuUse | undefined } | undefined;
      const captured = new Map<CaptureMethod, { run: Awaited<ReturnType<typeof captureRun>>; cpu: CpuUse | undefined }>();
      phases.push(async () => {
        raw = await measureRaw();
      });
      for (const method of methods) {
        phases.push(async () => {
          captured.set(method.method, await measureCapture(method));
        });
      }
      for (let index = 0; index < phases.length; index += 1) await phases[(index + round) % phases.length]?.();
      if (raw === undefined) throw new Error('raw phase did not run');
      const rawCpuUs = cpuUsPerRow(raw.cpu, raw.raw.rows);
      const parts: string[] = [];
      for (const method of methods) {
        const result = captured.get(method.method);
        if (result === undefined) continue;
        const captureRate = result.run.delivered / result.run.seconds;
        const captureCpuUs = cpuUsPerRow(result.cpu, result.run.delivered);
        const entry: RatioRound = {
          rawRowsPerSecond: Math.round(raw.raw.rowsPerSecond),
          capturedWritesPerSecond: Math.round(result.run.writeRate),
          deliveredChangesPerSecond: Math.round(captureRate),
          ratio: round3(captureRate / raw.raw.rowsPerSecond),
          cpuUsPerRawRow: rawCpuUs,
          cpuUsPerCapturedChange: captureCpuUs,
          cpuRatio: rawCpuUs === null || captureCpuUs === null ? null : round3(rawCpuUs / captureCpuUs),
          rawCpuMs: cpuBreakdown(raw.cpu),
          captureCpuMs: cpuBreakdown(result.cpu),
          loadAverage1m: [loadBefore, loadNow()],
        };
        roundsByMethod.get(method.method)?.push(entry);
        parts.push(`${method.label}: writers ${entry.capturedWritesPerSecond} rows/s, delivered ${entry.deliveredChangesPerSecond} changes/s = ${round1(100 * entry.ratio)}% of raw, CPU ${captureCpuUs ?? '?'} µs/change${cpuParts(result.cpu, result.run.delivered)}`);
      }
      print(`server: round ${round + 1}: raw ${Math.round(raw.raw.rowsPerSecond)} rows/s (CPU ${rawCpuUs ?? '?'} µs/row${cpuParts(raw.cpu, raw.raw.rows)}); ${parts.join('; ')} (load ${loadBefore} → ${loadNow()})`);
    }
    const summaries: Record<string, unknown> = {};
    for (const method of methods) {
      const rounds = roundsByMethod.get(method.method) ?? [];
      const medianRatio = round3(median(rounds.map((entry) => entry.ratio)));
      const pooledRatio = round3(rounds.reduce((sum, entry) => sum + entry.deliveredChangesPerSecond, 0) / rounds.reduce((sum, entry) => sum + entry.rawRowsPerSecond, 0));
      const cpuRatios = rounds.map((entry) => entry.cpuRatio).filter((ratio): ratio is number => ratio !== null);
      const medianCpuRatio = cpuRatios.length === 0 ? null : round3(median(cpuRatios));
      print(`server: ${method.label} capture rate = ${round1(100 * medianRatio)}% of raw (median of ${rounds.length} rotating rounds; pooled ${round1(100 * pooledRatio)}%; goal 80%)${medianCpuRatio === null ? '' : `; CPU per row: keeps ${round1(100 * medianCpuRatio)}% of raw when CPU-bound`}`);
      summaries[method.method] = { rounds, ratioToRaw: medianRatio, pooledRatioToRaw: pooledRatio, cpuRatioToRaw: medianCpuRatio, goalRatio: 0.8 };
    }

    await settle();
    const rawBatch = await runPgbenchAsync(url, 'bench_raw', phaseSeconds, null, batchRows);
    print(`server: raw insert rate in ${batchRows}-row transactions ${Math.round(rawBatch.rowsPerSecond)} rows/s`);
    const rawMedian = Math.round(median([...roundsByMethod.values()][0]?.map((entry) => entry.rawRowsPerSecond) ?? []));
    const singleRate = Math.min(targetWritesPerSecond, Math.floor(rawMedian * 0.8));
    const lags: Record<string, unknown> = {};
    for (const method of methods) {
      await settle();
      const lagLoadBefore = loadNow();
      const lag = await captureRun(url, method, targetWritesPerSecond, batchRows);
      const lagPercentiles = percentiles(lag.lagsMs);
      print(`server: ${method.label} lag at ${targetWritesPerSecond} writes/s target in ${batchRows}-row transactions (achieved ${Math.round(lag.writeRate)}/s, delivered ${Math.round(lag.delivered / lag.seconds)} changes/s): p50 ${lagPercentiles.p50} ms, p99 ${lagPercentiles.p99} ms, max ${lagPercentiles.max} ms (load ${lagLoadBefore} → ${loadNow()})`);
      await settle();
      const singleLoadBefore = loadNow();
      const lagSingle = await captureRun(url, method, singleRate, 1);
      const lagSinglePercentiles = percentiles(lagSingle.lagsMs);
      print(`server: ${method.label} lag with single-row transactions paced at ${singleRate}/s (achieved ${Math.round(lagSingle.writeRate)}/s): p50 ${lagSinglePercentiles.p50} ms, p99 ${lagSinglePercentiles.p99} ms (load ${singleLoadBefore} → ${loadNow()})`);
      lags[method.method] = {
        batched: {
          targetWritesPerSecond,
          rowsPerTransaction: batchRows,
          achievedWritesPerSecond: Math.round(lag.writeRate),
          deliveredChangesPerSecond: Math.round(lag.delivered / lag.seconds),
          ...lagPercentiles,
          samples: lag.lagsMs.length,
          goalP99Ms: 50,
          loadAverage1m: [lagLoadBefore],
        },
        singleRowTransactions: { targetWritesPerSecond: singleRate, achievedWritesPerSecond: Math.round(lagSingle.writeRate), ...lagSinglePercentiles, samples: lagSingle.lagsMs.length, goalP99Ms: 50 },
      };
    }
    const catchUp = await measureCatchUp(url, connector, settle);
    for (const method of methods) await method.remove();
    await connector.close();
    return {
      settings: Object.fromEntries(settings.rows.map((row: { name: string; setting: string }) => [row.name, row.setting])),
      introspection: { tables: introspection.tables, runsMs: introspection.runsMs, maxMs: Math.max(...introspection.runsMs), goalMs: 2000 },
      rawInsertsPerSecondMedian: rawMedian,
      rawInsertsPerSecondInBatches: Math.round(rawBatch.rowsPerSecond),
      writesPerSecondWithTriggersNoReader: Math.round(triggersOnly.rowsPerSecond),
      capture: summaries,
      lag: lags,
      catchUp,
    };
  } finally {
    await setup.end();
    await admin.query(`drop database if exists ${database} with (force)`);
    await admin.end();
  }
}

// ─── PGlite ─────────────────────────────────────────────────────────────────────────────────────

async function benchPglite(): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'entente-bench-pglite-'));
  const db = await PGlite.create(dataDir);
  try {
    await db.exec(schemaDdl(tablesCount));
    const connector = await createPgliteConnector(db, { schemas: ['public'] });
    const introspection = await timeIntrospection(connector);
    print(`pglite: introspection of ${introspection.tables} tables: ${introspection.runsMs.join(', ')} ms`);
    await db.exec('create table bench_raw (id bigint primary key, payload text not null, amount numeric(12,2)); create table bench_captured (id bigint primary key, payload text not null, amount numeric(12,2));');
    const insertFor = (table: string) => async (seconds: number): Promise<number> => {
      const deadline = performance.now() + seconds * 1000;
      let count = 0;
      while (performance.now() < deadline) {
        count += 1;
        await db.query(`insert into ${table} (id, payload, amount) values ($1, $2, $3)`, [count, `row ${count}`, '12.50']);
      }
      return count / seconds;
    };
    const rawRate = await insertFor('bench_raw')(phaseSeconds);
    print(`pglite: raw insert rate ${Math.round(rawRate)} rows/s (one session, one row per transaction)`);
    await connector.capture.install([{ schema: 'public', name: 'bench_captured' }]);
    const started = performance.now();
    const capturedWriteRate = await insertFor('bench_captured')(phaseSeconds);
    let delivered = 0;
    let position: string | null = null;
    for (;;) {
      const batch = await connector.capture.read(position, { transactionsMax: 5000, changesMax: 5000 });
      if (batch.length === 0) break;
      for (const transaction of batch) delivered += transaction.changes.length;
      position = batch.at(-1)?.position ?? position;
      if (position !== null) await connector.capture.acknowledge(position);
    }
    const captureRate = delivered / ((performance.now() - started) / 1000);
    print(`pglite: captured writes ${Math.round(capturedWriteRate)} rows/s; end-to-end capture ${Math.round(captureRate)} changes/s = ${round((100 * captureRate) / rawRate, 1)}% of raw`);
    await connector.close();
    return {
      introspection: { tables: introspection.tables, runsMs: introspection.runsMs, maxMs: Math.max(...introspection.runsMs), goalMs: 2000 },
      rawInsertsPerSecond: Math.round(rawRate),
      capture: { writesPerSecondWithTriggers: Math.round(capturedWriteRate), endToEndChangesPerSecond: Math.round(captureRate), ratioToRaw: round(captureRate / rawRate, 3) },
      note: 'PGlite is one session in this process: writes and reads alternate, so lag under concurrent load is not meaningful here.',
    };
  } finally {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Everything printed, also written at the top of the .md result: the summary a reader wants first. */
const printed: string[] = [];

function print(line: string): void {
  printed.push(line);
  process.stdout.write(`${line}\n`);
}

const date = new Date().toISOString().slice(0, 10);
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  os: `${platform()} ${release()}`,
  node: process.version,
  date: new Date().toISOString(),
  // A cloud VM whose host may be shared: its speed has been seen to halve within the hour, so compare the
  // figures of one run (the rounds alternate for that reason), never across runs; the load is recorded.
  note: 'A VM on a host that may be shared: compare the figures within this run, not across runs.',
};
const startLoad = loadNow();
const server = await benchServer();
const pglite = process.env['BENCH_SKIP_PGLITE'] === '1' ? null : await benchPglite();
const results = { benchmark: 'postgres', machine, phaseSeconds, writers: writersCount, server, pglite };
const resultsDir = new URL('./results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(new URL(`${resultStem('postgres', date)}.json`, resultsDir), `${JSON.stringify(results, null, 2)}\n`);
const lines = [
  `# bench:postgres, ${date}`,
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}. ${machine.note}`,
  `Load average (1 min) when the run started: ${startLoad}; when it ended: ${loadNow()} (on ${machine.cores} cores).`,
  '',
  '```',
  ...printed,
  '```',
  '',
  '```json',
  JSON.stringify({ server, pglite }, null, 2),
  '```',
];
writeFileSync(new URL(`${resultStem('postgres', date)}.md`, resultsDir), `${lines.join('\n')}\n`);
print(`wrote bench/results/${resultStem('postgres', date)}.json and .md`);
