// Owner side of the write path: reads this partner's committed changes from the connector's capture
// stream (mutations through Entente and direct writes by legacy applications alike), turns each source
// transaction into one signed batch of ledger transactions, publishes it through the ledger node, and
// acknowledges the capture position only once everything up to it is committed on the ledger. A crash
// therefore never loses a change: the unacknowledged tail is read again on restart, and what had
// already reached the ledger is recognised by its origin (`capture:<position>`) and not published twice.
import type { CapturedTransaction, Connector, Row, TableRef, Value } from '../../connectors/connector.ts';
import { BATCH_TXS_MAX, type BatchCommit, type LedgerNode } from '../../ledger/node/ledger-node.ts';
import type { Payload, Transaction } from '../../ledger/transaction.ts';
import type { AppliedChange, InMemoryChangeFeed } from '../../schema/api/context.ts';
import type { TypePolicy, UnifiedSchema } from '../../schema/policy.ts';
import type { Logger } from '../server/logger.ts';
import { audiencesOf, keyColumnsOf, transactionForChange } from './change-codec.ts';

/** Source transactions read per capture call, and changes. */
export const CAPTURE_READ_TRANSACTIONS_MAX = 512;
export const CAPTURE_READ_CHANGES_MAX = 8_000;
/** Source transactions published but not yet committed; reading pauses beyond it. */
export const PUBLISH_IN_FLIGHT_MAX = 2_048;
/** Rows per snapshot batch (one signed batch per page), and snapshot batches awaiting commit. */
export const SNAPSHOT_PAGE_ROWS = 1_000;
const SNAPSHOT_BATCHES_IN_FLIGHT_MAX = 16;
const IDLE_WAIT_MS = 1_000;
const RETRY_DELAY_MS = 500;

export interface PublishedTransaction {
  readonly position: string;
  /** The origin the writer set (e.g. a mutation id); null for legacy applications. */
  readonly sourceOrigin: string | null;
  readonly height: number;
  /** Ledger transaction ids in change order. */
  readonly transactionIds: readonly string[];
}

interface InFlight {
  readonly captured: CapturedTransaction;
  readonly changes: readonly { readonly type: TypePolicy; readonly index: number }[];
  done: boolean;
  commit: BatchCommit | null;
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
}

export class CapturePublisher {
  private readonly o: CapturePublisherOptions;
  private ownTypesCache: { readonly of: readonly TypePolicy[]; readonly byTable: Map<string, TypePolicy> } | null = null;
  private readonly inFlight: InFlight[] = [];
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private acknowledged: string | null = null;
  private wake: (() => void) | null = null;

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
    await this.o.connector.capture.install(this.tables);
    this.acknowledged = await this.o.connector.capture.acknowledgedPosition();
    // Rows that existed before capture was installed reach the ledger once, as a snapshot. Capture is
    // installed first, so a change racing the snapshot is also captured and published after it:
    // replicas apply full after-images in ledger order and end at the source's state.
    for (const type of this.ownTypes.values()) await this.publishSnapshot(type);
    this.loop = this.run();
  }

  private async publishSnapshot(type: TypePolicy): Promise<void> {
    const marker = `snapshot:${type.name}`;
    if (this.o.node.committedOrigin(marker) !== undefined || audiencesOf(this.o.unified, type).length === 0) return;
    const keyColumns = keyColumnsOf(type);
    if (keyColumns.length === 0) return;
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
      if (commits.length >= SNAPSHOT_BATCHES_IN_FLIGHT_MAX) await commits.shift();
    }
    await Promise.all(commits);
    if (rows > 0) this.o.logger.info({ type: type.name, rows }, 'published the snapshot of existing rows to the ledger');
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let after = this.acknowledged;
    const capture = this.o.connector.capture;
    while (!this.abort.signal.aborted) {
      try {
        if (this.inFlight.length >= PUBLISH_IN_FLIGHT_MAX) {
          await this.nextSettled();
          continue;
        }
        const batch = await capture.read(after, { transactionsMax: CAPTURE_READ_TRANSACTIONS_MAX, changesMax: CAPTURE_READ_CHANGES_MAX });
        if (batch.length === 0) {
          await capture.waitForChanges(IDLE_WAIT_MS, this.abort.signal);
          continue;
        }
        for (const captured of batch) {
          this.publish(captured);
          after = captured.position;
        }
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

  private publish(captured: CapturedTransaction): void {
    const origin = `capture:${captured.position}`;
    const transactions: Transaction[] = [];
    const payloads: Payload[][] = [];
    const changes: { type: TypePolicy; index: number }[] = [];
    captured.changes.forEach((change, index) => {
      const type = this.ownTypes.get(tableKey(change.table));
      if (type === undefined) return;
      const made = transactionForChange(this.o.unified, type, change, origin, this.o.keySecret);
      transactions.push(made.transaction);
      payloads.push(made.payloads);
      changes.push({ type, index });
    });
    const entry: InFlight = { captured, changes, done: false, commit: null };
    this.inFlight.push(entry);
    const committedAt = this.o.node.committedOrigin(origin);
    if (transactions.length === 0 || committedAt !== undefined) {
      entry.done = true;
      entry.commit = { height: committedAt ?? this.o.node.height, transactionIds: [] };
      this.settle();
      return;
    }
    // A source transaction larger than one batch goes out as consecutive batches (kept in order).
    const parts: Promise<BatchCommit>[] = [];
    for (let start = 0; start < transactions.length; start += BATCH_TXS_MAX) {
      parts.push(this.o.node.publish(transactions.slice(start, start + BATCH_TXS_MAX), payloads.slice(start, start + BATCH_TXS_MAX)));
    }
    Promise.all(parts).then(
      (commits) => {
        entry.done = true;
        entry.commit = { height: Math.max(...commits.map((c) => c.height)), transactionIds: commits.flatMap((c) => c.transactionIds) };
        this.settle();
      },
      (error: unknown) => {
        if (this.abort.signal.aborted) return;
        this.o.logger.warn({ err: error, position: captured.position }, 'capture publisher: publishing failed; the change stays captured and is published again');
      },
    );
  }

  /** Completes committed source transactions in capture order and acknowledges the newest contiguous one. */
  private settle(): void {
    let last: string | null = null;
    while (this.inFlight.length > 0 && this.inFlight[0]!.done) {
      const entry = this.inFlight.shift()!;
      last = entry.captured.position;
      this.announce(entry);
    }
    this.wake?.();
    if (last !== null) {
      this.acknowledged = last;
      this.o.connector.capture.acknowledge(last).catch((error: unknown) => this.o.logger.warn({ err: error }, 'capture publisher: acknowledging the capture position failed; it is retried with the next one'));
    }
  }

  private announce(entry: InFlight): void {
    const commit = entry.commit!;
    const published: PublishedTransaction = { position: entry.captured.position, sourceOrigin: entry.captured.origin, height: commit.height, transactionIds: commit.transactionIds };
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

function tableKey(table: TableRef): string {
  return `${table.schema}\u0000${table.name}`;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
