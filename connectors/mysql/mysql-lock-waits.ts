// MySQL/MariaDB's side of connectors/lock-waits.ts. A DDL statement on a table the partner's
// applications use must not wait long for the table's metadata lock (lock_wait_timeout defaults to a
// day), because every later statement on the table queues behind that wait; it is retried until the
// deadline instead.
//   - MariaDB: the statement runs with lock_wait_timeout = 0 (SET STATEMENT), so it never waits at all.
//   - MySQL has neither SET STATEMENT nor CREATE OR REPLACE TRIGGER, and its shortest lock wait is one
//     second. A trigger is replaced there by DROP and CREATE inside LOCK TABLES … WRITE, so that no
//     application statement runs on the table between the two (its change would not be captured).
import { EntenteError } from '../../common/errors.ts';
import { retryOnLockWaits, type LockWaitRetry } from '../lock-waits.ts';
import { sql, type Sql } from './mysql-sql.ts';
import type { SessionRun } from './mysql-writer.ts';

/** "Lock wait timeout exceeded" (metadata and row locks alike). */
const lockWaitTimeoutErrno = 1205;
/** MySQL's smallest lock_wait_timeout, in seconds (0 is raised to it). */
const mysqlLockWaitSecondsMin = 1;

/** True for a lock wait timeout, raw or as translated by a transaction (which keeps it as the cause). */
function isLockWaitTimeout(error: unknown): boolean {
  const errno = (value: unknown): unknown => (value as { errno?: unknown } | null | undefined)?.errno;
  return errno(error) === lockWaitTimeoutErrno || errno((error as { cause?: unknown } | null | undefined)?.cause) === lockWaitTimeoutErrno;
}

function lockWaitRetry(lockWaitMs: number, doing: string, target: string): LockWaitRetry {
  return {
    lockWaitMs,
    firstPauseMs: 25,
    isLockWait: isLockWaitTimeout,
    failure: async (_progress, error) =>
      new EntenteError(
        'DB_CONFLICT',
        `${doing} needs a brief metadata lock on ${target}, and open transactions that used the table kept it for ${lockWaitMs / 1000} s. ` +
          `Commit or end them (SHOW PROCESSLIST; transactions in information_schema.INNODB_TRX), then start again.`,
        { cause: error },
      ),
  };
}

/** MariaDB: runs `statement` (DDL on `target`) without waiting for its metadata lock, retrying for `lockWaitMs`; then DB_CONFLICT. */
export function runDdlWithoutWaiting(run: (statement: Sql) => Promise<unknown>, lockWaitMs: number, doing: string, target: string, statement: string): Promise<unknown> {
  return retryOnLockWaits(lockWaitRetry(lockWaitMs, doing, target), () => run(sql(`SET STATEMENT lock_wait_timeout = 0 FOR ${statement}`)));
}

/**
 * MySQL: runs `statements` (DDL on `target`) on one session whose lock waits last at most a second,
 * retrying for `lockWaitMs`; then DB_CONFLICT. With `lockTable`, the session holds LOCK TABLES `target`
 * WRITE around them (the tables the target's triggers write are locked with it), so that no other
 * session touches the table in between: a DROP TRIGGER then CREATE TRIGGER misses no change.
 * `session` runs its work on one connection.
 */
export function runDdlWithShortLockWaits(
  session: (work: (run: SessionRun) => Promise<void>) => Promise<void>,
  lockWaitMs: number,
  doing: string,
  target: string,
  statements: readonly string[],
  options: { readonly lockTable: boolean },
): Promise<void> {
  return retryOnLockWaits(lockWaitRetry(lockWaitMs, doing, target), () =>
    session(async (run) => {
      await run(sql(`SET SESSION lock_wait_timeout = ${mysqlLockWaitSecondsMin}`));
      try {
        if (!options.lockTable) {
          for (const statement of statements) await run(sql(statement));
          return;
        }
        await run(sql(`LOCK TABLES ${target} WRITE`));
        try {
          for (const statement of statements) await run(sql(statement));
        } finally {
          // Locks taken by LOCK TABLES outlive a transaction's end: the pooled connection must not keep them.
          await run(sql('UNLOCK TABLES'));
        }
      } finally {
        await run(sql('SET SESSION lock_wait_timeout = DEFAULT'));
      }
    }),
  );
}
