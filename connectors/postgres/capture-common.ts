// What both PostgreSQL capture methods (triggers, logical decoding) need alike: which tables may be
// captured, and a wait that a new change (or closing) can cut short.
import { EntenteError } from '../../common/errors.ts';
import type { TableRef } from '../connector.ts';
import { qualifiedName, type TableCodecs } from './postgres-sql.ts';

/** Refuses a view or a table without a primary key, naming the fix. */
export function requireCapturable(ref: TableRef, table: TableCodecs): void {
  if (table.model.kind === 'view') throw new EntenteError('DB_UNSUPPORTED', `${ref.schema}.${ref.name} is a view; capture the tables it reads from instead.`);
  if (table.model.primaryKey === null) {
    throw new EntenteError('DB_UNSUPPORTED', `${ref.schema}.${ref.name} has no primary key, so its changes cannot be shared; add one (ALTER TABLE ${qualifiedName(ref)} ADD PRIMARY KEY (...)).`);
  }
}

/** Resolves after `timeoutMs`, when `signal` aborts, or when one of `waiters` is called (it removes itself). */
export function wakeableSleep(waiters: Set<() => void>, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      waiters.delete(done);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    waiters.add(done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * How long one install attempt waits for a table lock before it lets go of everything and tries again.
 * Under PostgreSQL's default deadlock_timeout (1 s): if an application's transaction and the install
 * wait for each other, the install's wait ends first and the application's transaction is not the one
 * aborted. Short, too, because writers queue behind a waiting lock request: an attempt stalls the
 * table's writers at most this long.
 */
export const installLockAttemptMs = 200;
/** How long an install keeps trying to take the locks it needs before it reports who holds them. */
export const installLockWaitMsDefault = 60_000;
const installRetryPauseMsMax = 1_000;

/** Where an install attempt is: the table whose lock it is waiting for, if any. */
export interface InstallProgress {
  target: string | null;
}

/**
 * Runs `attempt` (one install transaction, with `lock_timeout` set to `installLockAttemptMs`) until it
 * commits, retrying while it times out on a lock or is a deadlock's victim, for `lockWaitMs` in all.
 * Then fails with DB_CONFLICT naming the table and the sessions (`holders`) that kept it locked.
 */
export async function retryOnLockWaits<T>(
  lockWaitMs: number,
  attempt: (progress: InstallProgress) => Promise<T>,
  holders: (target: string) => Promise<string>,
): Promise<T> {
  const deadline = performance.now() + lockWaitMs;
  let pauseMs = installLockAttemptMs / 4;
  for (;;) {
    const progress: InstallProgress = { target: null };
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
          `Installing change capture needs a brief lock on ${target}, and other sessions kept it locked for ${lockWaitMs / 1000} s ` +
            `(${sessions === '' ? 'see pg_locks' : `backend pids ${sessions}`}). Commit or end their transactions ` +
            `(SELECT pid, state, xact_start, query FROM pg_stat_activity WHERE pid IN (...)), then start again.`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, remainingMs)));
      pauseMs = Math.min(pauseMs * 2, installRetryPauseMsMax);
    }
  }
}

/** The other sessions holding a lock on `target` (a qualified table name), as a list of backend pids. */
export const lockHoldersQuery =
  `select coalesce(string_agg(distinct l.pid::text, ', '), '') as pids from pg_catalog.pg_locks l ` +
  `where l.relation = to_regclass($1) and l.granted and l.pid <> pg_backend_pid()`;
