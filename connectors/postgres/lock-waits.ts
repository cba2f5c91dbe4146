// Schema changes made beside the partner's running applications (capture install, replica columns, at
// every gateway start): each attempt waits only briefly for a table's lock, and the whole change is
// retried until a deadline, then reported with the sessions that held the lock. A DDL statement that
// waits long holds up every application session queued behind it, and one that waits while holding
// another lock can deadlock an application's transaction (PostgreSQL then may abort the application's).
import { EntenteError } from '../../common/errors.ts';
/**
 * How long one attempt waits for a table lock before it lets go of everything and tries again.
 * Under PostgreSQL's default deadlock_timeout (1 s): if an application's transaction and the change
 * wait for each other, the change's wait ends first and the application's transaction is not the one
 * aborted. Short, too, because writers queue behind a waiting lock request: an attempt stalls the
 * table's users at most this long.
 */
export const lockAttemptMs = 200;
/** How long a change keeps trying to take the locks it needs before it reports who holds them. */
export const lockWaitMsDefault = 60_000;
const retryPauseMsMax = 1_000;

/** Where an attempt is: the table whose lock it is waiting for, if any. */
export interface LockWaitProgress {
  target: string | null;
}

/**
 * Runs `attempt` (one transaction, with `lock_timeout` set to `lockAttemptMs`) until it
 * commits, retrying while it times out on a lock or is a deadlock's victim, for `lockWaitMs` in all.
 * Then fails with DB_CONFLICT naming the table and the sessions (`holders`) that kept it locked.
 */
export async function retryOnLockWaits<T>(
  lockWaitMs: number,
  attempt: (progress: LockWaitProgress) => Promise<T>,
  holders: (target: string) => Promise<string>,
  doing = 'Installing change capture',
): Promise<T> {
  const deadline = performance.now() + lockWaitMs;
  let pauseMs = lockAttemptMs / 4;
  for (;;) {
    const progress: LockWaitProgress = { target: null };
    try {
      return await attempt(progress);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== '55P03' && code !== '40P01') throw error;
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0) {
        const target = progress.target ?? 'a captured table';
        const sessions = progress.target === null ? '' : await holders(progress.target).catch(() => '');
        throw new EntenteError(
          'DB_CONFLICT',
          `${doing} needs a brief lock on ${target}, and other sessions kept it locked for ${lockWaitMs / 1000} s ` +
            `(${sessions === '' ? 'see pg_locks' : `backend pids ${sessions}`}). Commit or end their transactions ` +
            `(SELECT pid, state, xact_start, query FROM pg_stat_activity WHERE pid IN (...)), then start again.`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, remainingMs)));
      pauseMs = Math.min(pauseMs * 2, retryPauseMsMax);
    }
  }
}

/** The other sessions holding a lock on `target` (a qualified table name), as a list of backend pids. */
export const lockHoldersQuery =
  `select coalesce(string_agg(distinct l.pid::text, ', '), '') as pids from pg_catalog.pg_locks l ` +
  `where l.relation = to_regclass($1) and l.granted and l.pid <> pg_backend_pid()`;
