// Owner side of the write path: reads this partner's committed changes from the connector's capture
// stream (mutations through Entente and direct writes by legacy applications alike), turns them into
// signed batches of ledger transactions, publishes them through the ledger node, and acknowledges the
// capture position only once everything up to it is committed on the ledger. A crash therefore never
// loses a change: the unacknowledged tail is read again on restart, and what had already reached the
// ledger is recognised by its origin (`capture:<position>`) and not published twice.
//
// One signed batch carries every source transaction of one capture read (up to BATCH_TXS_MAX ledger
// transactions; a larger source transaction gets consecutive batches of its own). A batch is committed
// whole, in one block, so each source transaction stays atomic on the ledger; one signature, one
// gossip frame per peer and one signature check per peer serve the whole read instead of each
// transaction. Under load a read holds many transactions; idle, a read holds the one that just committed.
import type { CapturedTransaction, Connector, Row, TableRef, Value } from '../../connectors/connector.ts';
import { BATCH_TXS_MAX, type BatchCommit, type BatchTiming, type LedgerNode } from '../../ledger/node/ledger-node.ts';
import type { Payload, Transaction } from '../../ledger/transaction.ts';
import type { AppliedChange, InMemoryChangeFeed } from '../../schema/api/context.ts';
import type { TypePolicy, UnifiedSchema } from '../../schema/policy.ts';
import type { Logger } from '../server/logger.ts';
import { audiencesOf, keyColumnsOf, transactionForChange } from './change-codec.ts';
import type { GatewayMetrics } from '../server/metrics.ts';

/** Source transactions read per capture call, and changes. */
export const CAPTURE_READ_TRANSACTIONS_MAX = 512;
export const CAPTURE_READ_CHANGES_MAX = 8_000;
/** Source transactions published but not yet committed; reading pauses beyond it. */
export const PUBLISH_IN_FLIGHT_MAX = 2_048;
/**
 * Source transactions on the ledger whose capture position is not acknowledged yet (acknowledging keeps
 * failing: the database refuses, or is slow); reading pauses beyond it. It bounds the tail a restart
 * reads again, which the ledger node must still recognise by origin: it keeps the newest
 * TRANSIENT_ORIGINS_MAX capture origins, more than this plus PUBLISH_IN_FLIGHT_MAX.
 */
export const UNACKNOWLEDGED_SETTLED_MAX = 16_384;
/** Every captured source transaction's ledger origin starts so; see `captureOrigin`. */
export const CAPTURE_ORIGIN_PREFIX = 'capture:';
/** The write origin of every mutation made through a gateway (`m:<partner>:…`, see ledgered-write-path.ts). */
export const MUTATION_ORIGIN_PREFIX = 'm:';
/** Rows per snapshot batch (one signed batch per page), and snapshot batches awaiting commit. */
export const SNAPSHOT_PAGE_ROWS = 1_000;
const SNAPSHOT_BATCHES_IN_FLIGHT_MAX = 16;
/**
 * Payload bytes (all audiences) at which a combined batch closes, so its gossip frames stay far below the
 * transport's frame limit; a single source transaction above it still goes alone, as it always did.
 */
export const PUBLISH_BATCH_PAYLOAD_BYTES_MAX = 4 * 1024 * 1024;
const IDLE_WAIT_MS = 1_000;
/**
 * Least time between two acknowledgements of the capture position. Each costs database work (a
 * transaction, and outbox housekeeping) and was made once per block, i.e. dozens of times a second under
 * load; acknowledging later only means a restart re-reads a slightly longer tail, which origins de-duplicate.
 */
export const ACKNOWLEDGE_INTERVAL_MS = 250;
const RETRY_DELAY_MS = 500;
/** The reason an idle wait is cut short (a nudge, or stopping). */
const WAIT_CUT_SHORT = 'cut short';

export interface PublishedTransaction {
  readonly position: string;
  /** The origin the writer set (e.g. a mutation id); null for legacy applications. */
  readonly sourceOrigin: string | null;
  readonly height: number;
  /** Ledger transaction ids in change order. */
  readonly transactionIds: readonly string[];
  /** With the `trace` option: when (performance.now()) each stage of the way to the ledger happened. */
  readonly trace?: PublishTrace;
}

export interface PublishTrace extends Partial<BatchTiming> {
  /** The capture read that found the transaction started, and returned. */
  readonly readStartedAt: number;
  readonly capturedAt: number;
  /** Its batch was signed and sent to the peers. */
  publishedAt: number;
}

interface InFlight {
  readonly captured: CapturedTransaction;
  /** When (Date.now()) the change committed in the database, when the capture reports it, else when it was read. */
  readonly since: number;
  readonly changes: readonly { readonly type: TypePolicy; readonly index: number }[];
  done: boolean;
  commit: BatchCommit | null;
  trace: PublishTrace | null;
}

export interface CapturePublisherOptions {
  readonly connector: Connector;
  readonly unified: UnifiedSchema;
  readonly partner: string;
  readonly node: LedgerNode;
  /** Secret for the opaque entity keys (derived from the node key). */
  readonly keySecret: Uint8Array;
  readonly changeFeed: InMemoryChangeFeed;
  readonly logger: Logger;
  /** Called for every source transaction once it is on the ledger (or found there after a restart). */
  readonly onPublished?: (published: PublishedTransaction) => void;
  /**
   * Runs before each acknowledgement of the capture position, which waits for it and is skipped when it
   * fails: what onPublished recorded must be durable before the capture stream forgets the changes.
   */
  readonly beforeAcknowledge?: () => Promise<void>;
  /** Record each stage's time in PublishedTransaction.trace (the write-path trace, ENTENTE_TRACE_WRITES). */
  readonly trace?: boolean;
  /** UNACKNOWLEDGED_SETTLED_MAX unless given (tests). */
  readonly unacknowledgedMax?: number;
  /** Counts what this publisher commits (entente_commits_total) and times captured changes that no mutation waits for. */
  readonly metrics?: Pick<GatewayMetrics, 'commits' | 'commitLatencySeconds'>;
}

export class CapturePublisher {
  private readonly o: CapturePublisherOptions;
  private ownTypesCache: { readonly of: readonly TypePolicy[]; readonly byTable: Map<string, TypePolicy> } | null = null;
  private readonly inFlight: InFlight[] = [];
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private acknowledged: string | null = null;
  private wake: (() => void) | null = null;
  /** Cuts the current idle wait short (a local write just committed). */
  private cancelWait: (() => void) | null = null;
  private nudged = false;
  /** A publish failed: the in-flight entries are dropped and read again from the acknowledged position. */
  private republishWanted = false;
  /** The newest position to acknowledge, and the acknowledgement under way (at most one at a time). */
  private acknowledgeWanted: string | null = null;
  private acknowledging: Promise<void> | null = null;
  /** Source transactions settled since the start, and how many of them an acknowledgement covers. */
  private settledCount = 0;
  private acknowledgedCount = 0;
  /** The last acknowledgement failed (logged once per streak). */
  private acknowledgeFailing = false;

  constructor(options: CapturePublisherOptions) {
    this.o = options;
  }

  /** This partner's types by table, rebuilt when `unified` answers with a new version (schema evolution swaps it). */
  private get ownTypes(): Map<string, TypePolicy> {
    const types = this.o.unified.types;
    if (this.ownTypesCache?.of !== types) this.ownTypesCache = { of: types, byTable: new Map(types.filter((type) => type.owner === this.o.partner).map((type) => [tableKey(type.table), type])) };
    return this.ownTypesCache.byTable;
  }

  /** The owned tables capture must watch. */
  get tables(): readonly TableRef[] {
    return [...this.ownTypes.values()].map((type) => type.table);
  }

  async start(): Promise<void> {
    if (this.abort.signal.aborted) return;
    await this.o.connector.capture.install(this.tables);
    this.acknowledged = await this.o.connector.capture.acknowledgedPosition();
    // Rows that existed before capture was installed reach the ledger once, as a snapshot. Capture is
    // installed first, so a change racing the snapshot is also captured and published after it:
    // replicas apply full after-images in ledger order and end at the source's state.
    for (const type of this.ownTypes.values()) {
      if (!(await this.publishSnapshot(type))) return; // stopped meanwhile
    }
    if (this.abort.signal.aborted) return;
    this.loop = this.run();
  }

  /**
   * Publishes the rows of `type` and waits until the ledger holds them; false when the publisher was
   * stopped first. A gateway stopped while it starts (Ctrl-C right after the demo came up) would otherwise
   * wait forever for batches its stopping peers will never commit, and its shutdown with it.
   */
  private async publishSnapshot(type: TypePolicy): Promise<boolean> {
    const marker = `snapshot:${type.name}`;
    if (this.o.node.committedOrigin(marker) !== undefined || audiencesOf(this.o.unified, type).length === 0) return true;
    const keyColumns = keyColumnsOf(type);
    if (keyColumns.length === 0) return true;
    const pageSize = Math.min(this.o.connector.limits.pageSizeMax, SNAPSHOT_PAGE_ROWS);
    const commits: Promise<BatchCommit>[] = [];
    let after: readonly Value[] | undefined;
    let rows = 0;
    for (;;) {
      const page = await this.o.connector.list({ table: type.table, first: pageSize, orderBy: keyColumns.map((column) => ({ column, direction: 'asc' as const })), ...(after === undefined ? {} : { after }) });
      const last = !page.hasNextPage;
      const made = page.rows.map((row) => transactionForChange(this.o.unified, type, { table: type.table, op: 'insert', key: row, after: row, before: null }, `snapshot-part:${type.name}`, this.o.keySecret));
      const transactions = made.map((m) => m.transaction);
      const payloads = made.map((m) => m.payloads);
      if (last) {
        // The marker: a payload-free transaction that tells a restarted gateway the snapshot is done.
        transactions.push({ operation: 'update', entityType: type.name, key: 'snapshot', owner: type.owner, origin: marker, commitments: [] });
        payloads.push([]);
      }
      if (transactions.length > 0) commits.push(this.o.node.publish(transactions, payloads));
      rows += page.rows.length;
      if (last) break;
      const tail = page.rows.at(-1)!;
      after = page.orderColumns.map((term) => tail[term.column] ?? null);
      if (commits.length >= SNAPSHOT_BATCHES_IN_FLIGHT_MAX && !(await settledUnlessAborted(commits.shift()!, this.abort.signal))) return abandon(commits);
      if (this.abort.signal.aborted) return abandon(commits);
    }
    if (!(await settledUnlessAborted(Promise.all(commits), this.abort.signal))) return abandon(commits);
    if (rows > 0) this.o.logger.info({ type: type.name, rows }, 'published the snapshot of existing rows to the ledger');
    return true;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    this.cancelWait?.();
    await this.loop;
    await this.acknowledging;
  }

  /**
   * A write through this gateway just committed in the database: read the capture stream now instead of
   * at the next poll (the poll stays for writes by other applications).
   */
  nudge(): void {
    this.nudged = true;
    this.cancelWait?.();
  }

  private async run(): Promise<void> {
    let after = this.acknowledged;
    const capture = this.o.connector.capture;
    while (!this.abort.signal.aborted) {
      try {
        if (this.republishWanted) {
          this.republishWanted = false;
          await delay(RETRY_DELAY_MS, this.abort.signal);
          after = this.acknowledged;
          this.inFlight.length = 0;
          continue;
        }
        if (this.inFlight.length >= PUBLISH_IN_FLIGHT_MAX || this.settledCount - this.acknowledgedCount >= (this.o.unacknowledgedMax ?? UNACKNOWLEDGED_SETTLED_MAX)) {
          await this.nextSettled();
          continue;
        }
        this.nudged = false;
        const readStartedAt = performance.now();
        const batch = await capture.read(after, { transactionsMax: CAPTURE_READ_TRANSACTIONS_MAX, changesMax: CAPTURE_READ_CHANGES_MAX });
        if (batch.length === 0) {
          if (!this.nudged) await this.idleWait();
          continue;
        }
        this.publish(batch, this.o.trace === true ? { readStartedAt, capturedAt: performance.now(), publishedAt: Number.NaN } : null);
        after = batch.at(-1)!.position;
        // The next read starts at once, although it mostly finds nothing (1.8 reads per mutation at
        // 100/s). Waiting instead for the next nudge or poll was tried: bench:heights, 3 rounds against
        // the code before, p50 1.22x at 100/s and 1.15x at 200/s, CPU per height 1.04-1.08x.
      } catch (error) {
        if (this.abort.signal.aborted) break;
        this.o.logger.warn({ err: error }, 'capture publisher: reading the capture stream failed; retrying');
        await delay(RETRY_DELAY_MS, this.abort.signal);
        // Start again from what the ledger certainly has; origins de-duplicate what was in flight.
        after = this.acknowledged;
        this.inFlight.length = 0;
      }
    }
  }

  /**
   * Waits for the next change, a nudge or stop, whichever comes first. The wait has a signal of its own
   * that stop() aborts too, not AbortSignal.any() over the publisher's: that links every wait to the
   * publisher's signal for good on Node 20 (1M waits left 1M links and 54 MiB more heap after GC), and
   * under load a gateway waits here dozens of times a second.
   */
  private async idleWait(): Promise<void> {
    if (this.abort.signal.aborted) return;
    const wait = new AbortController();
    // A reason of our own: abort() without one builds a DOMException with a stack trace, and a nudge
    // comes with every mutation through this gateway.
    this.cancelWait = () => wait.abort(WAIT_CUT_SHORT);
    try {
      await this.o.connector.capture.waitForChanges(IDLE_WAIT_MS, wait.signal);
    } finally {
      this.cancelWait = null;
    }
  }

  /** Publishes one capture read: its source transactions, in order, in as few signed batches as fit. */
  private publish(read: readonly CapturedTransaction[], trace: PublishTrace | null): void {
    const readAt = Date.now();
    let transactions: Transaction[] = [];
    let payloads: Payload[][] = [];
    let members: { entry: InFlight; start: number; count: number }[] = [];
    let payloadBytes = 0;
    const flush = (): void => {
      if (transactions.length === 0) return;
      this.publishBatch(transactions, payloads, members);
      transactions = [];
      payloads = [];
      members = [];
      payloadBytes = 0;
    };
    for (const captured of read) {
      const origin = captureOrigin(captured.position);
      const made: { transaction: Transaction; payloads: Payload[] }[] = [];
      const changes: { type: TypePolicy; index: number }[] = [];
      captured.changes.forEach((change, index) => {
        const type = this.ownTypes.get(tableKey(change.table));
        if (type === undefined) return;
        made.push(transactionForChange(this.o.unified, type, change, origin, this.o.keySecret, index));
        changes.push({ type, index });
      });
      const committedAt = captured.committedAt === null ? Number.NaN : Date.parse(captured.committedAt);
      const entry: InFlight = { captured, since: Number.isFinite(committedAt) ? committedAt : readAt, changes, done: false, commit: null, trace: trace === null ? null : { ...trace } };
      this.inFlight.push(entry);
      if (made.length === 0) {
        entry.done = true;
        entry.commit = { height: this.o.node.height, transactionIds: [] };
        continue;
      }
      if (this.o.node.committedOrigin(origin) !== undefined) {
        // Already on the ledger (a restart re-read it): the payloads are rebuilt exactly (deterministic
        // salts), so partners that missed the gossip can still fetch them from this owner.
        const transactionIds = this.o.node.recoverPayloads(made.map((m) => m.transaction), made.map((m) => m.payloads));
        const heights = transactionIds.map((id) => this.o.node.committedTransaction(id));
        if (heights.every((height) => height !== undefined)) {
          entry.done = true;
          entry.commit = { height: Math.max(...heights), transactionIds };
          continue;
        }
        // Only the first batches of a source transaction split over several made it before the stop:
        // published again as a whole, the node answers the committed part from its ids and commits the rest.
      }
      let bytes = 0;
      for (const m of made) for (const p of m.payloads) bytes += p.data.length;
      if (transactions.length + made.length > BATCH_TXS_MAX || payloadBytes + bytes > PUBLISH_BATCH_PAYLOAD_BYTES_MAX) flush();
      if (made.length > BATCH_TXS_MAX) {
        // Larger than one batch: consecutive batches of its own, kept in order; done when all are in.
        this.publishLarge(entry, made);
        continue;
      }
      payloadBytes += bytes;
      members.push({ entry, start: transactions.length, count: made.length });
      for (const m of made) {
        transactions.push(m.transaction);
        payloads.push(m.payloads);
      }
    }
    flush();
    this.settle();
  }

  private publishBatch(transactions: Transaction[], payloads: Payload[][], members: readonly { entry: InFlight; start: number; count: number }[]): void {
    const publishing = this.o.node.publish(transactions, payloads);
    const publishedAt = performance.now();
    for (const { entry } of members) if (entry.trace !== null) entry.trace.publishedAt = publishedAt;
    publishing.then(
      (commit) => {
        for (const { entry, start, count } of members) {
          entry.done = true;
          entry.commit = { height: commit.height, transactionIds: commit.transactionIds.slice(start, start + count) };
          if (entry.trace !== null && commit.timing !== undefined) Object.assign(entry.trace, commit.timing);
          this.countCommitted(entry);
        }
        this.settle();
      },
      (error: unknown) => this.publishFailed(error, members.map((m) => m.entry)),
    );
  }

  private publishLarge(entry: InFlight, made: readonly { transaction: Transaction; payloads: Payload[] }[]): void {
    const parts: Promise<BatchCommit>[] = [];
    for (let start = 0; start < made.length; start += BATCH_TXS_MAX) {
      const slice = made.slice(start, start + BATCH_TXS_MAX);
      parts.push(this.o.node.publish(slice.map((m) => m.transaction), slice.map((m) => m.payloads)));
    }
    Promise.all(parts).then(
      (commits) => {
        entry.done = true;
        entry.commit = { height: Math.max(...commits.map((c) => c.height)), transactionIds: commits.flatMap((c) => c.transactionIds) };
        this.countCommitted(entry);
        this.settle();
      },
      (error: unknown) => this.publishFailed(error, [entry]),
    );
  }

  /** Age of the oldest captured change not yet on the ledger, in seconds; 0 when none waits. */
  lagSeconds(): number {
    const oldest = this.inFlight.find((entry) => !entry.done);
    return oldest === undefined ? 0 : Math.max(0, Date.now() - oldest.since) / 1000;
  }

  /**
   * A source transaction this publisher put on the ledger: its transactions counted by origin, and a
   * captured change's latency observed (a mutation's is observed by the write path, from its arrival).
   */
  private countCommitted(entry: InFlight): void {
    const metrics = this.o.metrics;
    if (metrics === undefined) return;
    const mutation = entry.captured.origin?.startsWith(MUTATION_ORIGIN_PREFIX) === true;
    metrics.commits.inc({ origin: mutation ? 'mutation' : 'capture' }, entry.commit!.transactionIds.length);
    if (!mutation) metrics.commitLatencySeconds.observe({ origin: 'capture' }, Math.max(0, Date.now() - entry.since) / 1000);
  }

  private publishFailed(error: unknown, entries: readonly InFlight[]): void {
    if (this.abort.signal.aborted) return;
    this.o.logger.warn({ err: error, positions: entries.map((entry) => entry.captured.position) }, 'capture publisher: publishing failed; the change stays captured and is published again');
    // The failed entries would hold back every later one forever: read again from the last settled
    // position (the ledger node answers republished changes that meanwhile committed at once).
    this.republishWanted = true;
    this.wake?.();
    this.cancelWait?.();
  }

  /** Completes committed source transactions in capture order and acknowledges the newest contiguous one. */
  private settle(): void {
    let last: string | null = null;
    while (this.inFlight.length > 0 && this.inFlight[0]!.done) {
      const entry = this.inFlight.shift()!;
      last = entry.captured.position;
      this.settledCount += 1;
      this.announce(entry);
    }
    this.wake?.();
    if (last !== null) {
      this.acknowledged = last;
      this.acknowledgeSoon(last);
    }
  }

  /**
   * One acknowledgement at a time, always of the newest settled position, at most one per
   * ACKNOWLEDGE_INTERVAL_MS: a block settles many source transactions, and acknowledging each (or each
   * block) would spend a database transaction per change (or per block).
   */
  private acknowledgeSoon(position: string): void {
    this.acknowledgeWanted = position;
    if (this.acknowledging !== null) return;
    this.acknowledging = (async () => {
      while (this.acknowledgeWanted !== null) {
        const next = this.acknowledgeWanted;
        // Set together with acknowledgeWanted in settle(): the count of source transactions up to `next`.
        const covered = this.settledCount;
        this.acknowledgeWanted = null;
        try {
          await this.o.beforeAcknowledge?.();
          await this.o.connector.capture.acknowledge(next);
          this.acknowledgedCount = covered;
          if (this.acknowledgeFailing) this.o.logger.info({ position: next }, 'capture publisher: acknowledging the capture position works again');
          this.acknowledgeFailing = false;
          this.wake?.();
        } catch (error) {
          if (!this.acknowledgeFailing) this.o.logger.warn({ err: error }, 'capture publisher: acknowledging the capture position failed; retrying (reading pauses if too much waits for it)');
          this.acknowledgeFailing = true;
          // Retried until it works, with the newest position by then: once too much waits, nothing new
          // settles that would ask again.
          if (!this.abort.signal.aborted) this.acknowledgeWanted ??= next;
        }
        // Positions settled meanwhile are acknowledged together; stopping cuts the pause short.
        if (!this.abort.signal.aborted) await delay(ACKNOWLEDGE_INTERVAL_MS, this.abort.signal);
      }
      this.acknowledging = null;
    })();
  }

  private announce(entry: InFlight): void {
    const commit = entry.commit!;
    const published: PublishedTransaction = { position: entry.captured.position, sourceOrigin: entry.captured.origin, height: commit.height, transactionIds: commit.transactionIds, ...(entry.trace === null ? {} : { trace: entry.trace }) };
    entry.changes.forEach(({ type, index }, i) => {
      const change = entry.captured.changes[index]!;
      const row: Row = change.after ?? change.before ?? change.key;
      const applied: AppliedChange = { type: type.name, op: change.op, row, deleted: change.op === 'delete', ledgerHeight: commit.height, transactionId: commit.transactionIds[i] ?? null };
      this.o.changeFeed.publish(applied);
    });
    this.o.onPublished?.(published);
  }

  private nextSettled(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = null;
        resolve();
      };
      if (this.abort.signal.aborted) resolve();
    });
  }
}

/** The ledger origin of a captured source transaction: how a restart recognises what already committed. */
export function captureOrigin(position: string): string {
  return `${CAPTURE_ORIGIN_PREFIX}${position}`;
}

function tableKey(table: TableRef): string {
  return `${table.schema}\u0000${table.name}`;
}

/** Snapshot batches left waiting at a stop: their late rejections (the node stopping) are dropped. Returns false. */
function abandon(commits: readonly Promise<unknown>[]): false {
  for (const commit of commits) commit.catch(() => undefined);
  return false;
}

/**
 * True once `work` has settled (its rejection thrown), false as soon as `signal` aborts. An abandoned
 * `work` may still reject later (its node stopping): that rejection is dropped, not left unhandled.
 */
async function settledUnlessAborted(work: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return false;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const settled = work.then(() => true as const);
  try {
    const outcome = await Promise.race([settled, aborted]);
    if (!outcome) settled.catch(() => undefined);
    return outcome;
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

/**
 * Resolves after `ms`, or at once when `signal` aborts. The abort listener goes with the timer: the
 * publisher's signal lives as long as the gateway, and the acknowledgement loop waits here four times a
 * second under load, so a listener left behind per wait grew without bound.
 */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
