// Change capture with triggers and an outbox table, ordered by commit, without replication privileges.
//
// Where: Entente's capture tables live beside the captured tables, in the same database, with the
// prefix `entente_` (entente_outbox, entente_capture_sequence, entente_capture_state, ..._barrier). A separate
// `entente` database would need grants on a second database and cross-database triggers, and every
// captured database would have to share it; prefixed tables need only privileges on the partner's own
// database and keep one database's capture self-contained (and droppable with uninstall()).
//
// Order — the commit-sequence rule. An auto-increment id does not give commit order: two transactions
// can take ids 5 and 6 and commit 6 first, and a reader that saw 6 would skip 5 forever. So every
// captured change first increments the single row of entente_capture_sequence. The row lock that this
// UPDATE takes is held until the transaction ends, so:
//   1. while a capturing transaction T is open, no other capturing transaction can take a number; the
//      next one waits for T's commit (or rollback) and then reads T's last number (a locking read sees
//      the latest committed version) — numbers are handed out in commit order;
//   2. a rollback also rolls back the increment, so the numbers of committed changes are dense: 1..N;
//   3. hence, when a reader sees number N committed, every number below N belongs to a transaction
//      that committed earlier and is already visible (InnoDB makes a commit visible before it releases
//      its locks: trx_t::commit_in_memory deregisters the transaction, then calls release_locks()).
//      Reading `seq > position` in seq order never skips and never repeats a change.
// The cost is that capturing transactions are serialized from their first captured change to their
// commit (bench/mysql.ts measures it against the raw insert rate).
//
// Transactions: MySQL gives a trigger no usable transaction id (information_schema.INNODB_TRX is a
// cache refreshed at most every 100 ms — measured: two back-to-back transactions read the same id — and
// the session status counters cost ~0.6 ms per row). So each outbox row records who wrote it and how:
// the connection id, @@in_transaction (0 for an autocommit statement), the statement's start time
// NOW(6), and @entente_tx, a token the connector sets for each of its own write transactions. Because
// capturing transactions are serialized (rule 1), one transaction's changes are contiguous, and a new
// transaction starts where the connection, the token or the autocommit flag changes, or — for
// autocommit statements — the statement changes. The one case these columns cannot tell apart is one
// connection committing two explicit transactions back to back with no other capturing transaction in
// between; such transactions are delivered as one (atomically, in order, nothing lost or repeated).
// The reader never delivers an explicit transaction at the tail of the outbox before it is sealed: it
// first appends a seal row (taking the sequence lock, i.e. after any in-flight capturing transaction),
// so the grouping depends only on stored rows, never on when the reader happened to look — a re-read
// from any acknowledged position yields the same transactions and positions (exactly-once by position).
//
// Durability: InnoDB makes a commit visible before it flushes the redo log, so read() commits a
// one-row update of its own before returning changes; its flush covers every commit it saw.
//
// The origin of Entente's own writes is the session variable @entente_origin, set by the connector for
// the duration of its transaction and copied by the trigger. No privilege beyond TRIGGER and the usual
// table privileges on the captured database is needed (no REPLICATION, no PROCESS, no SUPER unless
// binary logging is on).
//
// Not seen by triggers (MySQL/MariaDB do not fire them): changes made by foreign-key cascades,
// TRUNCATE, and direct edits of non-InnoDB tables (install() refuses non-InnoDB tables).
import { createHash } from 'node:crypto';
import { EntenteError, isEntenteError } from '../../common/errors.ts';
import { assert } from '../../common/assert.ts';
import type { CaptureMethod, CapturedChange, CapturedTransaction, ChangeCapture, ChangeOperation, Row, TableRef, Value } from '../connector.ts';
import { lockWaitMsDefault } from '../lock-waits.ts';
import { runDdlWithoutWaiting, runDdlWithShortLockWaits } from './mysql-lock-waits.ts';
import type { IntrospectedTable } from './mysql-introspector.ts';
import type { RunSql } from './mysql-reader.ts';
import type { SessionRun } from './mysql-writer.ts';
import { codecOf } from './mysql-reader.ts';
import { captureTextExpression, decodeCaptured } from './mysql-values.ts';
import { quoteIdentifier, quoteString, sql } from './mysql-sql.ts';
import { triggerPrivilegeError } from './mysql-errors.ts';

export const outboxTable = 'entente_outbox';
export const sequenceTable = 'entente_capture_sequence';
export const stateTable = 'entente_capture_state';
export const barrierTable = 'entente_capture_barrier';
const triggerPrefix = 'entente_c_';

/** Rows deleted per statement when pruning, so pruning never holds long locks. */
const pruneBatchRowsMax = 5_000;
/** A single source transaction larger than this cannot be delivered (it would not fit a ledger block either). */
export const transactionChangesMax = 100_000;

export interface CaptureContext {
  readonly database: string;
  readonly user: string;
  readonly isMariadb: boolean;
  readonly pollIntervalMs: number;
  /** How long read() lets an open explicit transaction at the tail wait to be closed by others before sealing it. */
  readonly sealDelayMs: number;
  readonly run: RunSql;
  readonly execute: SessionRun;
  /** One transaction on one connection (commit on success). */
  readonly transaction: <T>(work: (run: SessionRun) => Promise<T>) => Promise<T>;
  /** Table model and codecs; `fresh` re-reads the catalog (after a column was added). */
  readonly resolve: (table: TableRef, fresh?: boolean) => Promise<IntrospectedTable>;
}

export function createTriggerCapture(context: CaptureContext): ChangeCapture {
  let deliveredSeq = 0n;
  const table = (name: string): string => `${quoteIdentifier(context.database)}.${quoteIdentifier(name)}`;

  async function ensureTables(): Promise<void> {
    await context.run(sql(`CREATE TABLE IF NOT EXISTS ${table(sequenceTable)} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, n BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB COMMENT='Entente change capture: commit sequence (one row; its lock orders capturing transactions)'`));
    await context.run(sql(`INSERT IGNORE INTO ${table(sequenceTable)} (id, n) VALUES (1, 0)`));
    await context.run(sql(`CREATE TABLE IF NOT EXISTS ${table(outboxTable)} (seq BIGINT UNSIGNED NOT NULL PRIMARY KEY, conn_id BIGINT UNSIGNED NOT NULL, in_tx TINYINT UNSIGNED NOT NULL, stmt_at DATETIME(6) NOT NULL, token VARCHAR(64) NULL, origin VARCHAR(255) NULL, table_name VARCHAR(64) NOT NULL, op CHAR(1) NOT NULL, before_image LONGTEXT NULL, after_image LONGTEXT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT='Entente change capture: committed changes, pruned after acknowledgement'`));
    await context.run(sql(`CREATE TABLE IF NOT EXISTS ${table(stateTable)} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, acknowledged BIGINT UNSIGNED NULL) ENGINE=InnoDB COMMENT='Entente change capture: acknowledged position'`));
    await context.run(sql(`INSERT IGNORE INTO ${table(stateTable)} (id, acknowledged) VALUES (1, NULL)`));
    await context.run(sql(`CREATE TABLE IF NOT EXISTS ${table(barrierTable)} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, n BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB COMMENT='Entente change capture: durability barrier (a commit after a read makes what was read durable)'`));
    await context.run(sql(`INSERT IGNORE INTO ${table(barrierTable)} (id, n) VALUES (1, 0)`));
  }

  async function installOn(ref: TableRef, lockWaitMs: number): Promise<void> {
    if (ref.schema !== context.database) {
      throw new EntenteError('USAGE', `capture of ${ref.schema}.${ref.name}: this connector captures database '${context.database}' only; open a connector on '${ref.schema}' for its tables`);
    }
    const target = await context.resolve(ref, true);
    if (target.model.kind === 'view') throw new EntenteError('USAGE', `${ref.name} is a view; capture its base tables instead`);
    if (target.model.primaryKey === null) throw new EntenteError('USAGE', `table ${ref.name} has no primary key, so its changes cannot be identified; add a PRIMARY KEY to capture it`);
    const [engine] = await context.run(sql('SELECT ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [ref.schema, ref.name]));
    if (String(engine?.['engine'] ?? '').toLowerCase() !== 'innodb') {
      throw new EntenteError('DB_UNSUPPORTED', `table ${ref.name} uses the ${String(engine?.['engine'])} engine, which has no transactions, so its changes cannot be captured in commit order; convert it: ALTER TABLE ${quoteIdentifier(ref.name)} ENGINE=InnoDB`);
    }
    // Install runs at every gateway start. A trigger already as wanted is left alone: creating one takes
    // an exclusive metadata lock on the table, which waits for every open transaction that used the
    // table and queues every later statement on it behind that wait.
    const present = await context.run(
      sql('SELECT TRIGGER_NAME AS name, ACTION_TIMING AS timing, EVENT_MANIPULATION AS event, ACTION_STATEMENT AS body FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?', [context.database, ref.name]),
    );
    const stale = (['insert', 'update', 'delete'] as const)
      .map((operation) => ({ operation, name: triggerName(ref.name, operation), ...triggerStatement(context, target, triggerName(ref.name, operation), operation) }))
      .filter(({ operation, name, body }) => !present.some((row) => row['name'] === name && row['timing'] === 'AFTER' && row['event'] === operation.toUpperCase() && row['body'] === body));
    if (stale.length === 0) return;
    try {
      if (context.isMariadb) {
        // Not waiting: a trigger statement waiting for the table's metadata lock queues every later
        // statement on the table behind it. CREATE OR REPLACE swaps a trigger in one step.
        for (const { head, body } of stale) await runDdlWithoutWaiting(context.run, lockWaitMs, 'Installing change capture', table(ref.name), `CREATE OR REPLACE ${head}\n${body}`);
      } else {
        // MySQL has no CREATE OR REPLACE TRIGGER: DROP and CREATE under the table's write lock, so that no
        // change is made (and missed) between them.
        const statements = stale.flatMap(({ name, head, body }) => [`DROP TRIGGER IF EXISTS ${table(name)}`, `CREATE ${head}\n${body}`]);
        await runDdlWithShortLockWaits((work) => context.transaction(work), lockWaitMs, 'Installing change capture', table(ref.name), statements, { lockTable: true });
      }
    } catch (error) {
      throw translateInstallError(error, context);
    }
  }

  async function installedTriggers(): Promise<{ readonly name: string; readonly table: string }[]> {
    const rows = await context.run(sql(`SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME LIKE 'entente\\_c\\_%' ORDER BY TRIGGER_NAME`, [context.database]));
    return rows.map((row) => ({ name: String(row['name']), table: String(row['t']) }));
  }

  /**
   * A DROP on a table the applications use (a trigger's table, or the outbox their triggers write): like
   * a trigger's replacement, it must not wait long for the metadata lock, queuing their statements.
   */
  async function dropWithShortLockWaits(statement: string, target: string, doing: string, lockWaitMs: number): Promise<void> {
    if (context.isMariadb) await runDdlWithoutWaiting(context.run, lockWaitMs, doing, target, statement);
    else await runDdlWithShortLockWaits((work) => context.transaction(work), lockWaitMs, doing, target, [statement], { lockTable: false });
  }

  async function readChanges(after: bigint, limit: number): Promise<readonly Record<string, unknown>[]> {
    return context.run(sql(`SELECT seq, conn_id, in_tx, stmt_at, token, origin, table_name, op, before_image, after_image FROM ${table(outboxTable)} WHERE seq > ? ORDER BY seq LIMIT ?`, [after.toString(), limit]));
  }

  /**
   * Appends a seal row: it closes whatever transaction precedes it in the outbox (see the header).
   * False when a long-running capturing transaction holds the sequence lock: the tail then waits for
   * the next read (that transaction's own changes will close it) instead of blocking this one.
   */
  async function seal(): Promise<boolean> {
    try {
      await context.transaction(async (run) => {
        await run(sql('SET SESSION innodb_lock_wait_timeout = ?', [sealLockWaitSeconds]));
        try {
          await run(sql(`UPDATE ${table(sequenceTable)} SET n = n + 1 WHERE id = 1`));
          const selected = await run(sql(`SELECT n FROM ${table(sequenceTable)} WHERE id = 1`));
          const n = String(selected.rows[0]?.['n']);
          await run(sql(`INSERT INTO ${table(outboxTable)} (seq, conn_id, in_tx, stmt_at, token, origin, table_name, op) VALUES (?, CONNECTION_ID(), 1, NOW(6), NULL, NULL, '', 's')`, [n]));
        } finally {
          await run(sql('SET SESSION innodb_lock_wait_timeout = DEFAULT'));
        }
      });
      return true;
    } catch (error) {
      if (isEntenteError(error, 'DB_CONFLICT')) return false;
      throw error;
    }
  }

  /** Runs a capture statement; a missing capture table means capture was never installed (or was removed). */
  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const errno = (error as { errno?: number }).errno;
      if (errno === 1146) throw new EntenteError('CAPTURE_NOT_INSTALLED', `change capture is not installed in database '${context.database}': install it first (entente init, or capture.install(tables))`, { cause: error });
      throw error;
    }
  }

  const capture: ChangeCapture = {
    method: 'outbox-trigger' satisfies CaptureMethod,
    async install(tables, options = {}) {
      try {
        await ensureTables();
      } catch (error) {
        throw translateInstallError(error, context);
      }
      const lockWaitMs = options.lockWaitMs ?? lockWaitMsDefault;
      for (const ref of tables) await installOn(ref, lockWaitMs);
      // The installed set becomes exactly `tables`: capture stops on tables no longer listed.
      const wanted = new Set(tables.map((ref) => ref.name));
      for (const trigger of await installedTriggers()) {
        if (!wanted.has(trigger.table)) await dropWithShortLockWaits(`DROP TRIGGER IF EXISTS ${table(trigger.name)}`, table(trigger.table), 'Removing change capture', lockWaitMs);
      }
    },
    async uninstall(options = {}) {
      const lockWaitMs = options.lockWaitMs ?? lockWaitMsDefault;
      for (const trigger of await installedTriggers()) await dropWithShortLockWaits(`DROP TRIGGER IF EXISTS ${table(trigger.name)}`, table(trigger.table), 'Removing change capture', lockWaitMs);
      for (const name of [outboxTable, sequenceTable, stateTable, barrierTable]) await dropWithShortLockWaits(`DROP TABLE IF EXISTS ${table(name)}`, table(name), 'Removing change capture', lockWaitMs);
      deliveredSeq = 0n;
    },
    async installedTables() {
      const rows = await context.run(sql(`SELECT DISTINCT EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME LIKE 'entente\\_c\\_%'`, [context.database]));
      return rows.map((row) => String(row['t'])).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((name) => ({ schema: context.database, name }));
    },
    async read(after, limits) {
      assert(limits.changesMax >= 1 && limits.transactionsMax >= 1, 'capture read limits must be positive');
      const from = after === null ? 0n : parsePosition(after);
      const collected = await guarded(() => collectTransactions(readChanges, seal, context.sealDelayMs, from, limits.changesMax, limits.transactionsMax));
      // InnoDB makes a commit visible before its redo log is flushed, so what was just read might not
      // yet survive a crash. Our own commit flushes the log up to a later point, hence past every
      // commit we saw: only then may the changes leave for the ledger.
      if (collected.groups.length > 0) await guarded(() => context.run(sql(`UPDATE ${table(barrierTable)} SET n = n + 1 WHERE id = 1`)));
      deliveredSeq = maxBigInt(deliveredSeq, collected.seenSeq);
      return decodeGroups(context, collected.groups);
    },
    async waitForChanges(timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && signal?.aborted !== true) {
        const [row] = await guarded(() => context.run(sql(`SELECT MAX(seq) AS top FROM ${table(outboxTable)}`)));
        const top = row?.['top'];
        if (top !== null && top !== undefined && BigInt(String(top)) > deliveredSeq) return;
        await sleep(Math.min(context.pollIntervalMs, Math.max(0, deadline - Date.now())), signal);
      }
    },
    async acknowledge(position) {
      const seq = parsePosition(position);
      await guarded(() => context.run(sql(`UPDATE ${table(stateTable)} SET acknowledged = GREATEST(COALESCE(acknowledged, 0), ?) WHERE id = 1`, [seq.toString()])));
      for (;;) {
        const deleted = await context.execute(sql(`DELETE FROM ${table(outboxTable)} WHERE seq <= ? ORDER BY seq LIMIT ${pruneBatchRowsMax}`, [seq.toString()]));
        if (deleted.affectedRows < pruneBatchRowsMax) break;
      }
    },
    async acknowledgedPosition() {
      const [row] = await guarded(() => context.run(sql(`SELECT acknowledged FROM ${table(stateTable)} WHERE id = 1`)));
      const value = row?.['acknowledged'];
      return value === null || value === undefined ? null : formatPosition(BigInt(String(value)));
    },
    comparePositions(a, b) {
      const left = parsePosition(a);
      const right = parsePosition(b);
      return left < right ? -1 : left > right ? 1 : 0;
    },
  };
  return capture;
}

type ReadChanges = (after: bigint, limit: number) => Promise<readonly Record<string, unknown>[]>;

/** A seal waits at most this long for the sequence lock (a long outside transaction may hold it). */
const sealLockWaitSeconds = 1;

interface OutboxRow {
  readonly seq: bigint;
  readonly connection: string;
  readonly inTransaction: boolean;
  readonly statementAt: string;
  readonly token: string | null;
  readonly raw: Record<string, unknown>;
  readonly isSeal: boolean;
}

function outboxRow(raw: Record<string, unknown>): OutboxRow {
  return {
    seq: BigInt(String(raw['seq'])),
    connection: String(raw['conn_id']),
    inTransaction: Number(raw['in_tx']) !== 0,
    statementAt: String(raw['stmt_at']),
    token: raw['token'] === null || raw['token'] === undefined ? null : String(raw['token']),
    raw,
    isSeal: String(raw['op']) === 's',
  };
}

/** Whether `row` begins a new source transaction after `previous` (see the header comment). */
function startsTransaction(previous: OutboxRow, row: OutboxRow): boolean {
  if (previous.connection !== row.connection || previous.token !== row.token || previous.inTransaction !== row.inTransaction) return true;
  return !row.inTransaction && previous.statementAt !== row.statementAt;
}

/** A transaction ending in this row is complete once committed, whatever follows it. */
function endsItself(row: OutboxRow): boolean {
  return !row.inTransaction || row.token !== null;
}

interface Group {
  readonly rows: OutboxRow[];
  /** Something (a change of another transaction, or a seal) follows it in the outbox. */
  closed: boolean;
}

function splitGroups(rows: readonly OutboxRow[]): Group[] {
  const groups: Group[] = [];
  let current: Group | null = null;
  for (const row of rows) {
    if (row.isSeal) {
      if (current !== null) current.closed = true;
      current = null;
      continue;
    }
    const previous = current?.rows.at(-1);
    if (current === null || previous === undefined || startsTransaction(previous, row)) {
      if (current !== null) current.closed = true;
      current = { rows: [row], closed: false };
      groups.push(current);
    } else {
      current.rows.push(row);
    }
  }
  return groups;
}

interface Collected {
  readonly groups: readonly Group[];
  /** The highest sequence number the reader has consumed (delivered changes and the seals after them). */
  readonly seenSeq: bigint;
}

/**
 * Complete transactions after `from`, at most `changesMax` changes (unless the first transaction alone
 * is larger: it is then read whole, up to transactionChangesMax). An open explicit transaction at the
 * tail is sealed first, so that what is delivered never depends on when the reader looked.
 */
async function collectTransactions(readChanges: ReadChanges, seal: () => Promise<boolean>, sealDelayMs: number, from: bigint, changesMax: number, transactionsMax: number): Promise<Collected> {
  let sealed = false;
  let waited = false;
  for (;;) {
    const rows = (await readChanges(from, changesMax + 1)).map(outboxRow);
    const limitHit = rows.length > changesMax;
    const groups = splitGroups(rows);
    const last = groups.at(-1);
    if (last !== undefined && !last.closed) {
      const tail = last.rows.at(-1) as OutboxRow;
      if (!limitHit && !endsItself(tail) && !sealed) {
        // Usually another transaction closes the tail within milliseconds; waiting a little first
        // spares most seals, each of which would take the sequence lock from the writers.
        if (!waited && sealDelayMs > 0) {
          await sleep(sealDelayMs);
          waited = true;
          continue;
        }
        sealed = true;
        if (await seal()) continue;
      }
      if (limitHit || !endsItself(tail)) groups.pop();
      if (groups.length === 0 && limitHit) {
        if (changesMax >= transactionChangesMax) {
          throw new EntenteError('LIMIT_EXCEEDED', `a source transaction changed more than ${transactionChangesMax} captured rows; split such bulk jobs into smaller transactions`);
        }
        return collectTransactions(readChanges, seal, sealDelayMs, from, transactionChangesMax, 1);
      }
    }
    const emitted = groups.slice(0, transactionsMax);
    const lastEmitted = emitted.at(-1)?.rows.at(-1)?.seq ?? from;
    // Seals right after the last delivered change are consumed too, so waitForChanges does not wake for them.
    let seenSeq = lastEmitted;
    for (const row of rows) {
      if (row.seq <= lastEmitted) continue;
      if (!row.isSeal) break;
      seenSeq = row.seq;
    }
    return { groups: emitted, seenSeq };
  }
}

async function decodeGroups(context: CaptureContext, groups: readonly Group[]): Promise<readonly CapturedTransaction[]> {
  const transactions: CapturedTransaction[] = [];
  for (const group of groups) {
    const first = group.rows[0] as OutboxRow;
    const last = group.rows.at(-1) as OutboxRow;
    const changes: CapturedChange[] = [];
    for (const row of group.rows) changes.push(await decodeChange(context, row.raw));
    const origin = first.raw['origin'];
    transactions.push({
      position: formatPosition(last.seq),
      sourceTransactionId: first.token ?? `${first.connection}-${first.seq.toString()}`,
      origin: origin === null || origin === undefined ? null : String(origin),
      committedAt: null,
      changes,
    });
  }
  return transactions;
}

const operations: Readonly<Record<string, ChangeOperation>> = { i: 'insert', u: 'update', d: 'delete' };

async function decodeChange(context: CaptureContext, row: Record<string, unknown>): Promise<CapturedChange> {
  const ref: TableRef = { schema: context.database, name: String(row['table_name']) };
  const beforeText = parseImage(row['before_image']);
  const afterText = parseImage(row['after_image']);
  let target = await context.resolve(ref);
  const names = Object.keys(afterText ?? beforeText ?? {});
  if (names.some((name) => !target.codecs.has(name))) target = await context.resolve(ref, true);
  const before = beforeText === null ? null : decodeImage(target, beforeText);
  const after = afterText === null ? null : decodeImage(target, afterText);
  const keySource = before ?? after;
  assert(keySource !== null, 'a captured change has neither a before nor an after image');
  const key: Record<string, Value> = {};
  for (const column of target.model.primaryKey ?? []) key[column] = keySource[column] ?? null;
  const op = operations[String(row['op'])];
  assert(op !== undefined, `unknown captured operation ${String(row['op'])}`);
  return { table: ref, op, key, before, after };
}

function parseImage(raw: unknown): Record<string, string | null> | null {
  if (raw === null || raw === undefined) return null;
  return JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw)) as Record<string, string | null>;
}

function decodeImage(target: IntrospectedTable, image: Record<string, string | null>): Row {
  const row: Record<string, Value> = {};
  for (const [column, text] of Object.entries(image)) {
    // A column dropped since the change was captured: keep its text rather than lose it.
    row[column] = target.codecs.has(column) ? decodeCaptured(codecOf(target, column), text) : text;
  }
  return row;
}

export function triggerName(tableName: string, operation: ChangeOperation): string {
  const hash = createHash('sha256').update(tableName).digest('hex').slice(0, 12);
  const readable = tableName.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 36);
  return `${triggerPrefix}${readable}_${hash}_${operation[0]}`;
}

function imageExpression(target: IntrospectedTable, alias: 'NEW' | 'OLD'): string {
  const pairs = target.model.columns.map((column) => `${quoteString(column.name)}, ${captureTextExpression(codecOf(target, column.name), `${alias}.${quoteIdentifier(column.name)}`)}`);
  return `JSON_OBJECT(${pairs.join(', ')})`;
}

/** A capture trigger's definition: `head` (name, timing, event, table) and `body`, as information_schema.TRIGGERS stores it in ACTION_STATEMENT. */
function triggerStatement(context: CaptureContext, target: IntrospectedTable, name: string, operation: ChangeOperation): { readonly head: string; readonly body: string } {
  const q = (tableName: string): string => `${quoteIdentifier(context.database)}.${quoteIdentifier(tableName)}`;
  const before = operation === 'insert' ? 'NULL' : imageExpression(target, 'OLD');
  const after = operation === 'delete' ? 'NULL' : imageExpression(target, 'NEW');
  const record = [
    `UPDATE ${q(sequenceTable)} SET n = n + 1 WHERE id = 1;`,
    `SELECT n INTO entente_seq FROM ${q(sequenceTable)} WHERE id = 1;`,
    `INSERT INTO ${q(outboxTable)} (seq, conn_id, in_tx, stmt_at, token, origin, table_name, op, before_image, after_image) VALUES (entente_seq, CONNECTION_ID(), ${inTransactionExpression(context)}, NOW(6), LEFT(@entente_tx, 64), LEFT(@entente_origin, 255), ${quoteString(target.model.name)}, '${operation[0]}', ${before}, ${after});`,
  ].join('\n    ');
  // An UPDATE that changes nothing is not a change worth sharing.
  const unchanged = target.model.columns.map((column) => `NEW.${quoteIdentifier(column.name)} <=> OLD.${quoteIdentifier(column.name)}`).join(' AND ');
  const guarded = operation === 'update' ? `IF NOT (${unchanged}) THEN\n    ${record}\n  END IF;` : record;
  const event = operation.toUpperCase();
  return {
    head: `TRIGGER ${q(name)} AFTER ${event} ON ${q(target.model.name)} FOR EACH ROW`,
    body: `BEGIN
  DECLARE entente_seq BIGINT UNSIGNED;
  ${guarded}
END`,
  };
}

/**
 * MariaDB tells a trigger whether its statement runs in an explicit transaction; MySQL has no
 * @@in_transaction, so there every change counts as explicit: boundaries then come from connections,
 * Entente's tokens and seals only (more back-to-back merging, same order guarantees).
 */
function inTransactionExpression(context: CaptureContext): string {
  return context.isMariadb ? '@@in_transaction' : '1';
}

function translateInstallError(error: unknown, context: CaptureContext): unknown {
  if (isEntenteError(error, 'DB_PRIVILEGE_MISSING')) return triggerPrivilegeError(context.user, context.database, error);
  if (!(error instanceof Error) || !('errno' in error)) return error;
  const errno = Number(error.errno);
  if (errno === 1142 || errno === 1044 || errno === 1227) return triggerPrivilegeError(context.user, context.database, error);
  if (errno === 1419) {
    return new EntenteError('DB_PRIVILEGE_MISSING', `binary logging is on, and then MySQL/MariaDB lets only SUPER users create triggers: run SET GLOBAL log_bin_trust_function_creators = 1 (and set it in my.cnf), or GRANT SUPER ON *.* TO '${context.user}'@'%'`, { cause: error });
  }
  return error;
}

const positionDigits = 20;

/** Positions are the outbox sequence number, zero-padded so that string order is numeric order. */
export function formatPosition(seq: bigint): string {
  return seq.toString().padStart(positionDigits, '0');
}

export function parsePosition(position: string): bigint {
  if (!/^\d{1,20}$/.test(position)) throw new EntenteError('USAGE', `'${position}' is not a MySQL capture position (a decimal sequence number)`);
  return BigInt(position);
}

function maxBigInt(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
