// MariaDB's side of connectors/lock-waits.ts: a DDL statement on a table the partner's applications
// use runs with lock_wait_timeout = 0 (SET STATEMENT), so it never waits for the table's metadata lock
// (lock_wait_timeout defaults to a day) and never queues the table's later statements behind it; it is
// retried until the deadline instead.
import { EntenteError } from '../../common/errors.ts';
import { retryOnLockWaits } from '../lock-waits.ts';
import { sql, type Sql } from './mysql-sql.ts';

/** MariaDB's "Lock wait timeout exceeded" (metadata and row locks alike). */
const lockWaitTimeoutErrno = 1205;

/** Runs `statement` (DDL on `target`) without waiting for its metadata lock, retrying for `lockWaitMs`; then DB_CONFLICT. */
export function runDdlWithoutWaiting(run: (statement: Sql) => Promise<unknown>, lockWaitMs: number, doing: string, target: string, statement: string): Promise<unknown> {
  return retryOnLockWaits(
    {
      lockWaitMs,
      firstPauseMs: 25,
      isLockWait: (error) => (error as { errno?: unknown }).errno === lockWaitTimeoutErrno,
      failure: async (_progress, error) =>
        new EntenteError(
          'DB_CONFLICT',
          `${doing} needs a brief metadata lock on ${target}, and open transactions that used the table kept it for ${lockWaitMs / 1000} s. ` +
            `Commit or end them (SHOW PROCESSLIST; transactions in information_schema.INNODB_TRX), then start again.`,
          { cause: error },
        ),
    },
    () => run(sql(`SET STATEMENT lock_wait_timeout = 0 FOR ${statement}`)),
  );
}
