// What generated resolvers talk to: narrow interfaces carried in the GraphQL context, one per concern.
// The gateway supplies its own implementations (the ledgered write path with forwarding, the change
// feed of applied ledger transactions, the verified block store); the defaults here let the generated
// API run on a single database, for tests and `entente init` trials.
import type { Connector, Row, WriteOperation } from '../../connectors/connector.ts';
import { EntenteError } from '../../common/errors.ts';
import type { Caller, TypePolicy } from '../policy.ts';

export interface SchemaContext {
  /** Who is asking; the gateway authenticates it. Decisions on rows and fields use it. */
  readonly caller: Caller;
  readonly connector: Connector;
  readonly writePath: WritePath;
  readonly changeFeed: ChangeFeed;
  readonly ledger: LedgerReader;
}

// ─── Writes ───────────────────────────────────────────────────────────────────────────────────

export interface WriteOptions {
  /** 'database': answer once committed in the owner's database; 'ledger' (default): once in a committed block; 'all-partners': once every gateway applied it. */
  readonly syncMode?: 'database' | 'ledger' | 'all-partners';
  /** Makes retries exactly-once: a second write with the same key returns the first one's outcome. */
  readonly idempotencyKey?: string;
}

export interface WriteRequest {
  readonly type: TypePolicy;
  /** Addressed to the owner's table (column names), already checked against the caller's grants. */
  readonly operation: WriteOperation;
  readonly caller: Caller;
  readonly options?: WriteOptions;
}

export interface WriteOutcome {
  /** The row after the write (insert, update) or before it (delete), column names. */
  readonly row: Row;
  readonly transactionId: string | null;
  readonly ledgerHeight: number | null;
}

export interface WritePath {
  write(request: WriteRequest): Promise<WriteOutcome>;
}

/**
 * Writes straight to this partner's own tables and reports them on `changeFeed`. Types owned by other
 * partners are refused: only the owner's gateway may change them (the gateway forwards such writes).
 */
export function directWritePath(connector: Connector, partner: string, changeFeed?: InMemoryChangeFeed): WritePath {
  return {
    async write(request) {
      if (request.type.owner !== partner) {
        throw new EntenteError('FORBIDDEN', `type ${request.type.name} is owned by partner "${request.type.owner}"; only its gateway changes it. Send the mutation through an Entente gateway, which forwards it to the owner.`);
      }
      const [result] = await connector.write([request.operation], { origin: `entente:${request.caller.partner}` });
      if (result === undefined) throw new EntenteError('DB_CONFLICT', 'the database reported no result for the write; retry it.');
      changeFeed?.publish(appliedChangeOf(request, result.row));
      return { row: result.row, transactionId: null, ledgerHeight: null };
    },
  };
}

function appliedChangeOf(request: WriteRequest, row: Row): AppliedChange {
  const { operation, type } = request;
  const op = operation.op === 'upsert' ? 'update' : operation.op;
  return { type: type.name, op, row, deleted: op === 'delete', ledgerHeight: null, transactionId: null };
}

// ─── Changes ──────────────────────────────────────────────────────────────────────────────────

/** A change applied to this gateway's database (own table or replica), as subscriptions see it. */
export interface AppliedChange {
  readonly type: string;
  readonly op: 'insert' | 'update' | 'delete';
  /** The row after the change; for deletes, the row as it was (at least its key and row-rule columns). */
  readonly row: Row;
  readonly deleted: boolean;
  readonly ledgerHeight: number | null;
  readonly transactionId: string | null;
}

export interface ChangeFeed {
  /** Changes to one type, from now on, until `signal` aborts or the consumer stops iterating. */
  subscribe(typeName: string, signal?: AbortSignal): AsyncIterable<AppliedChange>;
}

export const changeQueueLengthMax = 1_000;

/**
 * Fan-out in memory. A subscriber that falls `queueLengthMax` changes behind is ended with an error
 * (the gateway reports the reason to the client) instead of slowing the publisher or the others.
 */
export class InMemoryChangeFeed implements ChangeFeed {
  private readonly subscribers = new Set<Subscriber>();
  private readonly queueLengthMax: number;

  constructor(queueLengthMax = changeQueueLengthMax) {
    this.queueLengthMax = queueLengthMax;
  }

  publish(change: AppliedChange): void {
    for (const subscriber of this.subscribers) if (subscriber.typeName === change.type) subscriber.push(change);
  }

  subscriberCount(): number {
    return this.subscribers.size;
  }

  subscribe(typeName: string, signal?: AbortSignal): AsyncIterable<AppliedChange> {
    const subscriber = new Subscriber(typeName, this.queueLengthMax, () => this.subscribers.delete(subscriber));
    this.subscribers.add(subscriber);
    signal?.addEventListener('abort', () => subscriber.close(), { once: true });
    return subscriber;
  }
}

class Subscriber implements AsyncIterable<AppliedChange>, AsyncIterator<AppliedChange> {
  readonly typeName: string;
  private readonly queue: AppliedChange[] = [];
  private waiting: ((result: IteratorResult<AppliedChange>) => void) | null = null;
  private failWaiting: ((error: Error) => void) | null = null;
  private closed = false;
  private overflow = false;
  private readonly queueLengthMax: number;
  private readonly onClose: () => void;

  constructor(typeName: string, queueLengthMax: number, onClose: () => void) {
    this.typeName = typeName;
    this.queueLengthMax = queueLengthMax;
    this.onClose = onClose;
  }

  push(change: AppliedChange): void {
    if (this.closed) return;
    if (this.waiting !== null) {
      const resolve = this.waiting;
      this.waiting = null;
      this.failWaiting = null;
      resolve({ value: change, done: false });
      return;
    }
    if (this.queue.length >= this.queueLengthMax) {
      this.overflow = true;
      this.close();
      return;
    }
    this.queue.push(change);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    if (this.waiting !== null) {
      const resolve = this.waiting;
      const reject = this.failWaiting;
      this.waiting = null;
      this.failWaiting = null;
      if (this.overflow && reject !== null) reject(this.overflowError());
      else resolve({ value: undefined, done: true });
    }
  }

  private overflowError(): EntenteError {
    return new EntenteError('LIMIT_EXCEEDED', `the subscription fell more than ${this.queueLengthMax} changes behind and was ended; resubscribe and read the current state with a query.`);
  }

  next(): Promise<IteratorResult<AppliedChange>> {
    const change = this.queue.shift();
    if (change !== undefined) return Promise.resolve({ value: change, done: false });
    if (this.overflow) return Promise.reject(this.overflowError());
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<AppliedChange>> {
    this.queue.length = 0;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<AppliedChange> {
    return this;
  }
}

// ─── Ledger ───────────────────────────────────────────────────────────────────────────────────

export interface LedgerBlockView {
  readonly height: number;
  readonly hash: string;
  readonly previousHash: string | null;
  readonly merkleRoot: string;
  /** ISO-8601 UTC. */
  readonly time: string;
  readonly proposer: string;
  readonly schemaVersion: number;
  /** Only the transactions the caller may see. */
  readonly transactionIds: readonly string[];
}

export interface InclusionProofView {
  readonly blockHeight: number;
  readonly blockHash: string;
  readonly merkleRoot: string;
  readonly leafHash: string;
  readonly leafIndex: number;
  readonly siblings: readonly string[];
}

export interface LedgerTransactionView {
  readonly id: string;
  readonly height: number;
  /** GraphQL type name of the changed entity. */
  readonly type: string;
  readonly operation: 'insert' | 'update' | 'delete';
  /** Key of the changed row, column names. */
  readonly key: Row;
  /** The partner that published the change (the type's owner). */
  readonly owner: string;
  readonly proof: InclusionProofView;
  /** A complete, self-contained proof (ledger/proof.ts `entente-proof/2`), checkable offline; null when the reader cannot build one. */
  readonly proofDocument: unknown;
}

/** The verified chain, as the gateway's block store answers it; each call receives the caller so the
 * store can leave out what the caller may not see. */
export interface LedgerReader {
  height(caller: Caller): Promise<number>;
  head(caller: Caller): Promise<string | null>;
  block(height: number, caller: Caller): Promise<LedgerBlockView | null>;
  transaction(id: string, caller: Caller): Promise<LedgerTransactionView | null>;
}

/** A chain with no blocks: for an API served before the gateway has joined a network. */
export const emptyLedger: LedgerReader = {
  height: () => Promise.resolve(0),
  head: () => Promise.resolve(null),
  block: () => Promise.resolve(null),
  transaction: () => Promise.resolve(null),
};
