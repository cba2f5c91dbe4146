// PostgreSQL's side of connectors/lock-waits.ts: each attempt is one transaction with a short
// lock_timeout, and the report names the backends that held the table's lock.
import { EntenteError } from '../../common/errors.ts';
import { retryOnLockWaits, type LockWaitProgress } from '../lock-waits.ts';
import type { SqlExecutor, SqlSession } from './sql-executor.ts';

/**
 * How long one attempt waits for a table lock before it lets go of everything and tries again.
 * Under PostgreSQL's default deadlock_timeout (1 s): if an application's transaction and the change
 * wait for each other, the change's wait ends first and the application's transaction is not the one
 * aborted. Short, too, because later lock requests queue behind a waiting one: an attempt stalls the
 * table's users at most this long.
 */
const lockAttemptMs = 200;

/** The other sessions holding a lock on `target` (a qualified table name), as a list of backend pids. */
const lockHoldersQuery =
  `select coalesce(string_agg(distinct l.pid::text, ', '), '') as pids from pg_catalog.pg_locks l ` +
  `where l.relation = to_regclass($1) and l.granted and l.pid <> pg_backend_pid()`;

/**
 * Runs `work` in a transaction whose lock waits end after `lockAttemptMs`, until it commits: a
 * transaction that timed out on a lock or was a deadlock's victim is rolled back and run again, for
 * `lockWaitMs` in all. Then fails with DB_CONFLICT naming the table (`progress.target`, which `work`
 * sets before each statement that locks one) and the backends that kept it locked.
 */
export function transactionWithShortLockWaits<T>(
  executor: SqlExecutor,
  lockWaitMs: number,
  doing: string,
  work: (session: SqlSession, progress: LockWaitProgress) => Promise<T>,
): Promise<T> {
  return retryOnLockWaits(
    {
      lockWaitMs,
      firstPauseMs: lockAttemptMs / 4,
      isLockWait: (error) => {
        const code = (error as { code?: unknown }).code;
        return code === '55P03' || code === '40P01';
      },
      failure: async (progress, error) => {
        const target = progress.target ?? 'a table';
        const [row] = progress.target === null ? [] : await executor.query(lockHoldersQuery, [progress.target]).catch(() => []);
        const sessions = row?.['pids'] ?? '';
        return new EntenteError(
          'DB_CONFLICT',
          `${doing} needs a brief lock on ${target}, and other sessions kept it locked for ${lockWaitMs / 1000} s ` +
            `(${sessions === '' ? 'see pg_locks' : `backend pids ${sessions}`}). Commit or end their transactions ` +
            `(SELECT pid, state, xact_start, query FROM pg_stat_activity WHERE pid IN (...)), then start again.`,
          { cause: error },
        );
      },
    },
    (progress) =>
      executor.transaction(async (session) => {
        await session.script(`set local lock_timeout = ${lockAttemptMs}`);
        return work(session, progress);
      }),
  );
}
