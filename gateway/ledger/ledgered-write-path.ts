// The gateway's write path. A mutation on a type this partner owns commits in its own database (the
// change and its capture in one transaction); the capture publisher carries it to the ledger, and the
// mutation answers when the client's sync mode is met. A mutation on a type another partner owns is
// forwarded — signed with this node's key, on behalf of the caller — to the owner's gateway, which
// decides with its own rules; the answer comes once this partner's replica shows the change, so the
// caller reads its own write.
//
// Idempotency: the key is recorded in the owner's database in the same transaction as the change
// (table `entente_idempotency` beside the replicas), so a retry after a timeout or crash never applies
// the change twice; it answers with the entity's current state and the first attempt's ledger position
// (from memory, or after a restart from the row, where ./idempotency-positions.ts records it).
// Keys are kept for a retention period (limits.idempotencyKeyRetentionHours, ./idempotency-retention.ts).
import { randomUUID } from 'node:crypto';
import { EntenteError, isEntenteError } from '../../common/errors.ts';
import type { Connector, ReplicaTableDefinition, Row, WriteOperation } from '../../connectors/connector.ts';
import type { LedgerNode } from '../../ledger/node/ledger-node.ts';
import type { WriteOptions, WriteOutcome, WritePath, WriteRequest } from '../../schema/api/context.ts';
import type { UnifiedSchema } from '../../schema/policy.ts';
import { replicaTableName } from '../../schema/replica.ts';
import { MUTATION_ORIGIN_PREFIX, type PublishedTransaction } from './capture-publisher.ts';
import { keyColumnsOf } from './change-codec.ts';
import type { IdempotencyPositions, LedgerPosition } from './idempotency-positions.ts';
import type { MutationForwarder } from './mutation-forwarder.ts';
import type { ReplicaApplier } from './replica-applier.ts';
import type { WriteTrace } from './write-trace.ts';
import type { GatewayMetrics } from '../server/metrics.ts';

export const IDEMPOTENCY_TABLE = 'entente_idempotency';
export const IDEMPOTENCY_KEY_LENGTH_MAX = 200;
/** How long a mutation waits for the ledger before it answers with an error (the change is not lost). */
export const LEDGER_WAIT_MS_DEFAULT = 30_000;
const PENDING_WAITERS_MAX = 100_000;
const RECENT_PUBLISHED_MAX = 100_000;

export const idempotencyTable: ReplicaTableDefinition = {
  name: IDEMPOTENCY_TABLE,
  columns: [
    { name: 'idempotency_key', type: { kind: 'scalar', scalar: 'String' }, nullable: false },
    { name: 'type_name', type: { kind: 'scalar', scalar: 'String' }, nullable: false },
    { name: 'row_key', type: { kind: 'scalar', scalar: 'JSON' }, nullable: true },
    { name: 'origin', type: { kind: 'scalar', scalar: 'String' }, nullable: false },
    // When the key was recorded: keys past the retention are deleted (./idempotency-retention.ts). Nullable
    // so that a table from before the column gets it added; such rows count as old as the gateway's start.
    { name: 'created_at', type: { kind: 'scalar', scalar: 'DateTime' }, nullable: true },
    // Where the first attempt landed on the ledger, once it did (./idempotency-positions.ts): a retry after
    // a restart names the same block. Null until then, and in rows from before these columns.
    { name: 'ledger_height', type: { kind: 'scalar', scalar: 'BigInt' }, nullable: true },
    { name: 'transaction_id', type: { kind: 'scalar', scalar: 'String' }, nullable: true },
  ],
  primaryKey: ['idempotency_key'],
};

export interface LedgeredWritePathOptions {
  /** Commit latency of the mutations that wait for the ledger, as entente_commit_latency_seconds{origin="mutation"}. */
  readonly metrics?: Pick<GatewayMetrics, 'commitLatencySeconds'>;
  readonly connector: Connector;
  readonly unified: UnifiedSchema;
  readonly partner: string;
  readonly node: LedgerNode;
  readonly applier: ReplicaApplier;
  readonly forwarder: MutationForwarder;
  readonly ledgerWaitMs?: number;
  /** Called once an owned write committed in the database (the capture publisher reads at once). */
  readonly onCommittedLocally?: () => void;
  /** Times each owned mutation's stages (ENTENTE_TRACE_WRITES; the capture publisher must trace too). */
  readonly trace?: WriteTrace;
  /** Records where keyed mutations landed, for retries after a restart (flushed by the capture publisher). */
  readonly positions?: IdempotencyPositions;
}

export class LedgeredWritePath implements WritePath {
  private readonly o: LedgeredWritePathOptions;
  /** Write origin → the mutation waiting for its source transaction to reach the ledger. */
  private readonly waiters = new Map<string, ((published: PublishedTransaction) => void)[]>();
  /** Recently published mutations by write origin, so an idempotent retry can name the first attempt's block. */
  private readonly recent = new Map<string, PublishedTransaction>();

  constructor(options: LedgeredWritePathOptions) {
    this.o = options;
  }

  /** Fed by the capture publisher for every source transaction on the ledger. */
  published(published: PublishedTransaction): void {
    if (published.sourceOrigin === null) return;
    const keyedPrefix = `${MUTATION_ORIGIN_PREFIX}${this.o.partner}:k:`;
    if (published.sourceOrigin.startsWith(keyedPrefix)) {
      this.recent.set(published.sourceOrigin, published);
      if (this.recent.size > RECENT_PUBLISHED_MAX) this.recent.delete(this.recent.keys().next().value!);
      this.o.positions?.record(published.sourceOrigin.slice(keyedPrefix.length), { height: published.height, transactionId: published.transactionIds[0] ?? null });
    }
    const waiting = this.waiters.get(published.sourceOrigin);
    if (waiting === undefined) return;
    this.waiters.delete(published.sourceOrigin);
    for (const waiter of waiting) waiter(published);
  }

  async write(request: WriteRequest): Promise<WriteOutcome> {
    const options = request.options ?? {};
    const key = options.idempotencyKey;
    if (key !== undefined && (key.length === 0 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX)) throw new EntenteError('USAGE', `idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_LENGTH_MAX} characters`);
    if (request.type.owner !== this.o.partner) return this.forward(request, options);
    return this.writeOwned(request, options);
  }

  private async writeOwned(request: WriteRequest, options: WriteOptions): Promise<WriteOutcome> {
    const { connector } = this.o;
    const startedAt = performance.now();
    const origin = `${MUTATION_ORIGIN_PREFIX}${this.o.partner}:${options.idempotencyKey === undefined ? randomUUID() : `k:${options.idempotencyKey}`}`;
    const syncMode = options.syncMode ?? 'ledger';
    if (this.waiters.size >= PENDING_WAITERS_MAX) throw new EntenteError('LIMIT_EXCEEDED', `${PENDING_WAITERS_MAX} mutations are already waiting for the ledger; retry shortly`);
    // Registered before the write: a retry shares its origin with the first attempt, so while that attempt
    // is still on its way to the ledger, this wait ends with it.
    const onLedger = syncMode === 'database' ? null : this.awaitPublished(origin);
    const operations: WriteOperation[] = [request.operation];
    if (options.idempotencyKey !== undefined) {
      const knownKey = knownRowKey(request);
      operations.unshift({ op: 'insert', table: connector.replica.tableRef(IDEMPOTENCY_TABLE), values: { idempotency_key: options.idempotencyKey, type_name: request.type.name, row_key: knownKey === null ? null : JSON.stringify(knownKey), origin, created_at: new Date().toISOString() } });
    }
    let row: Row;
    try {
      const results = await connector.write(operations, { origin });
      row = results.at(-1)!.row;
      this.o.onCommittedLocally?.();
    } catch (error) {
      const replay = options.idempotencyKey !== undefined && isEntenteError(error, 'DB_CONFLICT') ? await this.replay(request, options.idempotencyKey) : null;
      if (replay === null || replay.ledgerHeight !== null) onLedger?.cancel();
      if (replay !== null) return this.honourSyncMode(replay, syncMode, onLedger);
      throw error;
    }
    if (options.idempotencyKey !== undefined && knownRowKey(request) === null) {
      // Generated keys are known only now; a crash before this line leaves the retry without the row.
      const rowKey = Object.fromEntries(keyColumnsOf(request.type).map((column) => [column, row[column] ?? null]));
      await connector.write([{ op: 'update', table: connector.replica.tableRef(IDEMPOTENCY_TABLE), key: { idempotency_key: options.idempotencyKey }, values: { row_key: JSON.stringify(rowKey) } }]);
    }
    if (onLedger === null) return { row, transactionId: null, ledgerHeight: null };
    const committedAt = performance.now();
    const published = await onLedger.promise;
    this.o.metrics?.commitLatencySeconds.observe({ origin: 'mutation' }, (performance.now() - startedAt) / 1000);
    this.o.trace?.record(startedAt, committedAt, published.height, published.trace, performance.now());
    if (syncMode === 'all-partners') await this.o.node.appliedEverywhere(published.height);
    return { row, transactionId: published.transactionIds[0] ?? null, ledgerHeight: published.height };
  }

  /** A retried key: the first attempt's row as it is now, and its ledger position once known. */
  private async replay(request: WriteRequest, idempotencyKey: string): Promise<WriteOutcome | null> {
    const { connector } = this.o;
    const [record] = await connector.loadByKeys(connector.replica.tableRef(IDEMPOTENCY_TABLE), ['idempotency_key'], [[idempotencyKey]]);
    if (record === null || record === undefined) return null;
    if (record['type_name'] !== request.type.name) throw new EntenteError('USAGE', `idempotencyKey "${idempotencyKey}" was already used for a ${String(record['type_name'])} mutation; use a new key for a new change`);
    const rowKey = typeof record['row_key'] === 'string' ? (JSON.parse(record['row_key']) as Row) : (record['row_key'] as Row | null);
    // The first attempt's block: from memory when it was published since this gateway started, else as
    // its idempotency row recorded it.
    const recent = this.recent.get(String(record['origin']));
    const first = recent === undefined ? (recordedPosition(record) ?? this.o.positions?.pending(idempotencyKey) ?? null) : { height: recent.height, transactionId: recent.transactionIds[0] ?? null };
    if (rowKey === null) throw new EntenteError('DB_CONFLICT', `the change with idempotencyKey "${idempotencyKey}" was applied, but its result was not recorded (the gateway stopped in between); query the entity to read it`);
    const columns = keyColumnsOf(request.type);
    const [row] = await connector.loadByKeys(request.type.table, columns, [columns.map((column) => rowKey[column] ?? null)]);
    return { row: row ?? rowKey, transactionId: first?.transactionId ?? null, ledgerHeight: first?.height ?? null };
  }

  /**
   * A retry answers like the first attempt, under the retry's own sync mode. When the first attempt's block
   * is not known yet (in memory, recorded in its idempotency row, or about to be), that attempt is still on
   * its way to the ledger: committed in the database, perhaps by a gateway that stopped since, and read
   * again from its capture stream. The retry waits for it then (`onLedger`, the wait registered for the
   * shared origin before the write), as a first attempt would, and errs the same way if it does not come
   * within the ledger wait. For ALL_PARTNERS it waits for every gateway too.
   */
  private async honourSyncMode(replay: WriteOutcome, syncMode: NonNullable<WriteOptions['syncMode']>, onLedger: { promise: Promise<PublishedTransaction> } | null): Promise<WriteOutcome> {
    if (syncMode === 'database') return replay;
    let height = replay.ledgerHeight;
    let transactionId = replay.transactionId;
    if (height === null && onLedger !== null) {
      const published = await onLedger.promise;
      height = published.height;
      transactionId = published.transactionIds[0] ?? null;
    }
    if (height !== null && syncMode === 'all-partners') await this.o.node.appliedEverywhere(height);
    return { row: replay.row, transactionId, ledgerHeight: height };
  }

  private awaitPublished(origin: string): { promise: Promise<PublishedTransaction>; cancel(): void } {
    const waitMs = this.o.ledgerWaitMs ?? LEDGER_WAIT_MS_DEFAULT;
    let waiter: ((published: PublishedTransaction) => void) | null = null;
    let timer: NodeJS.Timeout | null = null;
    const remove = (): void => {
      const list = this.waiters.get(origin);
      if (list === undefined || waiter === null) return;
      const index = list.indexOf(waiter);
      if (index >= 0) list.splice(index, 1);
      if (list.length === 0) this.waiters.delete(origin);
    };
    const promise = new Promise<PublishedTransaction>((resolve, reject) => {
      timer = setTimeout(() => {
        remove();
        reject(new EntenteError('UNAVAILABLE', `the change is committed in the database but did not reach the ledger within ${waitMs} ms (are enough partners' gateways up?); it is not lost and will be published — query it later, or use syncMode: DATABASE`));
      }, waitMs);
      const resolveWaiter = (published: PublishedTransaction): void => {
        if (timer !== null) clearTimeout(timer);
        resolve(published);
      };
      waiter = resolveWaiter;
      const list = this.waiters.get(origin);
      if (list === undefined) this.waiters.set(origin, [resolveWaiter]);
      else list.push(resolveWaiter);
    });
    // The wait starts before the database write, and nobody awaits it when that write fails (an
    // idempotent retry's DB_CONFLICT) or outlasts the wait: an unobserved rejection would end the process.
    promise.catch(() => undefined);
    return {
      promise,
      cancel: () => {
        if (timer !== null) clearTimeout(timer);
        remove();
      },
    };
  }

  private async forward(request: WriteRequest, options: WriteOptions): Promise<WriteOutcome> {
    const answer = await this.o.forwarder.forward(request, options);
    // Read-your-writes: answer once this partner's replica holds the change.
    if (answer.ledgerHeight !== null) await this.o.applier.waitForHeight(answer.ledgerHeight);
    const { connector } = this.o;
    const columns = keyColumnsOf(request.type);
    const table = connector.replica.tableRef(replicaTableName(request.type));
    const [row] = request.operation.op === 'delete' ? [null] : await connector.loadByKeys(table, columns, [columns.map((column) => answer.key[column] ?? null)]);
    return { row: row ?? answer.key, transactionId: answer.transactionId, ledgerHeight: answer.ledgerHeight };
  }
}

/** The entity's key when the request names it (updates, deletes, inserts with the key given). */
function knownRowKey(request: WriteRequest): Row | null {
  const columns = keyColumnsOf(request.type);
  const operation = request.operation;
  const source: Row = operation.op === 'update' || operation.op === 'delete' ? operation.key : operation.values;
  if (!columns.every((column) => source[column] !== undefined && source[column] !== null)) return null;
  return Object.fromEntries(columns.map((column) => [column, source[column]!]));
}

/** The ledger position an idempotency row recorded, if any. */
function recordedPosition(record: Row): LedgerPosition | null {
  const height = record['ledger_height'];
  if (height === null || height === undefined) return null;
  const transactionId = record['transaction_id'];
  return { height: Number(height), transactionId: typeof transactionId === 'string' ? transactionId : null };
}
