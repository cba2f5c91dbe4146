// `npm run bench:capture-reader`: the trigger capture's reader, this checkout against a baseline commit
// in one run (BENCH_BASELINE=<ref>, default HEAD). Each variant is the real connector of its tree on
// its own fresh database; the variants alternate round by round (the VM's speed swings within minutes).
//   1. Steady state: four plain pg clients commit 100 single-row transactions, then the reader reads
//      (the gateway publisher's page sizes) and acknowledges; repeated. Figure: the reader's CPU per
//      change — its PostgreSQL backends and this process during read and acknowledge.
//   2. Catch-up: pgbench writes a backlog with no reader, for a short and a 4× longer time; the reader
//      reads it in pages, acknowledging each. Figure: time per change, and the long backlog's over the
//      short one's (1 = a page costs what it returns, whatever is left behind it).
//   3. A long transaction: the steady state again while another session keeps one transaction open,
//      writing a row each cycle. Figure: the reader's time per cycle (read, acknowledge, one poll) in
//      the first and the last 50 of the cycles (the same = the open transaction costs nothing).
// Needs pgbench (postgresql-client). Writes bench/results/capture-reader-<date>.{json,md}.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import type { Connector } from '../connectors/connector.ts';
import { openConnector } from '../connectors/index.ts';
import { CAPTURE_READ_CHANGES_MAX, CAPTURE_READ_TRANSACTIONS_MAX } from '../gateway/ledger/capture-publisher.ts';
import { baselineTree } from './support/baseline-tree.ts';
import { checkoutLabel } from './support/checkout.ts';
import { cpuSecondsOf, machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { round } from './support/stats.ts';

const adminUrl = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 4);
const steadyCycles = Number(process.env['BENCH_CYCLES'] ?? 100);
const writers = 4;
const transactionsPerWriterPerCycle = 25;
const catchUpSeconds = Number(process.env['BENCH_CATCH_UP_SECONDS'] ?? 2);
const longTransactionCycles = Number(process.env['BENCH_LONG_CYCLES'] ?? 400);
const cyclesCompared = 50;
const tableDdl = 'create table items (id bigserial primary key, payload text not null, amount numeric(12,2), written_at timestamptz not null default clock_timestamp())';
const insertSql = `insert into items (payload, amount) values ('payload ' || random()::text, 12.34)`;

type Open = (url: string) => Promise<Connector>;

interface Variant {
  readonly label: string;
  readonly url: string;
  readonly database: string;
  readonly connector: Connector;
  readonly writers: pg.Client[];
  position: string | null;
  readonly steadyUsPerChange: number[];
  readonly catchUp: { changes: number; usPerChange: number }[][];
  readonly longTransaction: { firstMs: number; lastMs: number }[];
}

async function withAdmin<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

async function prepare(label: string, open: Open): Promise<Variant> {
  const database = `entente_bench_reader_${label}_${Date.now()}`;
  await withAdmin((admin) => admin.query(`create database ${database}`));
  const url = adminUrl.replace(/\/[^/]*$/, `/${database}`);
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(tableDdl);
  await setup.end();
  const connector = await open(url);
  await connector.introspect({ schemas: ['public'] });
  await connector.capture.install([{ schema: 'public', name: 'items' }]);
  const clients = await Promise.all(Array.from({ length: writers }, async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return client;
  }));
  return { label, url, database, connector, writers: clients, position: null, steadyUsPerChange: [], catchUp: [], longTransaction: [] };
}

/** CPU seconds of the database's backends other than the writers' (the connector's: reader and pool). */
async function readerBackendSeconds(variant: Variant): Promise<number> {
  const writerPids = new Set(await Promise.all(variant.writers.map(async (client) => Number((await client.query('select pg_backend_pid() as pid')).rows[0].pid))));
  const pids = await withAdmin(async (admin) => (await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [variant.database])).rows.map((row) => Number(row.pid)));
  const seconds = pids.filter((pid) => !writerPids.has(pid)).map((pid) => cpuSecondsOf(pid));
  return seconds.filter((value) => Number.isFinite(value)).reduce((sum, value) => sum + value, 0);
}

/** Reads and acknowledges until nothing is left; returns the changes and this process's CPU seconds spent. */
async function readAll(variant: Variant): Promise<{ changes: number; clientSeconds: number }> {
  let changes = 0;
  const started = process.cpuUsage();
  for (;;) {
    const batch = await variant.connector.capture.read(variant.position, { transactionsMax: CAPTURE_READ_TRANSACTIONS_MAX, changesMax: CAPTURE_READ_CHANGES_MAX });
    if (batch.length === 0) break;
    for (const transaction of batch) changes += transaction.changes.length;
    variant.position = batch.at(-1)?.position ?? variant.position;
    if (variant.position !== null) await variant.connector.capture.acknowledge(variant.position);
  }
  const used = process.cpuUsage(started);
  return { changes, clientSeconds: (used.user + used.system) / 1e6 };
}

async function steadyState(variant: Variant): Promise<void> {
  const backendBefore = await readerBackendSeconds(variant);
  let changes = 0;
  let clientSeconds = 0;
  for (let cycle = 0; cycle < steadyCycles; cycle += 1) {
    await Promise.all(variant.writers.map(async (client) => {
      for (let index = 0; index < transactionsPerWriterPerCycle; index += 1) await client.query(insertSql);
    }));
    const read = await readAll(variant);
    changes += read.changes;
    clientSeconds += read.clientSeconds;
  }
  const backendSeconds = (await readerBackendSeconds(variant)) - backendBefore;
  variant.steadyUsPerChange.push(round(((backendSeconds + clientSeconds) * 1e6) / Math.max(1, changes), 1));
}

async function longTransaction(variant: Variant): Promise<void> {
  const holder = new pg.Client({ connectionString: variant.url });
  await holder.connect();
  const cycleMs: number[] = [];
  try {
    await holder.query('begin');
    for (let cycle = 0; cycle < longTransactionCycles; cycle += 1) {
      await holder.query(insertSql);
      await Promise.all(variant.writers.map(async (client) => {
        for (let index = 0; index < transactionsPerWriterPerCycle; index += 1) await client.query(insertSql);
      }));
      const started = performance.now();
      await readAll(variant);
      await variant.connector.capture.waitForChanges(0);
      cycleMs.push(performance.now() - started);
    }
    await holder.query('commit');
  } finally {
    await holder.end();
  }
  await readAll(variant);
  const mean = (values: readonly number[]): number => round(values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length), 2);
  variant.longTransaction.push({ firstMs: mean(cycleMs.slice(0, cyclesCompared)), lastMs: mean(cycleMs.slice(-cyclesCompared)) });
}

async function catchUp(variant: Variant): Promise<void> {
  const runs: { changes: number; usPerChange: number }[] = [];
  for (const seconds of [catchUpSeconds, catchUpSeconds * 4]) {
    const written = spawnSync('pgbench', ['-n', '-h', new URL(variant.url).hostname, '-p', new URL(variant.url).port || '5432', '-U', new URL(variant.url).username || 'postgres', '-c', String(writers), '-j', '2', '-T', String(seconds), '-f', '-', variant.database], { input: `${insertSql};\n`, encoding: 'utf8' });
    if (written.status !== 0) throw new Error(`pgbench failed: ${written.stderr}`);
    const started = performance.now();
    const { changes } = await readAll(variant);
    runs.push({ changes, usPerChange: round(((performance.now() - started) * 1000) / Math.max(1, changes), 1) });
  }
  variant.catchUp.push(runs);
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : round(sorted[Math.floor(sorted.length / 2)]!, 1);
};

const machine = machineFacts();
const baselineRef = process.env['BENCH_BASELINE'] ?? 'HEAD';
const tree = baselineTree(baselineRef);
const variants: Variant[] = [];
try {
  const baselineOpen = ((await import(join(tree.root, 'connectors/index.ts'))) as { openConnector: Open }).openConnector;
  variants.push(await prepare('current', (url) => openConnector(url)), await prepare('baseline', baselineOpen));
  for (let index = 0; index < rounds; index += 1) {
    const order = index % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) await steadyState(variant);
    for (const variant of order) await catchUp(variant);
    for (const variant of order) await longTransaction(variant);
    const [current, baseline] = variants;
    const describe = (variant: Variant): string => {
      const runs = variant.catchUp.at(-1) ?? [];
      const open = variant.longTransaction.at(-1);
      return `${variant.label}: steady ${variant.steadyUsPerChange.at(-1)} µs CPU/change; catch-up ${runs.map((run) => `${run.changes} changes ${run.usPerChange} µs/change`).join(', ')}; with a transaction open ${open?.firstMs} → ${open?.lastMs} ms per cycle`;
    };
    console.log(`round ${index + 1}: ${describe(current!)} | ${describe(baseline!)}`);
  }
} finally {
  for (const variant of variants) {
    await variant.connector.close();
    for (const client of variant.writers) await client.end();
    await withAdmin((admin) => admin.query(`drop database if exists ${variant.database} with (force)`));
  }
  tree.remove();
}

const summary = variants.map((variant) => {
  const short = median(variant.catchUp.map((runs) => runs[0]?.usPerChange ?? Number.NaN));
  const long = median(variant.catchUp.map((runs) => runs[1]?.usPerChange ?? Number.NaN));
  return {
    label: variant.label,
    steadyUsPerChange: median(variant.steadyUsPerChange),
    catchUpShortChanges: median(variant.catchUp.map((runs) => runs[0]?.changes ?? 0)),
    catchUpShortUsPerChange: short,
    catchUpLongChanges: median(variant.catchUp.map((runs) => runs[1]?.changes ?? 0)),
    catchUpLongUsPerChange: long,
    catchUpGrowth: round(long / short, 2),
    longTransactionFirstMs: median(variant.longTransaction.map((run) => run.firstMs)),
    longTransactionLastMs: median(variant.longTransaction.map((run) => run.lastMs)),
    rounds: { steadyUsPerChange: variant.steadyUsPerChange, catchUp: variant.catchUp, longTransaction: variant.longTransaction },
  };
});
const [current, baseline] = summary;
const lines = [
  `# bench:capture-reader — ${new Date().toISOString()}`,
  '',
  machineLine(machine),
  `Current: ${checkoutLabel()}; baseline: ${tree.commit} (BENCH_BASELINE=${baselineRef}). ${rounds} alternating rounds; medians.`,
  '',
  `| variant | steady state: reader CPU µs/change | catch-up, short backlog: µs/change | catch-up, 4× longer: µs/change | growth (1 = linear) | a transaction open: ms per cycle, first → last ${cyclesCompared} of ${longTransactionCycles} |`,
  '|---|---|---|---|---|---|',
  ...summary.map((row) => `| ${row.label} | ${row.steadyUsPerChange} | ${row.catchUpShortUsPerChange} (${row.catchUpShortChanges} changes) | ${row.catchUpLongUsPerChange} (${row.catchUpLongChanges} changes) | ×${row.catchUpGrowth} | ${row.longTransactionFirstMs} → ${row.longTransactionLastMs} |`),
  '',
  `Current / baseline: steady-state CPU ×${round(current!.steadyUsPerChange / baseline!.steadyUsPerChange, 2)}; long catch-up time ×${round(current!.catchUpLongUsPerChange / baseline!.catchUpLongUsPerChange, 2)}.`,
];
console.log(lines.slice(4).join('\n'));
writeResultFiles('capture-reader', new Date().toISOString(), { machine, current: checkoutLabel(), baseline: tree.commit, rounds, summary }, lines.join('\n'));
