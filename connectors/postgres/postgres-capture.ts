// Change capture with row triggers and an outbox, in schema `entente`. Works on any PostgreSQL and on
// PGlite; needs no server settings.
//
// Commit order is the hard part: outbox ids and transaction ids follow the order in which
// transactions *wrote*, not the order in which they *committed*. So each outbox row carries a
// DEFERRABLE INITIALLY DEFERRED constraint trigger: at COMMIT — after every row lock the transaction
// will ever take, just before its commit record — the first firing draws the transaction's commit
// sequence number and records it in `entente.capture_transactions` (with the origin). From that
// moment until the transaction ends it holds a SHARED advisory lock, the "commit-window" lock.
//
// Order. If transaction B depends on A in any way a client can observe — B waited for A's row lock,
// B read A's committed data, or B's COMMIT was sent after A's COMMIT was answered — then A drew its
// number before A became visible, hence before B drew its own: sequence order contains every such
// order. Only commits that genuinely overlap (neither saw the other) may be ordered by when they
// entered COMMIT rather than by their WAL records, which no client can tell apart.
//
// Completeness. Visible numbers belong to committed transactions, so a reader may deliver the
// gap-free run of visible numbers after its position (`entente.capture_visible_prefix`: one
// statement, no locks). A number drawn but not yet visible ends the run until its commit lands. A gap
// that stays (a transaction that failed after drawing, numbers a crash skipped) is settled by the
// barrier `entente.capture_complete_up_to`: read the last number drawn, list the holders of the
// commit-window lock, wait until they have ended — then every number up to it is final. Writers never
// wait for the reader or for each other (group commit keeps working, unlike an exclusive lock at
// commit); idle or long transactions do not hold the window lock until they commit.
//
// The position of a transaction is its sequence number. The commit trigger NOTIFYs only while a
// reader sleeps: a NOTIFY holds a global queue lock through the commit flush.
import { randomUUID } from 'node:crypto';
import { EntenteError, isEntenteError } from '../../common/errors.ts';
import type {
  CapturedChange,
  CapturedTransaction,
  CaptureReadLimits,
  ChangeCapture,
  ChangeOperation,
  Row,
  TableRef,
  Value,
} from '../connector.ts';
import { canonicalTimestamp, exactJsonToPlain, parseExactJson, type ExactJson } from './pg-text.ts';
import { qualifiedName, quoteIdentifier, type TableCodecs } from './postgres-sql.ts';
import type { SqlExecutor, SqlSession, TextRow } from './sql-executor.ts';
import { privilegeError } from './postgres-errors.ts';

export const captureChannel = 'entente_capture';
/** Names Entente's commit-window lock among the database's advisory locks: ('ente' as int4, 1). */
const commitWindowLockClass = 1701737588;
const commitWindowLockObject = 1;

const installScript = `
create schema if not exists entente;
create sequence if not exists entente.capture_commit_sequence as bigint;
create table if not exists entente.capture_transactions (
  commit_sequence bigint primary key,
  txid bigint not null,
  origin text,
  committed_at timestamptz not null
);
-- No primary key: rows are found by (txid, id) only, and every index is paid by the partner's writes.
create table if not exists entente.capture_outbox (
  id bigint generated always as identity,
  txid bigint not null,
  table_schema text not null,
  table_name text not null,
  operation "char" not null,
  before_image jsonb,
  after_image jsonb
);
create index if not exists capture_outbox_txid on entente.capture_outbox (txid, id);
create table if not exists entente.capture_state (
  singleton boolean primary key default true check (singleton),
  acknowledged_sequence bigint
);
insert into entente.capture_state (singleton) values (true) on conflict do nothing;
create table if not exists entente.capture_waiters (
  reader_id text primary key,
  waiting_until timestamptz not null
) with (fillfactor = 50);
create table if not exists entente.capture_tables (
  table_schema text not null,
  table_name text not null,
  primary key (table_schema, table_name)
);
create or replace function entente.capture_row() returns trigger language plpgsql as $capture_row$
begin
  insert into entente.capture_outbox (txid, table_schema, table_name, operation, before_image, after_image)
  values (txid_current(), TG_ARGV[0], TG_ARGV[1], left(TG_OP, 1)::"char",
          case when TG_OP <> 'INSERT' then to_jsonb(OLD) end,
          case when TG_OP <> 'DELETE' then to_jsonb(NEW) end);
  return null;
end
$capture_row$;
create or replace function entente.capture_commit() returns trigger language plpgsql as $capture_commit$
begin
  -- Fires at COMMIT once per outbox row; the first firing of the transaction does the work.
  if current_setting('entente.sequenced_txid', true) is not distinct from NEW.txid::text then
    return null;
  end if;
  perform set_config('entente.sequenced_txid', NEW.txid::text, true);
  perform pg_advisory_xact_lock_shared(${commitWindowLockClass}, ${commitWindowLockObject});
  insert into entente.capture_transactions (commit_sequence, txid, origin, committed_at)
  values (nextval('entente.capture_commit_sequence'), NEW.txid, nullif(current_setting('entente.origin', true), ''), clock_timestamp());
  -- NOTIFY serialises committing transactions on a global queue lock, so it is sent only while a
  -- reader is actually asleep (a busy reader finds the changes on its next read anyway).
  if exists (select 1 from entente.capture_waiters where waiting_until > now()) then
    perform pg_notify('${captureChannel}', '');
  end if;
  return null;
end
$capture_commit$;
create or replace function entente.capture_complete_up_to() returns bigint language plpgsql as $complete$
declare
  drawn bigint;
  holders text[];
  pause double precision := 0.001;
begin
  -- First the last number drawn, then who is inside the commit window: order matters (see capture.ts).
  select case when is_called then last_value else 0 end into drawn from entente.capture_commit_sequence;
  select coalesce(array_agg(virtualtransaction::text), '{}') into holders from pg_catalog.pg_locks
   where locktype = 'advisory' and classid = ${commitWindowLockClass}::oid and objid = ${commitWindowLockObject}::oid and objsubid = 2 and granted;
  while cardinality(holders) > 0 and exists (
    select 1 from pg_catalog.pg_locks
     where locktype = 'advisory' and classid = ${commitWindowLockClass}::oid and objid = ${commitWindowLockObject}::oid and objsubid = 2
       and virtualtransaction::text = any(holders)) loop
    perform pg_sleep(pause);
    pause := least(pause * 2, 0.004);
  end loop;
  return drawn;
end
$complete$;
create or replace function entente.capture_visible_prefix(after bigint, span_max bigint) returns text language sql stable as $prefix$
  -- "p,d": d is the last number drawn, p the end of the gap-free run of visible numbers after
  -- max(after, acknowledged). Visible numbers are committed; a run without gaps is complete.
  with base as (
    select greatest(after, coalesce((select acknowledged_sequence from entente.capture_state), 0)) as b,
           (select case when is_called then last_value else 0 end from entente.capture_commit_sequence) as drawn
  ), bounds as (select b, drawn, least(drawn, b + span_max) as top from base)
  select coalesce(
           (select min(s) - 1 from bounds, generate_series(bounds.b + 1, bounds.top) s
             where not exists (select 1 from entente.capture_transactions t where t.commit_sequence = s)),
           (select top from bounds))::text
         || ',' || (select drawn from bounds)::text
$prefix$;
drop trigger if exists capture_commit_order on entente.capture_outbox;
create constraint trigger capture_commit_order after insert on entente.capture_outbox
  deferrable initially deferred for each row execute function entente.capture_commit();
`;

const uninstallScript = `
drop function if exists entente.capture_row() cascade;
drop function if exists entente.capture_commit() cascade;
drop function if exists entente.capture_complete_up_to();
drop function if exists entente.capture_visible_prefix(bigint, bigint);
drop table if exists entente.capture_outbox, entente.capture_transactions, entente.capture_state, entente.capture_tables, entente.capture_waiters;
drop sequence if exists entente.capture_commit_sequence;
do $drop_schema$ begin
  if not exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = 'entente')
     and not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = 'entente') then
    drop schema if exists entente;
  end if;
end $drop_schema$;
`;

const triggerName = 'entente_capture';

export interface CaptureDependencies {
  readonly executor: SqlExecutor;
  readonly tables: (ref: TableRef) => Promise<TableCodecs>;
  /** Forget cached table models (a captured image named a column the cache does not know). */
  readonly refreshTables: () => void;
}

export interface OutboxCapture extends ChangeCapture {
  /** Releases the LISTEN connection and wakes every waiter (the connector is closing). */
  stop(): Promise<void>;
  /** Resolves on a notification, on `signal` or after `timeoutMs`. */
  sleep(timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

export function createOutboxCapture(dependencies: CaptureDependencies): OutboxCapture {
  const { executor } = dependencies;
  const waiters = new Set<() => void>();
  let unlisten: (() => Promise<void>) | undefined;
  let listening: Promise<void> | undefined;
  /** The last sequence number a read found complete: a sleeping reader wakes at once if it moved. */
  let lastCompleteSeen: bigint | undefined;
  const readerId = randomUUID();
  let pendingReset: Promise<void> = Promise.resolve();
  const gaps: GapTracker = { gap: null, sinceMs: 0 };
  const wakeAll = (): void => {
    for (const wake of [...waiters]) wake();
  };
  const sleep = (timeoutMs: number, signal?: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
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
  const ensureListening = async (): Promise<void> => {
    listening ??= executor.listen(captureChannel, wakeAll).then(
      (stop) => {
        unlisten = stop;
      },
      (error: unknown) => {
        // Try again on the next wait instead of failing every wait from now on.
        listening = undefined;
        throw error;
      },
    );
    await listening;
  };

  return {
    method: 'outbox-trigger',

    async install(tables) {
      for (const ref of tables) {
        const table = await dependencies.tables(ref);
        if (table.model.kind === 'view') throw new EntenteError('DB_UNSUPPORTED', `${ref.schema}.${ref.name} is a view; capture the tables it reads from instead.`);
        if (table.model.primaryKey === null) {
          throw new EntenteError('DB_UNSUPPORTED', `${ref.schema}.${ref.name} has no primary key, so its changes cannot be shared; add one (ALTER TABLE ${qualifiedName(ref)} ADD PRIMARY KEY (...)).`);
        }
      }
      await withPrivilegeHint(tables, () =>
        executor.transaction(async (session) => {
          await session.script(installScript);
          const installed = await installedIn(session);
          const wanted = new Set(tables.map(refKey));
          for (const ref of installed) {
            if (wanted.has(refKey(ref))) continue;
            await session.script(`drop trigger if exists ${triggerName} on ${qualifiedName(ref)}`);
            await session.query('delete from entente.capture_tables where table_schema = $1 and table_name = $2', [ref.schema, ref.name]);
          }
          for (const ref of tables) {
            await session.script(
              `create or replace trigger ${triggerName} after insert or update or delete on ${qualifiedName(ref)} ` +
                `for each row execute function entente.capture_row(${quoteLiteral(ref.schema)}, ${quoteLiteral(ref.name)})`,
            );
            await session.query('insert into entente.capture_tables (table_schema, table_name) values ($1, $2) on conflict do nothing', [ref.schema, ref.name]);
          }
        }),
      );
    },

    async uninstall() {
      await executor.transaction((session) => session.script(uninstallScript));
    },

    async installedTables() {
      const [exists] = await executor.query(`select to_regclass('entente.capture_tables') is not null as present`);
      if (exists?.['present'] !== 't' && exists?.['present'] !== 'true') return [];
      return installedIn(executor);
    },

    async read(after, limits) {
      return readTransactions(dependencies, after, limits, gaps, (upTo) => {
        lastCompleteSeen = upTo;
      });
    },

    async waitForChanges(timeoutMs, signal) {
      await ensureListening();
      // The previous sleep's reset must land before this sleep is announced, or it would cancel it.
      await pendingReset;
      const seenBefore = lastCompleteSeen;
      // Announce the sleep first, then look: a transaction that checked for sleepers before the
      // announcement drew its number before it, so the look below sees that number.
      await notInstalledAsError(() =>
        executor.query(
          `insert into entente.capture_waiters (reader_id, waiting_until) values ($1, clock_timestamp() + $2::int * interval '1 millisecond')
           on conflict (reader_id) do update set waiting_until = excluded.waiting_until`,
          [readerId, String(Math.max(0, Math.ceil(timeoutMs)))],
        ),
      );
      try {
        const [drawn] = await executor.query(lastDrawnQuery);
        if (seenBefore !== undefined && BigInt(drawn?.['sequence'] ?? '0') > seenBefore) {
          // Numbers beyond what the last read could deliver: a commit in flight lands within a flush.
          await sleep(Math.min(timeoutMs, gaps.gap === null ? 0 : 2), signal);
          return;
        }
        await sleep(timeoutMs, signal);
      } finally {
        // Not awaited: the caller reads at once, and a late reset only costs a spare NOTIFY. An UPDATE
        // (not a DELETE) keeps the row: heap-only updates of one row per reader leave the table tiny
        // for the commit trigger's check, where insert/delete cycles would bloat it.
        pendingReset = executor
          .query(`update entente.capture_waiters set waiting_until = '-infinity' where reader_id = $1`, [readerId])
          .then(() => undefined, () => undefined);
      }
    },

    sleep,

    async acknowledge(position) {
      const sequence = parsePosition(position);
      await notInstalledAsError(() =>
        executor.transaction(async (session) => {
          await session.query('update entente.capture_state set acknowledged_sequence = greatest(coalesce(acknowledged_sequence, 0), $1::bigint)', [sequence]);
          await session.query(
            'delete from entente.capture_outbox o using entente.capture_transactions t where o.txid = t.txid and t.commit_sequence <= $1::bigint',
            [sequence],
          );
          await session.query('delete from entente.capture_transactions where commit_sequence <= $1::bigint', [sequence]);
        }),
      );
    },

    async acknowledgedPosition() {
      const [row] = await notInstalledAsError(() => executor.query('select acknowledged_sequence::text as position from entente.capture_state'));
      return row?.['position'] ?? null;
    },

    comparePositions(a, b) {
      const left = BigInt(parsePosition(a));
      const right = BigInt(parsePosition(b));
      return left < right ? -1 : left > right ? 1 : 0;
    },

    async stop() {
      wakeAll();
      await pendingReset;
      await listening?.catch(() => undefined);
      await unlisten?.();
    },
  };
}

async function installedIn(session: SqlSession): Promise<readonly TableRef[]> {
  const rows = await session.query('select table_schema, table_name from entente.capture_tables order by table_schema, table_name');
  return rows.map((row) => ({ schema: row['table_schema'] ?? '', name: row['table_name'] ?? '' }));
}

function refKey(ref: TableRef): string {
  return `${ref.schema}\u0000${ref.name}`;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function parsePosition(position: string): string {
  if (!/^\d{1,19}$/.test(position)) throw new EntenteError('USAGE', `"${position}" is not a PostgreSQL capture position (a commit sequence number); pass a position returned by read().`);
  return position;
}

/** A single source transaction larger than a read's changesMax is still delivered whole, up to this. */
const transactionChangesMax = 10_000_000;

const readQuery = `
with txs as (
  select txid, commit_sequence, origin, committed_at from entente.capture_transactions
  where commit_sequence > $1::bigint and commit_sequence <= $4::bigint order by commit_sequence limit $2::int
)
select t.commit_sequence::text as position, t.txid::text as txid, t.origin, t.committed_at::text as committed_at,
       o.table_schema, o.table_name, o.operation, o.before_image::text as before_image, o.after_image::text as after_image
from txs t join entente.capture_outbox o on o.txid = t.txid
order by t.commit_sequence, o.id
limit $3::int`;

const lastDrawnQuery = `select case when is_called then last_value else 0 end::text as sequence from entente.capture_commit_sequence`;

/** The last sequence number whose transaction has certainly finished: one round trip (see the header). */
async function completeUpTo(session: SqlSession): Promise<string> {
  const [row] = await session.query('select entente.capture_complete_up_to()::text as sequence');
  return row?.['sequence'] ?? '0';
}

/** Numbers examined per read for gaps; a reader further behind catches up over several reads. */
const gapScanSpanMax = 100_000;
/** A gap older than this is settled with the commit-window barrier (an aborted or skipped number). */
const gapSettleAfterMs = 20;

/** Tracks the first gap a reader met, to settle it once it has outlived any commit in flight. */
export interface GapTracker {
  gap: bigint | null;
  sinceMs: number;
}

/**
 * How far a read may go. Usually the gap-free run of visible numbers, found without touching pg_locks:
 * a number drawn but not yet visible (a commit in flight) ends the run until it lands. A gap that
 * stays (a transaction that rolled back after drawing, numbers skipped after a crash) is settled by the
 * commit-window barrier, which proves every number up to the last drawn one final.
 */
async function readableUpTo(session: SqlSession, after: string, tracker: GapTracker): Promise<{ upTo: string; drawn: string }> {
  const [row] = await session.query('select entente.capture_visible_prefix($1::bigint, $2::bigint) as prefix', [after, String(gapScanSpanMax)]);
  const [prefix = '0', drawn = '0'] = (row?.['prefix'] ?? '0,0').split(',');
  const hasGap = BigInt(prefix) < BigInt(drawn) && BigInt(prefix) < BigInt(after) + BigInt(gapScanSpanMax);
  if (!hasGap) {
    tracker.gap = null;
    return { upTo: prefix, drawn };
  }
  const gap = BigInt(prefix) + 1n;
  const now = performance.now();
  if (tracker.gap !== gap) {
    tracker.gap = gap;
    tracker.sinceMs = now;
    return { upTo: prefix, drawn };
  }
  if (now - tracker.sinceMs < gapSettleAfterMs) return { upTo: prefix, drawn };
  tracker.gap = null;
  return { upTo: await completeUpTo(session), drawn };
}

async function readTransactions(
  dependencies: CaptureDependencies,
  after: string | null,
  limits: CaptureReadLimits,
  tracker: GapTracker,
  onComplete: (upTo: bigint) => void,
): Promise<readonly CapturedTransaction[]> {
  const afterSequence = after === null ? '0' : parsePosition(after);
  const rows = await notInstalledAsError(async () => {
    const { upTo } = await readableUpTo(dependencies.executor, afterSequence, tracker);
    onComplete(BigInt(upTo));
    if (BigInt(upTo) <= BigInt(afterSequence)) return [];
    return dependencies.executor.query(readQuery, [afterSequence, String(Math.max(1, limits.transactionsMax)), String(Math.max(1, limits.changesMax) + 1), upTo]);
  });
  let complete = rows;
  if (rows.length > limits.changesMax) {
    // The last transaction may be cut off: drop it, unless it is the only one (then read it whole).
    const lastPosition = rows[rows.length - 1]?.['position'];
    complete = rows.filter((row) => row['position'] !== lastPosition);
    if (complete.length === 0) {
      complete = await dependencies.executor.query(readQuery, [afterSequence, '1', String(transactionChangesMax), lastPosition ?? afterSequence]);
    }
  }
  const transactions: { position: string; txid: string; origin: string | null; committedAt: string | null; rows: TextRow[] }[] = [];
  for (const row of complete) {
    const position = row['position'] ?? '';
    let current = transactions[transactions.length - 1];
    if (current?.position !== position) {
      current = { position, txid: row['txid'] ?? '', origin: row['origin'] ?? null, committedAt: row['committed_at'] ?? null, rows: [] };
      transactions.push(current);
    }
    current.rows.push(row);
  }
  const result: CapturedTransaction[] = [];
  const state: DecodeState = { refreshed: false };
  for (const transaction of transactions) {
    const changes: CapturedChange[] = [];
    for (const row of transaction.rows) changes.push(await decodeChange(dependencies, row, state));
    result.push({
      position: transaction.position,
      sourceTransactionId: transaction.txid,
      origin: transaction.origin,
      committedAt: transaction.committedAt === null ? null : canonicalTimestamp(transaction.committedAt),
      changes,
    });
  }
  return result;
}

const operations: Readonly<Record<string, ChangeOperation>> = { I: 'insert', U: 'update', D: 'delete' };

/** Per read: table models are refreshed at most once (an image naming a column the cache lacks). */
interface DecodeState {
  refreshed: boolean;
}

async function decodeChange(dependencies: CaptureDependencies, row: TextRow, state: DecodeState): Promise<CapturedChange> {
  const ref = { schema: row['table_schema'] ?? '', name: row['table_name'] ?? '' };
  const op = operations[row['operation'] ?? ''] ?? 'update';
  const beforeJson = row['before_image'] === null || row['before_image'] === undefined ? null : parseExactJson(row['before_image']);
  const afterJson = row['after_image'] === null || row['after_image'] === undefined ? null : parseExactJson(row['after_image']);
  let table: TableCodecs;
  try {
    table = await dependencies.tables(ref);
    const mentioned = Object.keys((afterJson ?? beforeJson ?? {}) as Record<string, ExactJson>);
    if (!state.refreshed && mentioned.some((name) => !table.codecs.has(name))) {
      state.refreshed = true;
      dependencies.refreshTables();
      table = await dependencies.tables(ref);
    }
  } catch (error) {
    // The table was dropped after the change was captured: deliver the images as plain JSON rather
    // than stall the stream on a change that can no longer be typed.
    if (!isEntenteError(error, 'DB_NOT_FOUND')) throw error;
    const plain = (image: ExactJson | null): Row | null => (image === null ? null : (exactJsonToPlain(image) as Row));
    return { table: ref, op, key: {}, before: plain(beforeJson), after: plain(afterJson) };
  }
  const before = beforeJson === null ? null : decodeImage(table, beforeJson);
  const after = afterJson === null ? null : decodeImage(table, afterJson);
  const keySource = before ?? after ?? {};
  const key: Record<string, Value> = {};
  for (const name of table.model.primaryKey ?? []) key[name] = keySource[name] ?? null;
  return { table: ref, op, key, before, after };
}

function decodeImage(table: TableCodecs, image: ExactJson): Row {
  const fields = image as Record<string, ExactJson>;
  const row: Record<string, Value> = {};
  for (const column of table.model.columns) {
    const codec = table.codecs.get(column.name);
    if (codec !== undefined) row[column.name] = codec.fromJson(fields[column.name]);
  }
  return row;
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
