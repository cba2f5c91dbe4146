// Change capture with logical decoding (pgoutput), for PostgreSQL servers with wal_level = logical.
// Writers pay nothing beyond the write-ahead log they already write: the server decodes committed
// transactions from it, in commit order, and streams them to this reader over a replication
// connection. Chosen with `capture: 'logical-decoding'`; triggers stay the default, because this mode
// needs a server setting (and a restart), the REPLICATION attribute, and retains WAL while the reader
// is away.
//
// What install creates: publication `entente_capture` (insert, update, delete of the captured tables),
// REPLICA IDENTITY FULL on each (so updates and deletes carry the whole old row, as the triggers'
// before-image does, and an unchanged TOASTed value can be taken from it), a logical slot named after
// the database, and in schema `entente` the captured tables (with their previous replica identity, to
// restore on uninstall) and the acknowledged position.
//
// Positions are the end LSN of each transaction's commit record, 16 hex digits: they grow in commit
// order, and confirming one to the server makes a restarted stream skip everything committed at or
// before it. The acknowledged position is also stored in a table, in its own transaction, before the
// server is told: the slot persists its confirmed position only at checkpoints, so after a server
// crash it may resend transactions the ledger already holds, and the reader drops those by the stored
// position. Transactions read but not yet acknowledged stay in memory (bounded: the socket is paused
// when the buffer is full), so a reader may read the same range again, as the contract allows. The
// socket is read only while a read or a wait is in progress: between reads the frames gather in the
// kernel's buffer and arrive in large chunks (measured at 5,000 commits/s, one read every 20 ms: this
// process's CPU per change 49.6 → 39.3 µs, the walsender's 51.5 → 45.1 µs, means of 3 interleaved runs).
//
// Origins: Entente's own writes emit a transactional logical message (prefix `entente.origin`) in the
// transaction, which arrives with its changes. TRUNCATE is not captured (as with the row triggers).
import { EntenteError, isEntenteError } from '../../common/errors.ts';
import type { CapturedChange, CapturedTransaction, ChangeOperation, Row, TableRef, Value } from '../connector.ts';
import { decodePgoutput, lsnFromText, lsnToText, postgresTimeToIso, type Lsn, type RelationColumn, type TupleText } from './pgoutput.ts';
import { qualifiedName, type TableCodecs } from './postgres-sql.ts';
import type { ColumnCodec } from './postgres-types.ts';
import { privilegeError } from './postgres-errors.ts';
import { ReplicationStream } from './replication-stream.ts';
import { requireCapturable, wakeableSleep } from './capture-common.ts';
import { lockWaitMsDefault } from '../lock-waits.ts';
import { transactionWithShortLockWaits } from './lock-waits.ts';
import type { CaptureDependencies, OutboxCapture } from './postgres-capture.ts';
import type { SqlSession } from './sql-executor.ts';

export const originMessagePrefix = 'entente.origin';
const publicationName = 'entente_capture';
/** Buffered changes (read or not, not yet acknowledged) above which the socket is paused. */
const bufferedChangesMax = 200_000;
/** The server drops a silent replica after wal_sender_timeout (60 s by default). */
const statusEveryMs = 10_000;
/** A read waits at most this long for the stream to reach the WAL position current when it began. */
const catchUpMsMax = 5_000;
const catchUpPollMs = 20;

const stateDdl = `
create schema if not exists entente;
create table if not exists entente.logical_capture_tables (
  table_schema text not null,
  table_name text not null,
  previous_identity "char" not null,
  primary key (table_schema, table_name)
);
create table if not exists entente.logical_capture_state (
  singleton boolean primary key default true check (singleton),
  slot_name text not null,
  acknowledged_lsn pg_lsn
);`;

interface RelationInfo {
  readonly ref: TableRef;
  readonly columns: readonly RelationColumn[];
}

interface RawChange {
  readonly relation: RelationInfo;
  readonly op: ChangeOperation;
  readonly oldTuple: TupleText | null;
  readonly newTuple: TupleText | null;
}

interface BufferedTransaction {
  readonly endLsn: Lsn;
  readonly position: string;
  readonly sourceTransactionId: string;
  readonly origin: string | null;
  readonly committedAt: string;
  readonly raw: readonly RawChange[];
  decoded?: readonly CapturedChange[];
}

interface OpenTransaction {
  readonly xid: number;
  readonly commitTimeMicros: bigint;
  origin: string | null;
  readonly changes: RawChange[];
}

export function formatLsnPosition(lsn: Lsn): string {
  return lsn.toString(16).toUpperCase().padStart(16, '0');
}

export function parseLsnPosition(position: string): Lsn {
  if (!/^[0-9A-F]{16}$/.test(position)) throw new EntenteError('USAGE', `"${position}" is not a logical-decoding capture position (16 hex digits); positions of trigger capture cannot be used with logical decoding.`);
  return BigInt(`0x${position}`);
}

export interface LogicalCaptureDependencies extends CaptureDependencies {
  /** For the replication connection (the pool's connections cannot stream). */
  readonly connectionString: string;
}

export function createLogicalCapture(dependencies: LogicalCaptureDependencies): OutboxCapture {
  const { executor } = dependencies;
  const relations = new Map<number, RelationInfo>();
  const buffer: BufferedTransaction[] = [];
  let bufferedChanges = 0;
  let open: OpenTransaction | undefined;
  /** Full transaction ids: xids arrive as 32 bits; this is the last full one seen (or the server's next). */
  let xidReference = 0n;
  let acknowledgedLsn = 0n;
  let receivedLsn = 0n;
  /** The end of what the last read returned (its start when it returned nothing). */
  let lastReadEnd = 0n;
  let stream: ReplicationStream | undefined;
  let starting: Promise<void> | undefined;
  /** A message this reader could not decode: the stream is closed, and reads report it. */
  let decodeFailure: Error | undefined;
  let stopped = false;
  /** The buffer is full: the socket stays paused until acknowledgements drain it. */
  let paused = false;
  /**
   * Reads and waits in progress. The socket is read only while one is: between a reader's reads the
   * server's messages gather in the kernel's buffer and arrive in a few large chunks, instead of waking
   * this process for every commit (three small frames each) while nobody is asking.
   */
  let demand = 0;
  /** Whether the socket is being read (the last pause/resume given to the current stream). */
  let flowing = true;
  const setFlow = (): void => {
    const wanted = !paused && demand > 0;
    if (stream === undefined || wanted === flowing) return;
    flowing = wanted;
    if (wanted) stream.resume();
    else stream.pause();
  };
  const whileDemanded = async <T>(work: () => Promise<T>): Promise<T> => {
    demand += 1;
    setFlow();
    try {
      return await work();
    } finally {
      demand -= 1;
      setFlow();
    }
  };
  let statusTimer: NodeJS.Timeout | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
    wakeCatchUp();
  };
  const catchUpWaiters = new Set<() => void>();
  const wakeCatchUp = (): void => {
    for (const waiter of [...catchUpWaiters]) waiter();
  };

  /**
   * Waits until the stream has delivered everything the server had written when the read began, so a
   * read sees every transaction committed before it (as a trigger-capture read does). Each pass asks
   * the server for a keepalive, which carries how far it has sent.
   */
  const catchUp = async (): Promise<void> => {
    // The flush position, not the insert position: the server streams only flushed WAL, and WAL that
    // no commit waits for (autovacuum, hint bits) is flushed by the WAL writer up to ~0.6 s later —
    // waiting for it stalled reads by ~300 ms now and then (measured). A synchronous commit is flushed
    // before it returns, so a read after it still sees it.
    const [row] = await executor.query('select pg_catalog.pg_current_wal_flush_lsn()::text as lsn', [], { prepare: true });
    const target = lsnFromText(row?.['lsn'] ?? '0/0');
    const deadline = performance.now() + catchUpMsMax;
    let askedAt = Number.NEGATIVE_INFINITY;
    while (receivedLsn < target && !stopped && performance.now() < deadline) {
      const current = stream;
      if (current === undefined) {
        // The server ended the stream (another reader took the slot over, a restart). With the socket
        // paused since the last read, that is noticed only now: start again, as the read would have.
        await ensureStream();
        askedAt = Number.NEGATIVE_INFINITY;
        continue;
      }
      // Ask at most once per poll: while commits stream in, they advance the position by themselves
      // (asking on every wake-up sent the server a status frame per commit).
      if (performance.now() - askedAt >= catchUpPollMs) {
        askedAt = performance.now();
        current.sendStatus(receivedLsn, confirmable(receivedLsn), true);
      }
      await wakeableSleep(catchUpWaiters, catchUpPollMs);
    }
  };

  const fullXid = (xid: number): bigint => {
    // The full id nearest the reference: transaction ids in the stream are never 2^31 apart.
    const low = xidReference & 0xffffffffn;
    let delta = BigInt(xid) - low;
    if (delta > 0x7fffffffn) delta -= 0x100000000n;
    else if (delta < -0x80000000n) delta += 0x100000000n;
    xidReference += delta;
    return xidReference;
  };

  const onMessage = (bytes: Buffer): void => {
    const message = decodePgoutput(bytes);
    switch (message.tag) {
      case 'relation':
        relations.set(message.relationId, { ref: { schema: message.schema, name: message.name }, columns: message.columns });
        return;
      case 'begin':
        open = { xid: message.xid, commitTimeMicros: message.commitTimeMicros, origin: null, changes: [] };
        return;
      case 'message':
        if (open !== undefined && message.transactional && message.prefix === originMessagePrefix) open.origin = message.content.toString('utf8');
        return;
      case 'insert':
      case 'update':
      case 'delete': {
        const relation = relations.get(message.relationId);
        if (open === undefined || relation === undefined) throw new Error(`logical capture: a ${message.tag} outside a transaction or of an unknown relation ${message.relationId}`);
        if (message.tag === 'insert') open.changes.push({ relation, op: 'insert', oldTuple: null, newTuple: message.newTuple });
        else if (message.tag === 'update') open.changes.push({ relation, op: 'update', oldTuple: message.oldTuple, newTuple: message.newTuple });
        else open.changes.push({ relation, op: 'delete', oldTuple: message.oldTuple, newTuple: null });
        return;
      }
      case 'commit': {
        const transaction = open;
        open = undefined;
        receivedLsn = message.endLsn > receivedLsn ? message.endLsn : receivedLsn;
        if (transaction === undefined || transaction.changes.length === 0) return;
        const last = buffer[buffer.length - 1];
        // Resent after a reconnect (the server starts from its confirmed position): already here or acknowledged.
        if (message.endLsn <= acknowledgedLsn || (last !== undefined && message.endLsn <= last.endLsn)) return;
        buffer.push({
          endLsn: message.endLsn,
          position: formatLsnPosition(message.endLsn),
          sourceTransactionId: String(fullXid(transaction.xid)),
          origin: transaction.origin,
          committedAt: postgresTimeToIso(transaction.commitTimeMicros),
          raw: transaction.changes,
        });
        bufferedChanges += transaction.changes.length;
        if (bufferedChanges > bufferedChangesMax && !paused) {
          paused = true;
          setFlow();
        }
        wake();
        return;
      }
      default:
        return;
    }
  };

  /** What may be confirmed to the server: acknowledged, or — with nothing unacknowledged in hand — all it sent. */
  const confirmable = (sentUpTo: Lsn): Lsn => (buffer.length === 0 && open === undefined && sentUpTo > acknowledgedLsn ? sentUpTo : acknowledgedLsn);

  const connect = async (): Promise<void> => {
    const [state] = await executor.query(`select slot_name, acknowledged_lsn::text as acknowledged_lsn, pg_snapshot_xmax(pg_current_snapshot())::text as next_xid from entente.logical_capture_state`).catch((error: unknown) => {
      throw notInstalled(error);
    });
    if (state === undefined) throw notInstalledError();
    const stored = state['acknowledged_lsn'];
    if (stored !== null && stored !== undefined) acknowledgedLsn = lsnFromText(stored) > acknowledgedLsn ? lsnFromText(stored) : acknowledgedLsn;
    xidReference = BigInt(state['next_xid'] ?? '0');
    // The stream restarts at the acknowledged position: forget a half-received transaction and keep the rest.
    open = undefined;
    relations.clear();
    const slot = state['slot_name'] ?? '';
    const start = (): Promise<ReplicationStream> => ReplicationStream.start({
      connectionString: dependencies.connectionString,
      slot,
      publication: publicationName,
      startLsn: acknowledgedLsn,
      onMessage: (bytes) => {
        try {
          onMessage(bytes);
        } catch (error) {
          decodeFailure = error instanceof Error ? error : new Error(String(error));
          void stream?.close();
        }
      },
      onKeepalive: (walEnd, replyRequested) => {
        // The server sent everything before walEnd (a keepalive follows the messages it covers).
        if (walEnd > receivedLsn && open === undefined) receivedLsn = walEnd;
        if (replyRequested) stream?.sendStatus(receivedLsn, confirmable(receivedLsn));
        wakeCatchUp();
      },
    });
    const started = await startTakingOver(executor, slot, start).catch((error: unknown) => {
      throw streamStartError(error);
    });
    stream = started;
    decodeFailure = undefined;
    // A new stream is read from; setFlow pauses it unless a read or wait is in progress.
    flowing = true;
    setFlow();
    statusTimer ??= setInterval(() => stream?.sendStatus(receivedLsn, confirmable(receivedLsn)), statusEveryMs);
    statusTimer.unref();
    void started.ended.then((error) => {
      if (stream === started) stream = undefined;
      if (error !== null && !stopped) {
        // The next read or wait reconnects, not a timer: a reader whose slot another took over (see
        // startTakingOver) must not take it straight back while it is not even reading.
        wake();
      }
    });
  };

  const ensureStream = async (): Promise<void> => {
    if (stopped || stream !== undefined) return;
    starting ??= connect().finally(() => {
      starting = undefined;
    });
    await starting;
  };

  /**
   * Table models by relation, resolved once: a Relation message (sent again after any change to the
   * table's columns) makes a new RelationInfo, so a stale model is never used for it.
   */
  const models = new WeakMap<RelationInfo, RelationDecoder>();
  const modelOf = async (relation: RelationInfo): Promise<RelationDecoder> => {
    const cached = models.get(relation);
    if (cached !== undefined) return cached;
    // Only a table that no longer exists decodes without a model; any other failure is the read's.
    const lookup = (): Promise<TableCodecs | null> =>
      dependencies.tables(relation.ref).catch((error: unknown) => {
        if (isEntenteError(error, 'DB_NOT_FOUND')) return null;
        throw error;
      });
    let table = await lookup();
    const known = table;
    if (known !== null && relation.columns.some((column) => !known.codecs.has(column.name))) {
      // A column added after the table model was read: read it again, once.
      dependencies.refreshTables();
      table = await lookup();
    }
    const decoder = relationDecoder(relation, table);
    models.set(relation, decoder);
    return decoder;
  };

  const decode = async (transaction: BufferedTransaction): Promise<readonly CapturedChange[]> => {
    if (transaction.decoded !== undefined) return transaction.decoded;
    const changes: CapturedChange[] = [];
    for (const change of transaction.raw) {
      const model = models.get(change.relation) ?? (await modelOf(change.relation));
      changes.push(decodeChange(change, model));
    }
    transaction.decoded = changes;
    return changes;
  };

  /** Index of the first buffered transaction after `lsn` (the buffer is in commit order). */
  const firstAfter = (lsn: Lsn): number => {
    let low = 0;
    let high = buffer.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((buffer[middle] as BufferedTransaction).endLsn <= lsn) low = middle + 1;
      else high = middle;
    }
    return low;
  };

  /** Whether the buffer already holds a read's worth of transactions after `lsn`. */
  const fullPageAfter = (lsn: Lsn, transactionsMax: number, changesMax: number): boolean => {
    const first = firstAfter(lsn);
    if (buffer.length - first >= transactionsMax) return true;
    let changes = 0;
    for (let index = first; index < buffer.length; index += 1) {
      changes += (buffer[index] as BufferedTransaction).raw.length;
      if (changes >= changesMax) return true;
    }
    return false;
  };

  const resumeIfDrained = (): void => {
    if (paused && bufferedChanges <= bufferedChangesMax / 2) {
      paused = false;
      setFlow();
    }
  };

  return {
    method: 'logical-decoding',

    async install(tables, options = {}) {
      await requireLogicalWal(executor);
      for (const ref of tables) requireCapturable(ref, await dependencies.tables(ref));
      const hint = `installing logical-decoding capture needs CREATE on the database (GRANT CREATE ON DATABASE <db> TO <role>), ownership of each captured table (to set REPLICA IDENTITY FULL and publish it: ${tables.map(qualifiedName).join(', ') || 'none'}) and the REPLICATION attribute (ALTER ROLE <role> REPLICATION)`;
      // Runs at every gateway start: ALTER TABLE … REPLICA IDENTITY takes an ACCESS EXCLUSIVE lock (it
      // waits for every open reader of the table and stops all new ones), so it runs only when needed.
      await withHint(hint, () =>
        transactionWithShortLockWaits(executor, options.lockWaitMs ?? lockWaitMsDefault, 'Installing change capture', async (session, progress) => {
          await session.script(stateDdl);
          const installed = await installedIn(session);
          const wanted = new Set(tables.map(refKey));
          for (const ref of installed) {
            if (wanted.has(refKey(ref))) continue;
            progress.target = qualifiedName(ref);
            await restoreIdentity(session, ref);
          }
          for (const ref of tables) {
            const [row] = await session.query(`select relreplident::text as identity from pg_catalog.pg_class where oid = $1::regclass`, [qualifiedName(ref)]);
            await session.query(
              'insert into entente.logical_capture_tables (table_schema, table_name, previous_identity) values ($1, $2, $3) on conflict do nothing',
              [ref.schema, ref.name, row?.['identity'] ?? 'd'],
            );
            if (row?.['identity'] === 'f') continue;
            progress.target = qualifiedName(ref);
            await session.script(`alter table ${qualifiedName(ref)} replica identity full`);
          }
          const [publication] = await session.query('select 1 as present from pg_catalog.pg_publication where pubname = $1', [publicationName]);
          if (publication === undefined) await session.script(`create publication ${publicationName} with (publish = 'insert, update, delete')`);
          const published = await session.query('select schemaname, tablename from pg_catalog.pg_publication_tables where pubname = $1', [publicationName]);
          for (const row of published) {
            const ref = { schema: row['schemaname'] ?? '', name: row['tablename'] ?? '' };
            if (wanted.has(refKey(ref))) continue;
            progress.target = qualifiedName(ref);
            await session.script(`alter publication ${publicationName} drop table ${qualifiedName(ref)}`);
          }
          const publishedKeys = new Set(published.map((row) => refKey({ schema: row['schemaname'] ?? '', name: row['tablename'] ?? '' })));
          for (const ref of tables) {
            if (publishedKeys.has(refKey(ref))) continue;
            progress.target = qualifiedName(ref);
            await session.script(`alter publication ${publicationName} add table ${qualifiedName(ref)}`);
          }
          const [database] = await session.query('select current_database() as name');
          await session.query(
            `insert into entente.logical_capture_state (singleton, slot_name) values (true, $1) on conflict (singleton) do nothing`,
            [slotNameFor(database?.['name'] ?? 'entente')],
          );
        }),
      );
      // A slot cannot be created in a transaction that wrote; created once, it keeps its position.
      const [state] = await executor.query('select slot_name from entente.logical_capture_state');
      const slot = state?.['slot_name'] ?? '';
      await withHint(hint, () =>
        executor.query(
          `select pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput') where not exists (select 1 from pg_catalog.pg_replication_slots where slot_name = $1)`,
          [slot],
        ),
      ).catch((error: unknown) => {
        throw slotError(error);
      });
    },

    async uninstall(options = {}) {
      await this.stop();
      const [exists] = await executor.query(`select to_regclass('entente.logical_capture_state') is not null as present`);
      if (exists?.['present'] === 't' || exists?.['present'] === 'true') {
        const [state] = await executor.query('select slot_name from entente.logical_capture_state');
        const slot = state?.['slot_name'];
        if (slot !== undefined && slot !== null) {
          // Our own stream is closed; a walsender still winding down is ended so the slot can go.
          await executor.query('select pg_catalog.pg_terminate_backend(active_pid) from pg_catalog.pg_replication_slots where slot_name = $1 and active_pid is not null', [slot]);
          await dropSlotWhenFree(executor, slot);
        }
      }
      // Restoring a table's replica identity is an ACCESS EXCLUSIVE lock: waited for briefly at a time, as in install.
      await transactionWithShortLockWaits(executor, options.lockWaitMs ?? lockWaitMsDefault, 'Removing change capture', async (session, progress) => {
        const [present] = await session.query(`select to_regclass('entente.logical_capture_tables') is not null as present`);
        if (present?.['present'] === 't' || present?.['present'] === 'true') {
          for (const ref of await installedIn(session)) {
            progress.target = qualifiedName(ref);
            await restoreIdentity(session, ref);
          }
        }
        progress.target = null;
        await session.script(`drop publication if exists ${publicationName}; drop table if exists entente.logical_capture_tables, entente.logical_capture_state;`);
        // The schema goes too when nothing else of Entente's (trigger capture, the replica's state) is in it.
        await session.script(`do $drop_schema$ begin
  if exists (select 1 from pg_catalog.pg_namespace where nspname = 'entente')
     and not exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where n.nspname = 'entente')
     and not exists (select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = 'entente') then
    drop schema entente;
  end if;
end $drop_schema$;`);
      });
    },

    async installedTables() {
      const [exists] = await executor.query(`select to_regclass('entente.logical_capture_tables') is not null as present`);
      if (exists?.['present'] !== 't' && exists?.['present'] !== 'true') return [];
      return installedIn(executor);
    },

    async read(after, limits) {
      await ensureStream();
      const from = after === null ? acknowledgedLsn : maxLsn(parseLsnPosition(after), acknowledgedLsn);
      const transactionsMax = Math.max(1, limits.transactionsMax);
      const changesMax = Math.max(1, limits.changesMax);
      // A read holds everything committed before it began, up to its limits (the contract suite writes,
      // then reads once): unless a full page is already in hand, wait until the stream has caught up
      // with the server. (A full page answers at once: a reader draining a backlog would otherwise wait
      // for the whole backlog to stream in before every page.)
      if (!fullPageAfter(from, transactionsMax, changesMax)) await whileDemanded(catchUp);
      if (decodeFailure !== undefined) {
        throw new EntenteError('DB_UNSUPPORTED', `A change in the logical replication stream could not be decoded (${decodeFailure.message}); the reader stopped before it and resumes there once this is fixed.`, { cause: decodeFailure });
      }
      const result: CapturedTransaction[] = [];
      let changes = 0;
      lastReadEnd = from;
      for (let index = firstAfter(from); index < buffer.length; index += 1) {
        const transaction = buffer[index] as BufferedTransaction;
        // A transaction larger than changesMax is still delivered whole when it comes first.
        if (result.length >= transactionsMax || (result.length > 0 && changes + transaction.raw.length > changesMax)) break;
        changes += transaction.raw.length;
        lastReadEnd = transaction.endLsn;
        const { position, sourceTransactionId, origin, committedAt } = transaction;
        result.push({ position, sourceTransactionId, origin, committedAt, changes: await decode(transaction) });
      }
      return result;
    },

    async waitForChanges(timeoutMs, signal) {
      if (stopped || signal?.aborted === true) return;
      // Transactions already buffered after the last read (it stopped at its limits, or they arrived
      // after it caught up): their wake-up came before this wait, so do not wait for another.
      if (buffer.length > 0 && (buffer[buffer.length - 1] as BufferedTransaction).endLsn > lastReadEnd) return;
      await ensureStream().catch(() => undefined);
      await whileDemanded(() => wakeableSleep(waiters, timeoutMs, signal));
    },

    async acknowledge(position) {
      const lsn = parseLsnPosition(position);
      await executor
        .query(
          `update entente.logical_capture_state set acknowledged_lsn = $1::pg_lsn where acknowledged_lsn is null or acknowledged_lsn < $1::pg_lsn`,
          [lsnToText(lsn)],
          { prepare: true },
        )
        .catch((error: unknown) => {
          throw notInstalled(error);
        });
      if (lsn > acknowledgedLsn) acknowledgedLsn = lsn;
      let drop = 0;
      while (drop < buffer.length && (buffer[drop]?.endLsn ?? 0n) <= acknowledgedLsn) {
        bufferedChanges -= buffer[drop]?.raw.length ?? 0;
        drop += 1;
      }
      buffer.splice(0, drop);
      resumeIfDrained();
      stream?.sendStatus(receivedLsn, confirmable(receivedLsn));
    },

    async acknowledgedPosition() {
      const [state] = await executor.query(`select acknowledged_lsn::text as acknowledged_lsn from entente.logical_capture_state`).catch((error: unknown) => {
        throw notInstalled(error);
      });
      const stored = state?.['acknowledged_lsn'];
      return stored === null || stored === undefined ? null : formatLsnPosition(lsnFromText(stored));
    },

    comparePositions(a, b) {
      const left = parseLsnPosition(a);
      const right = parseLsnPosition(b);
      return left < right ? -1 : left > right ? 1 : 0;
    },

    async stop() {
      stopped = true;
      clearInterval(statusTimer);
      statusTimer = undefined;
      await starting?.catch(() => undefined);
      const current = stream;
      stream = undefined;
      await current?.close();
      wake();
      // A later install/read on this object (uninstall then install, in tests) starts afresh.
      stopped = false;
      buffer.length = 0;
      bufferedChanges = 0;
      paused = false;
    },
  };
}

/**
 * How to decode one relation's tuples: per column of the Relation message (in its order), the codec
 * of the model's column of that name, or undefined for a column the model lacks (left out, as
 * decodeRow leaves out unknown columns). `table` null: the table was dropped since; values stay text.
 */
interface RelationDecoder {
  readonly table: TableCodecs | null;
  readonly codecs: readonly (ColumnCodec | undefined)[];
}

function relationDecoder(relation: RelationInfo, table: TableCodecs | null): RelationDecoder {
  return { table, codecs: relation.columns.map((column) => table?.codecs.get(column.name)) };
}

function decodeChange(change: RawChange, decoder: RelationDecoder): CapturedChange {
  const { relation, op } = change;
  const before = change.oldTuple === null ? null : tupleRow(relation, decoder, change.oldTuple, null);
  // An unchanged TOASTed value is not resent in the new row; REPLICA IDENTITY FULL sends the old row whole.
  const after = change.newTuple === null ? null : tupleRow(relation, decoder, change.newTuple, change.oldTuple);
  const { table } = decoder;
  if (table === null) return { table: relation.ref, op, key: {}, before, after };
  const keySource: Row = before ?? after ?? {};
  const key: Record<string, Value> = {};
  for (const name of table.model.primaryKey ?? []) key[name] = keySource[name] ?? null;
  return { table: relation.ref, op, key, before, after };
}

/** One tuple as a row, decoded column by column; `fallback` supplies values the tuple marks unchanged. */
function tupleRow(relation: RelationInfo, decoder: RelationDecoder, tuple: TupleText, fallback: TupleText | null): Record<string, Value> {
  const row: Record<string, Value> = {};
  const { columns } = relation;
  for (let index = 0; index < columns.length; index += 1) {
    const text = tuple[index] === undefined ? fallback?.[index] : tuple[index];
    if (text === undefined) continue;
    const codec = decoder.codecs[index];
    if (codec !== undefined) row[(columns[index] as RelationColumn).name] = codec.fromText(text);
    else if (decoder.table === null) row[(columns[index] as RelationColumn).name] = text;
  }
  return row;
}

function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a > b ? a : b;
}

function refKey(ref: TableRef): string {
  return `${ref.schema}\u0000${ref.name}`;
}

/** Slot names are cluster-wide, [a-z0-9_], at most 63 bytes: the database's name, made safe, plus a hash of it. */
export function slotNameFor(database: string): string {
  let hash = 2166136261;
  for (const char of database) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 16777619) >>> 0;
  const safe = database.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  return `entente_${safe}_${hash.toString(16).padStart(8, '0')}`;
}

async function installedIn(session: SqlSession): Promise<readonly TableRef[]> {
  const rows = await session.query('select table_schema, table_name from entente.logical_capture_tables order by table_schema, table_name');
  return rows.map((row) => ({ schema: row['table_schema'] ?? '', name: row['table_name'] ?? '' }));
}

async function restoreIdentity(session: SqlSession, ref: TableRef): Promise<void> {
  const [row] = await session.query('delete from entente.logical_capture_tables where table_schema = $1 and table_name = $2 returning previous_identity::text as identity', [ref.schema, ref.name]);
  const [exists] = await session.query('select to_regclass($1) is not null as present', [qualifiedName(ref)]);
  if (exists?.['present'] !== 't' && exists?.['present'] !== 'true') return;
  // Only DEFAULT, FULL and NOTHING can be restored by name; an index identity falls back to DEFAULT.
  const identity = { d: 'default', f: 'full', n: 'nothing' }[row?.['identity'] ?? 'd'] ?? 'default';
  await session.script(`alter table ${qualifiedName(ref)} replica identity ${identity}`);
}

async function requireLogicalWal(executor: CaptureDependencies['executor']): Promise<void> {
  if (executor.family !== 'postgres') {
    throw new EntenteError('DB_UNSUPPORTED', 'Logical decoding capture needs a PostgreSQL server; PGlite has no replication connections. Use trigger capture (the default) on PGlite.');
  }
  const [row] = await executor.query(`select current_setting('wal_level') as wal_level`);
  const level = row?.['wal_level'] ?? 'unknown';
  if (level !== 'logical') {
    throw new EntenteError(
      'DB_UNSUPPORTED',
      `Logical decoding capture needs wal_level = logical, and this server has wal_level = ${level}. Run ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL — or use trigger capture (the default), which needs no server setting.`,
    );
  }
}

/**
 * Starts the stream; if another connection holds the slot, ends that one and starts again. One reader
 * per database is the rule, and the holder is almost always this gateway's previous process, whose
 * walsender lingers until the server notices the broken connection (wal_sender_timeout, 60 s).
 */
async function startTakingOver(executor: CaptureDependencies['executor'], slot: string, start: () => Promise<ReplicationStream>): Promise<ReplicationStream> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await start();
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 20) throw error;
      await executor.query('select pg_catalog.pg_terminate_backend(active_pid) from pg_catalog.pg_replication_slots where slot_name = $1 and active_pid is not null', [slot]);
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
  }
}

async function dropSlotWhenFree(executor: CaptureDependencies['executor'], slot: string): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await executor.query('select pg_catalog.pg_drop_replication_slot(slot_name) from pg_catalog.pg_replication_slots where slot_name = $1', [slot]);
      return;
    } catch (error) {
      // 55006: the terminated walsender has not released the slot yet.
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function withHint<T>(hint: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw privilegeError(error, hint);
  }
}

function slotError(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (code === '53400') {
    return new EntenteError('DB_UNSUPPORTED', `PostgreSQL has no free replication slot (${(error as Error).message}). Raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = <n>; then restart), or drop unused slots (pg_drop_replication_slot).`, { cause: error });
  }
  return error;
}

function streamStartError(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === '42501' || /must be superuser or replication role/i.test(message)) {
    return new EntenteError('DB_PRIVILEGE_MISSING', `PostgreSQL refused the replication connection: ${message}. Give the role the REPLICATION attribute (ALTER ROLE <role> REPLICATION), and let it in for replication in pg_hba.conf.`, { cause: error });
  }
  if (code === '55006') {
    return new EntenteError('DB_CONFLICT', `The capture slot is in use by another reader (${message}); only one gateway may read a database's changes. Stop the other one.`, { cause: error });
  }
  if (code === '42704') return notInstalledError(error);
  return error;
}

function notInstalledError(cause?: unknown): EntenteError {
  return new EntenteError('CAPTURE_NOT_INSTALLED', 'Logical-decoding change capture is not installed in this database; run `entente install-capture --db <url>` (or ChangeCapture.install) first.', cause === undefined ? undefined : { cause });
}

function notInstalled(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  return code === '42P01' || code === '3F000' ? notInstalledError(error) : error;
}
