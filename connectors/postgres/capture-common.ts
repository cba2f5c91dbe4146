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

