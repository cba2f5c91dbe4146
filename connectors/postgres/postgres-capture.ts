// Change capture with row triggers and an outbox, in schema `entente`. Works on any PostgreSQL 13+ and
// on PGlite; needs no server settings. The SQL is in postgres-capture-sql.ts.
//
// Writers pay for one thing: an AFTER ROW trigger inserts the change into `entente.capture_outbox`,
// drawing `change_sequence` from an identity sequence while the changed row is still locked. There is
// no commit-time trigger, lock or NOTIFY: each of those serialised or slowed the partner's commits.
//
// Batches. The reader cuts the stream with snapshots it stores: `entente.capture_batches` row k holds
// the snapshot of the statement that cut it, and batch k is every transaction visible in snapshot k
// but not in snapshot k-1. Only committed transactions are visible, so rolled-back work never appears,
// and a transaction still running simply lands in a later batch — it never holds the stream up.
// Within a batch, transactions are ordered by the sequence of their last change. A transaction's
// position is "<batch>:<that sequence>"; its changes keep sequence (statement) order. The statement
// that cuts a batch also stores its membership (each transaction's position and txid), and reads page
// through that by key: a read costs what it returns, however large the batch (a backlog is one batch).
//
// Why this order is a commit order for everything that can conflict. Let B change a row A changed
// before (same key: update/update, delete/insert on the key, …). PostgreSQL makes B wait for A's row
// lock or unique-index entry, so B's change happens after A committed. Then (1) any snapshot that sees
// B sees A, so A's batch is not later than B's; (2) in one batch, every sequence A drew was drawn
// before A committed, and B's change drew a larger one after it, so A's last sequence is smaller.
// So replaying the stream applies the changes to any one row in the order they were made. Across
// batches the order is also real-time: a transaction committed before a batch was cut comes before
// every transaction committed after it. What is *not* promised: two transactions with no row in
// common that commit between the same two reads are ordered by their last change, not by COMMIT.
//
// Why nothing is skipped or delivered twice. Batches are stored, and cut only from committed data in
// one statement (the snapshot is that statement's own), so every reader — a restarted one too — places
// each transaction in the same batch at the same position; a transaction committing after a cut falls
// into a later batch, after every position delivered so far. Positions therefore only grow, and
// "everything after p" is the same set whenever it is asked. test/connectors/capture-order.*.test.ts
// and capture-contention.postgres.test.ts check this with concurrent writers, rollbacks, restarts.
//
// The reader polls (no NOTIFY: a NOTIFY takes a database-wide lock through every notifying commit).
import { EntenteError } from '../../common/errors.ts';
import type {
  CapturedTransaction,
  CaptureReadLimits,
  ChangeCapture,
  TableRef,
} from '../connector.ts';
import { requireCapturable, wakeableSleep } from './capture-common.ts';
import { lockWaitMsDefault } from '../lock-waits.ts';
import { transactionWithShortLockWaits } from './lock-waits.ts';
import { decodeChanges, parseChange, tableKey } from './postgres-capture-decode.ts';
import {
  compareCapturePositions,
  formatCapturePosition,
  parseCapturePosition,
  startPosition,
  type CapturePosition,
} from './postgres-capture-position.ts';
import { acknowledgedQuery, acknowledgeQuery, installScript, pendingQuery, readQuery, uninstallScript } from './postgres-capture-sql.ts';
import { qualifiedName, quoteIdentifier, type TableCodecs } from './postgres-sql.ts';
import { privilegeError } from './postgres-errors.ts';
import type { QueryOptions, SqlExecutor, SqlSession, TextRow } from './sql-executor.ts';

const triggerName = 'entente_capture';
/**
 * The reader's statements run several times a second, always the same texts: prepared once per
 * connection, the server skips parsing and planning them (measured in the statement log: parse and
 * bind were a third of a read's server time, and the pending check was planned on every poll).
 */
const prepared: QueryOptions = { prepare: true };
/** A waiting reader polls first after this long, doubling up to the maximum while nothing comes. */
const waitPollMsMin = 2;
const waitPollMsMax = 50;
/**
 * On PGlite every writer is in this process: the gateway's own writes wake its publisher directly, so
 * polling only finds changes made through the database object by other code (a test, the demo's
 * "legacy" writes). Each poll is ~1.5 ms of PGlite's single thread; at 50 ms they were ~20% of an idle
 * follower gateway's CPU.
 */
const pgliteWaitPollMsMax = 250;
/** PGlite runs no autovacuum: the outbox is vacuumed after this many acknowledgements. */
const pgliteVacuumEveryAcknowledgements = 200;
/** A single source transaction larger than a read's changesMax is still delivered whole, up to this. */
const transactionChangesMax = 10_000_000;

export interface CaptureDependencies {
  readonly executor: SqlExecutor;
  readonly tables: (ref: TableRef) => Promise<TableCodecs>;
  /** Forget cached table models (a captured image named a column the cache does not know). */
  readonly refreshTables: () => void;
}

export interface OutboxCapture extends ChangeCapture {
  /** Wakes every waiter and makes later waits return at once (the connector is closing). */
  stop(): Promise<void>;
}

export function createOutboxCapture(dependencies: CaptureDependencies): OutboxCapture {
  const { executor } = dependencies;
  const waiters = new Set<() => void>();
  let stopped = false;
  /** A function, so the check after an await is not narrowed away by the one before it. */
  const halted = (signal?: AbortSignal): boolean => stopped || signal?.aborted === true;
  /** False while the last read stopped at a limit: cutting another batch would only split the backlog. */
  let caughtUp = true;
  const sleep = (timeoutMs: number, signal?: AbortSignal): Promise<void> => wakeableSleep(waiters, timeoutMs, signal);

  let acknowledgements = 0;
  let summarising = true;
  /**
   * After pruning: summarise the outbox's new BRIN ranges, so reads skip the pruned part (a range is
   * summarised without its deleted rows). PGlite has no autovacuum, so it is vacuumed now and then.
   * Both are housekeeping: a role that may not do them (not the owner) only reads a little more.
   */
  const tidyOutbox = async (): Promise<void> => {
    acknowledgements += 1;
    if (summarising) {
      await executor.query(`select brin_summarize_new_values('entente.capture_outbox_txid'::regclass)`, [], prepared).catch(() => {
        summarising = false;
      });
    }
    if (executor.family === 'pglite' && acknowledgements % pgliteVacuumEveryAcknowledgements === 0) {
      await executor.script('vacuum entente.capture_outbox, entente.capture_batch_transactions').catch(() => undefined);
    }
  };

  return {
    method: 'outbox-trigger',

    async install(tables, options = {}) {
      for (const ref of tables) requireCapturable(ref, await dependencies.tables(ref));
      // Runs at every gateway start, next to the partner's own applications: a trigger already in
      // place is left alone, so a restart takes no lock on a captured table (CREATE OR REPLACE TRIGGER
      // waits for every open writer of the table and stops new ones while it waits).
      await withPrivilegeHint(tables, () =>
        transactionWithShortLockWaits(executor, options.lockWaitMs ?? lockWaitMsDefault, 'Installing change capture', async (session, progress) => {
          progress.target = 'entente.capture_outbox';
          await session.script(installScript);
          const installed = await installedIn(session);
          const wanted = new Set(tables.map(tableKey));
          for (const ref of installed) {
            if (wanted.has(tableKey(ref))) continue;
            progress.target = qualifiedName(ref);
            await session.script(`drop trigger if exists ${triggerName} on ${qualifiedName(ref)}`);
            await session.query('delete from entente.capture_tables where table_schema = $1 and table_name = $2', [ref.schema, ref.name]);
          }
          for (const ref of tables) {
            if (!(await triggerInPlace(session, ref))) {
              progress.target = qualifiedName(ref);
              await session.script(
                `create or replace trigger ${triggerName} after insert or update or delete on ${qualifiedName(ref)} ` +
                  `for each row execute function entente.capture_row(${quoteLiteral(ref.schema)}, ${quoteLiteral(ref.name)})`,
              );
            }
            await session.query('insert into entente.capture_tables (table_schema, table_name) values ($1, $2) on conflict do nothing', [ref.schema, ref.name]);
          }
        }),
      );
    },

    async uninstall(options = {}) {
      // Dropping a trigger locks its table, and the outbox is written by every captured table's
      // writers: held in one long wait, those locks could stall or deadlock the applications (as install's).
      await transactionWithShortLockWaits(executor, options.lockWaitMs ?? lockWaitMsDefault, 'Removing change capture', async (session, progress) => {
        for (const ref of await installedIfAny(session)) {
          progress.target = qualifiedName(ref);
          await session.script(`drop trigger if exists ${triggerName} on ${qualifiedName(ref)}`);
        }
        progress.target = 'entente.capture_outbox';
        await session.script(uninstallScript);
      });
    },

    async installedTables() {
      return installedIfAny(executor);
    },

    async read(after, limits) {
      // The acknowledged position, if later, is applied by entente.capture_read itself.
      const from = after === null ? startPosition : parseCapturePosition(after);
      const { transactions, limited } = await readTransactions(dependencies, from, limits, caughtUp);
      caughtUp = !limited;
      return transactions;
    },

    async waitForChanges(timeoutMs, signal) {
      // The last read stopped at its limits: more is waiting in batches already cut, which the poll
      // below (it looks for changes no batch holds yet) would not notice.
      if (!caughtUp) return;
      const deadline = performance.now() + timeoutMs;
      let pauseMs = waitPollMsMin;
      let lastBatchSeen: string | undefined;
      for (;;) {
        const remainingMs = deadline - performance.now();
        if (halted(signal) || remainingMs <= 0) return;
        await sleep(Math.min(pauseMs, remainingMs), signal);
        if (halted(signal)) return;
        const [row] = await notInstalledAsError(() => executor.query(pendingQuery, [], prepared));
        // Committed changes no batch holds yet, or a batch another reader cut meanwhile.
        if (isTrue(row?.['fresh'])) return;
        const lastBatch = row?.['last_batch'] ?? '0';
        if (lastBatchSeen !== undefined && lastBatch !== lastBatchSeen) return;
        lastBatchSeen = lastBatch;
        pauseMs = Math.min(pauseMs * 2, executor.family === 'pglite' ? pgliteWaitPollMsMax : waitPollMsMax);
      }
    },

    async acknowledge(position) {
      const { batch, sequence } = parseCapturePosition(position);
      await notInstalledAsError(() => executor.query(acknowledgeQuery, [String(batch), String(sequence)], prepared));
      await tidyOutbox();
    },

    async acknowledgedPosition() {
      const position = await acknowledged(executor);
      return compareCapturePositions(position, startPosition) === 0 ? null : formatCapturePosition(position);
    },

    comparePositions(a, b) {
      return compareCapturePositions(parseCapturePosition(a), parseCapturePosition(b));
    },

    async stop() {
      stopped = true;
      for (const wake of [...waiters]) wake();
    },
  };
}

async function acknowledged(session: SqlSession): Promise<CapturePosition> {
  const [row] = await notInstalledAsError(() => session.query(acknowledgedQuery));
  const batch = row?.['batch'];
  const sequence = row?.['sequence'];
  if (batch === null || batch === undefined || sequence === null || sequence === undefined) return startPosition;
  return { batch: BigInt(batch), sequence: BigInt(sequence) };
}

function isTrue(value: string | null | undefined): boolean {
  return value === 't' || value === 'true';
}

/** Bits of pg_trigger.tgtype for AFTER … FOR EACH ROW on INSERT, DELETE and UPDATE (ROW 1, INSERT 4, DELETE 8, UPDATE 16). */
const captureTriggerType = 1 | 4 | 8 | 16;

/**
 * Whether `ref` has our capture trigger exactly as install creates it: enabled, after every insert,
 * update and delete of any column, with no WHEN, calling entente.capture_row with this table's name.
 * Anything else (disabled, redefined by hand, an older definition) is replaced.
 */
async function triggerInPlace(session: SqlSession, ref: TableRef): Promise<boolean> {
  const [row] = await session.query(
    `select t.tgtype::int = $3::int and t.tgenabled in ('O', 'A') and t.tgqual is null and cardinality(t.tgattr::int2[]) = 0
            and t.tgfoid = to_regprocedure('entente.capture_row()') and encode(t.tgargs, 'hex') = $4 as in_place
     from pg_catalog.pg_trigger t where t.tgrelid = $1::regclass and t.tgname = $2`,
    [qualifiedName(ref), triggerName, String(captureTriggerType), Buffer.from(`${ref.schema}\0${ref.name}\0`).toString('hex')],
  );
  return isTrue(row?.['in_place']);
}

async function installedIn(session: SqlSession): Promise<readonly TableRef[]> {
  const rows = await session.query('select table_schema, table_name from entente.capture_tables order by table_schema, table_name');
  return rows.map((row) => ({ schema: row['table_schema'] ?? '', name: row['table_name'] ?? '' }));
}

/** The same, or none when capture was never installed (or was removed). */
async function installedIfAny(session: SqlSession): Promise<readonly TableRef[]> {
  const [exists] = await session.query(`select to_regclass('entente.capture_tables') is not null as present`);
  if (exists?.['present'] !== 't' && exists?.['present'] !== 'true') return [];
  return installedIn(session);
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

interface SourceTransaction {
  readonly position: string;
  readonly txid: string;
  readonly origin: string | null;
  readonly rows: TextRow[];
}

async function readTransactions(
  dependencies: CaptureDependencies,
  from: CapturePosition,
  limits: CaptureReadLimits,
  cut: boolean,
): Promise<{ transactions: readonly CapturedTransaction[]; limited: boolean }> {
  const transactionsMax = Math.max(1, limits.transactionsMax);
  const changesMax = Math.max(1, limits.changesMax);
  const query = (transactions: number, changes: number, cut: boolean): Promise<readonly TextRow[]> =>
    notInstalledAsError(() => dependencies.executor.query(readQuery, [String(from.batch), String(from.sequence), String(transactions), String(changes), String(cut)], prepared));
  const rows = await query(transactionsMax, changesMax + 1, cut);
  let grouped = groupByTransaction(rows);
  let limited = grouped.length >= transactionsMax;
  if (rows.length > changesMax) {
    // The last transaction may be cut off: drop it, unless it is the only one (then read it whole).
    limited = true;
    grouped = grouped.slice(0, -1);
    if (grouped.length === 0) grouped = groupByTransaction(await query(1, transactionChangesMax, false));
  }
  const parsed = grouped.flatMap((transaction) =>
    transaction.rows.map((row) => parseChange({ schema: row['table_schema'] ?? '', name: row['table_name'] ?? '' }, row['operation'] ?? '', row['before_image'] ?? null, row['after_image'] ?? null)),
  );
  const changes = await decodeChanges(parsed, dependencies.tables, dependencies.refreshTables);
  let next = 0;
  const result = grouped.map((transaction): CapturedTransaction => {
    const count = transaction.rows.length;
    next += count;
    // The commit time is not known without a commit-time trigger (which would slow every writer).
    return { position: transaction.position, sourceTransactionId: transaction.txid, origin: transaction.origin, committedAt: null, changes: changes.slice(next - count, next) };
  });
  return { transactions: result, limited };
}

function groupByTransaction(rows: readonly TextRow[]): SourceTransaction[] {
  const transactions: SourceTransaction[] = [];
  for (const row of rows) {
    const position = `${row['batch'] ?? '0'}:${row['last_sequence'] ?? '0'}`;
    let current = transactions[transactions.length - 1];
    if (current?.position !== position) {
      current = { position, txid: row['txid'] ?? '', origin: row['origin'] ?? null, rows: [] };
      transactions.push(current);
    }
    current.rows.push(row);
  }
  return transactions;
}

async function notInstalledAsError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === '42P01' || code === '42883' || code === '3F000') {
      throw new EntenteError('CAPTURE_NOT_INSTALLED', 'Change capture is not installed in this database; run `entente install-capture --db <url>` (or ChangeCapture.install) first.', { cause: error });
    }
    throw error;
  }
}

async function withPrivilegeHint<T>(tables: readonly TableRef[], work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw privilegeError(error, `installing change capture needs CREATE on the database (GRANT CREATE ON DATABASE <db> TO <role>) and ownership of, or TRIGGER on, each captured table (${tables.map((ref) => `GRANT TRIGGER ON ${quoteIdentifier(ref.schema)}.${quoteIdentifier(ref.name)} TO <role>`).join('; ')})`);
  }
}
