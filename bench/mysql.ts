// `npm run bench:mysql`: the MySQL/MariaDB connector's capture figures (issue #9, acceptance 3), on the
// real server, all in one run so the baseline and the measurements share the machine's state:
//   1. Raw insert rate: outside writers (plain mysql2 connections, one row per autocommit statement)
//      into a table without capture — the baseline.
//   2. The same for explicit 5-statement transactions (raw, then captured): the commit-sequence lock
//      serializes capturing transactions from their first change to their commit, so this shows its cost.
//      A third table gets the same kind of trigger and outbox row but an AUTO_INCREMENT id instead of
//      the sequence lock (what a naive outbox does, which is NOT commit-ordered): the difference between
//      it and the captured table is the price of commit order alone.
//   3. Capture throughput: the autocommit writers, unthrottled, into a captured table while a follower
//      reads, acknowledges and prunes the stream; changes delivered per second, as a ratio of the raw rate.
//   4. Capture lag (commit answered → delivered to the follower) p50/p99 with writers paced at
//      5,000 writes/s or 80% of the raw rate, whichever is lower.
//   5. Introspection of a 300-table schema (keys, foreign keys, enums, comments, JSON): time per run.
// Writes bench/results/mysql-<date>.{json,md}. Creates and drops its own database.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import mysql from 'mysql2/promise';
import type { Connector } from '../connectors/connector.ts';
import { openMysqlConnector } from '../connectors/mysql/mysql-connector.ts';
import { resultStem } from './support/machine.ts';
import { percentiles, round } from './support/stats.ts';

const phaseSeconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const writersCount = 4;
const targetWritesPerSecond = 5000;
const settings = {
  host: process.env['MYSQL_HOST'] ?? '127.0.0.1',
  port: Number(process.env['MYSQL_PORT'] ?? 3306),
  user: process.env['MYSQL_USER'] ?? 'root',
  password: process.env['MYSQL_PASSWORD'] ?? '',
};
const database = `entente_bench_mysql_${Date.now().toString(36)}`;


interface WriteLog {
  /** Row id → performance.now() when its COMMIT was answered. */
  readonly committedAt: Map<number, number>;
  rows: number;
  transactions: number;
}

let nextId = 1;

/** Writers insert rows (statementsPerTransaction per transaction; 1 = autocommit) until the deadline. */
async function runWriters(table: string, seconds: number, ratePerSecond: number | null, statementsPerTransaction: number, log: WriteLog): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const perWriterInterval = ratePerSecond === null ? 0 : (1000 * writersCount) / ratePerSecond;
  await Promise.all(
    Array.from({ length: writersCount }, async (_, writer) => {
      const connection = await mysql.createConnection({ ...settings, database });
      let due = performance.now() + (perWriterInterval * writer) / writersCount;
      try {
        while (performance.now() < deadline) {
          if (perWriterInterval > 0) {
            const wait = due - performance.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            due += perWriterInterval;
          }
          const ids: number[] = [];
          if (statementsPerTransaction > 1) await connection.query('START TRANSACTION');
          for (let statement = 0; statement < statementsPerTransaction; statement += 1) {
            const id = nextId++;
            ids.push(id);
            await connection.query(`INSERT INTO ${table} (id, writer, payload, amount) VALUES (?, ?, ?, ?)`, [id, writer, `payload ${id} ✓`, `${id}.25`]);
          }
          if (statementsPerTransaction > 1) await connection.query('COMMIT');
          const now = performance.now();
          for (const id of ids) log.committedAt.set(id, now);
          log.rows += ids.length;
          log.transactions += 1;
        }
      } finally {
        await connection.end();
      }
    }),
  );
  return (performance.now() - started) / 1000;
}

interface FollowResult {
  readonly delivered: number;
  readonly lagsMs: readonly number[];
  readonly seconds: number;
}

/** Reads the capture stream until `expected()` changes arrived, acknowledging (and so pruning) as it goes. */
async function follow(connector: Connector, log: WriteLog, isDone: () => boolean): Promise<FollowResult> {
  const started = performance.now();
  let position = await connector.capture.acknowledgedPosition();
  let delivered = 0;
  const lagsMs: number[] = [];
  for (;;) {
    const batch = await connector.capture.read(position, { transactionsMax: 2000, changesMax: 5000 });
    const now = performance.now();
    for (const transaction of batch) {
      for (const change of transaction.changes) {
        const committed = log.committedAt.get(Number(change.key['id']));
        if (committed !== undefined) lagsMs.push(Math.max(0, now - committed));
        delivered += 1;
      }
      position = transaction.position;
    }
    if (position !== null && batch.length > 0) await connector.capture.acknowledge(position);
    if (batch.length === 0) {
      if (isDone() && delivered >= log.rows) break;
      await connector.capture.waitForChanges(50);
    }
  }
  return { delivered, lagsMs, seconds: (performance.now() - started) / 1000 };
}

const introspectionTables = 300;
const introspectionRuns = 5;

/** Creates 300 related tables in a database of their own and times connector.introspect() on it. */
async function timeIntrospection(admin: mysql.Connection): Promise<{ readonly tables: number; readonly runsMs: readonly number[]; readonly maxMs: number }> {
  const schema = `${database}_wide`;
  await admin.query(`CREATE DATABASE \`${schema}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  try {
    for (let index = 1; index <= introspectionTables; index += 1) {
      const name = `t${String(index).padStart(3, '0')}`;
      const parent = index > 1 ? `, parent_id INT NULL, CONSTRAINT ${name}_parent FOREIGN KEY (parent_id) REFERENCES t${String(index - 1).padStart(3, '0')} (id)` : '';
      await admin.query(`CREATE TABLE \`${schema}\`.${name} (id INT NOT NULL PRIMARY KEY, code VARCHAR(40) NOT NULL UNIQUE, state ENUM('new','active','closed') NOT NULL DEFAULT 'new', amount DECIMAL(12,2) NULL, doc JSON NULL, created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)${parent}) COMMENT='bench table ${index}'`);
    }
    const connector = await openMysqlConnector(`mysql://${encodeURIComponent(settings.user)}${settings.password === '' ? '' : ':' + encodeURIComponent(settings.password)}@${settings.host}:${settings.port}/${schema}`);
    try {
      const runsMs: number[] = [];
      let tables = 0;
      for (let run = 0; run < introspectionRuns; run += 1) {
        const started = performance.now();
        tables = (await connector.introspect()).tables.length;
        runsMs.push(round(performance.now() - started));
      }
      return { tables, runsMs, maxMs: Math.max(...runsMs) };
    } finally {
      await connector.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS \`${schema}\``);
  }
}

async function main(): Promise<void> {
  const admin = await mysql.createConnection(settings);
  await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  const [variables] = await admin.query(`SHOW VARIABLES WHERE Variable_name IN ('version', 'innodb_flush_log_at_trx_commit', 'log_bin', 'sync_binlog', 'transaction_isolation', 'tx_isolation')`);
  const serverSettings = Object.fromEntries((variables as { Variable_name: string; Value: string }[]).map((row) => [row.Variable_name, row.Value]));
  const tableDdl = (name: string) => `CREATE TABLE \`${database}\`.${name} (id BIGINT NOT NULL PRIMARY KEY, writer INT NOT NULL, payload VARCHAR(100) NOT NULL, amount DECIMAL(14,2) NOT NULL, created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))`;
  for (const name of ['raw_items', 'raw_tx_items', 'unordered_tx_items', 'captured_items', 'captured_tx_items', 'lag_items']) await admin.query(tableDdl(name));
  await admin.query(`CREATE TABLE \`${database}\`.unordered_outbox (seq BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, conn_id BIGINT UNSIGNED NOT NULL, in_tx TINYINT NOT NULL, stmt_at DATETIME(6) NOT NULL, table_name VARCHAR(64) NOT NULL, op CHAR(1) NOT NULL, after_image LONGTEXT NULL)`);
  await admin.query(`CREATE TRIGGER \`${database}\`.unordered_ai AFTER INSERT ON \`${database}\`.unordered_tx_items FOR EACH ROW INSERT INTO \`${database}\`.unordered_outbox (conn_id, in_tx, stmt_at, table_name, op, after_image) VALUES (CONNECTION_ID(), @@in_transaction, NOW(6), 'unordered_tx_items', 'i', JSON_OBJECT('id', CAST(NEW.id AS CHAR), 'writer', CAST(NEW.writer AS CHAR), 'payload', NEW.payload, 'amount', CAST(NEW.amount AS CHAR), 'created_at', DATE_FORMAT(NEW.created_at, '%Y-%m-%d %H:%i:%s.%f')))`);
  const connector = await openMysqlConnector(`mysql://${encodeURIComponent(settings.user)}${settings.password === '' ? '' : ':' + encodeURIComponent(settings.password)}@${settings.host}:${settings.port}/${database}`, { pollIntervalMs: 5 });
  try {
    await connector.capture.install(['captured_items', 'captured_tx_items', 'lag_items'].map((name) => ({ schema: database, name })));

    console.log(`raw autocommit inserts, ${writersCount} writers, ${phaseSeconds}s …`);
    const rawLog: WriteLog = { committedAt: new Map(), rows: 0, transactions: 0 };
    const rawSeconds = await runWriters('raw_items', phaseSeconds, null, 1, rawLog);
    const rawPerSecond = rawLog.rows / rawSeconds;

    console.log('raw 5-statement transactions …');
    const rawTxLog: WriteLog = { committedAt: new Map(), rows: 0, transactions: 0 };
    const rawTxSeconds = await runWriters('raw_tx_items', phaseSeconds, null, 5, rawTxLog);

    console.log('5-statement transactions into a table with an unordered (auto-increment) outbox trigger …');
    const unorderedTxLog: WriteLog = { committedAt: new Map(), rows: 0, transactions: 0 };
    const unorderedTxSeconds = await runWriters('unordered_tx_items', phaseSeconds, null, 5, unorderedTxLog);

    console.log('captured autocommit inserts with a follower …');
    const captureLog: WriteLog = { committedAt: new Map(), rows: 0, transactions: 0 };
    let writersDone = false;
    const following = follow(connector, captureLog, () => writersDone);
    const captureWriteSeconds = await runWriters('captured_items', phaseSeconds, null, 1, captureLog);
    writersDone = true;
    const captured = await following;

    console.log('captured 5-statement transactions with a follower …');
    const captureTxLog: WriteLog = { committedAt: new Map(), rows: 0, transactions: 0 };
    let txWritersDone = false;
    const followingTx = follow(connector, captureTxLog, () => txWritersDone);
    const captureTxSeconds = await runWriters('captured_tx_items', phaseSeconds, null, 5, captureTxLog);
    txWritersDone = true;
    const capturedTx = await followingTx;

    const pacedRate = Math.min(targetWritesPerSecond, Math.floor(rawPerSecond * 0.8));
    console.log(`lag at ${pacedRate} writes/s …`);
    const lagLog: WriteLog = { committedAt: new Map(), rows: 0, transactions: 0 };
    let lagDone = false;
    const followingLag = follow(connector, lagLog, () => lagDone);
    const lagSeconds = await runWriters('lag_items', phaseSeconds, pacedRate, 1, lagLog);
    lagDone = true;
    const lagged = await followingLag;

    console.log('introspection of 300 tables …');
    const introspection = await timeIntrospection(admin);

    const result = {
      benchmark: 'bench:mysql',
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: round(totalmem() / 2 ** 30, 1), os: `${platform()} ${release()}`, node: process.version },
      sharedMachine: 'a VM whose host may be shared: compare the figures within this run, not across runs',
      server: serverSettings,
      phaseSeconds,
      writers: writersCount,
      rawInsertsPerSecond: Math.round(rawPerSecond),
      capture: {
        changesPerSecond: Math.round(captured.delivered / Math.max(captured.seconds, captureWriteSeconds)),
        writesPerSecondDuringCapture: Math.round(captureLog.rows / captureWriteSeconds),
        ratioToRaw: round(captured.delivered / Math.max(captured.seconds, captureWriteSeconds) / rawPerSecond),
        delivered: captured.delivered,
        written: captureLog.rows,
        lagUnthrottledMs: percentiles(captured.lagsMs),
      },
      transactions5: {
        rawTransactionsPerSecond: Math.round(rawTxLog.transactions / rawTxSeconds),
        unorderedTriggerTransactionsPerSecond: Math.round(unorderedTxLog.transactions / unorderedTxSeconds),
        capturedTransactionsPerSecond: Math.round(captureTxLog.transactions / captureTxSeconds),
        ratioToRaw: round(captureTxLog.transactions / captureTxSeconds / (rawTxLog.transactions / rawTxSeconds)),
        changesDeliveredPerSecond: Math.round(capturedTx.delivered / Math.max(capturedTx.seconds, captureTxSeconds)),
      },
      introspection,
      lag: {
        targetWritesPerSecond: pacedRate,
        achievedWritesPerSecond: Math.round(lagLog.rows / lagSeconds),
        ...percentiles(lagged.lagsMs),
        samples: lagged.lagsMs.length,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `\nraw ${result.rawInsertsPerSecond} inserts/s | capture ${result.capture.changesPerSecond} changes/s (${Math.round(result.capture.ratioToRaw * 100)}% of raw) | ` +
        `lag p50 ${result.lag.p50} ms p99 ${result.lag.p99} ms at ${result.lag.achievedWritesPerSecond} writes/s | ` +
        `introspection of ${result.introspection.tables} tables max ${result.introspection.maxMs} ms | ` +
        `5-statement tx: raw ${result.transactions5.rawTransactionsPerSecond}/s, unordered trigger ${result.transactions5.unorderedTriggerTransactionsPerSecond}/s, captured ${result.transactions5.capturedTransactionsPerSecond}/s (${Math.round(result.transactions5.ratioToRaw * 100)}%)`,
    );
    const day = result.date.slice(0, 10);
    const dir = new URL('./results/', import.meta.url);
    mkdirSync(dir, { recursive: true });
    writeFileSync(new URL(`${resultStem('mysql', day)}.json`, dir), JSON.stringify(result, null, 2) + '\n');
    writeFileSync(
      new URL(`${resultStem('mysql', day)}.md`, dir),
      `# bench:mysql, ${day}\n\nMachine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGiB} GiB, ${result.machine.os}; Node ${result.machine.node}. Host: ${result.sharedMachine}.\n\n` +
        `| figure | value |\n|---|---|\n| raw autocommit inserts/s (baseline, same run) | ${result.rawInsertsPerSecond} |\n| capture changes/s (unthrottled writers + follower) | ${result.capture.changesPerSecond} (${Math.round(result.capture.ratioToRaw * 100)}% of raw) |\n` +
        `| capture lag p50 / p99 / max at ${result.lag.achievedWritesPerSecond} writes/s | ${result.lag.p50} / ${result.lag.p99} / ${result.lag.max} ms |\n| introspection of ${result.introspection.tables} tables, max of ${introspectionRuns} runs | ${result.introspection.maxMs} ms |\n| 5-statement transactions/s: raw → trigger + unordered outbox (no commit order) → captured (commit-sequence lock) | ${result.transactions5.rawTransactionsPerSecond} → ${result.transactions5.unorderedTriggerTransactionsPerSecond} → ${result.transactions5.capturedTransactionsPerSecond} (${Math.round(result.transactions5.ratioToRaw * 100)}% of raw) |\n\n` +
        '```json\n' + JSON.stringify(result, null, 2) + '\n```\n',
    );
  } finally {
    await connector.close();
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.end();
  }
}

await main();
