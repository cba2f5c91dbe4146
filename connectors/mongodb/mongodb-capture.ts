// Change capture on MongoDB change streams.
//
// - Needs a replica set or a sharded cluster (change streams read the oplog); on a standalone server
//   every method throws DB_UNSUPPORTED with the steps to start a one-member replica set.
// - `install` records the captured collections and a starting resume token in `entente_capture`, and on
//   MongoDB ≥ 6.0 turns on changeStreamPreAndPostImages for them, so updates carry their exact
//   post-image and deletes their before-image. Before 6.0, updates use fullDocument 'updateLookup' (the
//   document as it is when the event is read, which may be later than the change) and deletes have no
//   before-image.
// - Positions are resume tokens (`_data`, hex): MongoDB orders them by cluster time and position within
//   a transaction, and their hex text compares in the same order.
// - Events of one multi-document transaction share `lsid` + `txnNumber` and arrive together; they are
//   grouped into one CapturedTransaction whose position is its last event's token, so a resume never
//   splits a transaction. `write(…, {origin})` inserts an `entente_origins` document in the same
//   transaction; the reader turns it into the transaction's `origin` (and drops the event).
// - The acknowledged position is stored in `entente_capture` (monotonic update). The oplog is pruned by
//   the server: if it no longer holds a position, reading fails and says how to recover.
import { type ChangeStream, type ChangeStreamDocument, type ChangeStreamOptions, type Document, MongoServerError, type ResumeToken } from 'mongodb';
import type { CaptureMethod, CaptureReadLimits, CapturedChange, CapturedTransaction, ChangeCapture, Row, TableModel, TableRef } from '../connector.ts';
import { EntenteError } from '../../common/errors.ts';
import { atLeast, type MongoContext } from './mongodb-context.ts';
import { bsonToValue, documentToTypedObject, exactReadOptions, type BsonDocument } from './mongodb-values.ts';

export const captureStateCollection = 'entente_capture';
export const originsCollection = 'entente_origins';
/** Origin markers are only needed until the capture reader has seen them. */
export const originRetentionSeconds = 7 * 24 * 3600;
/** How long one server round trip of a waiting change stream may block. */
const awaitMsMax = 500;
const stateId = 'state';

interface CaptureState {
  readonly _id: string;
  readonly tables: readonly string[];
  readonly startPosition: string;
  readonly acknowledged: string | null;
  readonly imagesEnabled: readonly string[];
}

type ChangeEvent = ChangeStreamDocument<BsonDocument> & Document;

interface OpenStream {
  readonly stream: ChangeStream<BsonDocument, ChangeEvent>;
  /** The token after which `lookahead` continues. */
  position: string;
  /** Events read from the stream but not yet returned (the start of the next transaction). */
  readonly lookahead: ChangeEvent[];
  readonly tablesKey: string;
}

export function standaloneError(): EntenteError {
  return new EntenteError(
    'DB_UNSUPPORTED',
    'Change capture needs a MongoDB replica set or sharded cluster (change streams read the oplog); this server is standalone. ' +
      'Turn it into a one-member replica set: restart mongod with --replSet rs0 (or replication.replSetName: rs0 in mongod.conf), ' +
      'run `mongosh --eval "rs.initiate()"` once, then add ?replicaSet=rs0 (or directConnection=true) to the MongoDB URL.',
  );
}

export class MongoChangeCapture implements ChangeCapture {
  readonly method: CaptureMethod = 'change-stream';
  private readonly context: MongoContext;
  private readonly modelOf: (table: TableRef) => Promise<TableModel>;
  private open: OpenStream | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(context: MongoContext, modelOf: (table: TableRef) => Promise<TableModel>) {
    this.context = context;
    this.modelOf = modelOf;
  }

  comparePositions(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
  }

  async close(): Promise<void> {
    await this.closeStream();
  }

  async install(tables: readonly TableRef[]): Promise<void> {
    this.requireChangeStreams();
    for (const table of tables) {
      if (table.schema !== this.context.db.databaseName) {
        throw new EntenteError('USAGE', `Capture covers collections of database '${this.context.db.databaseName}'; '${table.schema}.${table.name}' is elsewhere. Open a connector on that database.`);
      }
      await this.modelOf(table);
    }
    const state = await this.state();
    const names = [...new Set([...(state?.tables ?? []), ...tables.map((table) => table.name)])].sort();
    const imagesEnabled = new Set(state?.imagesEnabled ?? []);
    if (atLeast(this.context.server, 6, 0)) {
      for (const name of names) {
        if (imagesEnabled.has(name)) continue;
        this.context.counted();
        await this.context.db.command({ collMod: name, changeStreamPreAndPostImages: { enabled: true } });
        imagesEnabled.add(name);
      }
    }
    await this.ensureOriginsCollection();
    const startPosition = state?.startPosition ?? (await this.currentPosition());
    this.context.counted();
    await this.stateCollection().updateOne(
      { _id: stateId },
      { $set: { tables: names, startPosition, imagesEnabled: [...imagesEnabled].sort() }, $setOnInsert: { acknowledged: null } },
      { upsert: true },
    );
  }

  async uninstall(): Promise<void> {
    this.requireChangeStreams();
    await this.closeStream();
    const state = await this.state();
    for (const name of state?.imagesEnabled ?? []) {
      this.context.counted();
      await this.context.db.command({ collMod: name, changeStreamPreAndPostImages: { enabled: false } }).catch(ignoreMissingCollection);
    }
    this.context.counted();
    await this.stateCollection().deleteOne({ _id: stateId });
    this.context.counted();
    await this.context.db.collection(originsCollection).drop().catch(ignoreMissingCollection);
  }

  async installedTables(): Promise<readonly TableRef[]> {
    this.requireChangeStreams();
    const state = await this.state();
    return (state?.tables ?? []).map((name) => ({ schema: this.context.db.databaseName, name }));
  }

  async acknowledgedPosition(): Promise<string | null> {
    this.requireChangeStreams();
    return (await this.state())?.acknowledged ?? null;
  }

  async acknowledge(position: string): Promise<void> {
    this.requireChangeStreams();
    this.context.counted();
    // Monotonic: an older acknowledgement arriving late never moves the position back.
    await this.stateCollection().updateOne({ _id: stateId, $or: [{ acknowledged: null }, { acknowledged: { $lt: position } }] }, { $set: { acknowledged: position } });
  }

  read(after: string | null, limits: CaptureReadLimits): Promise<readonly CapturedTransaction[]> {
    return this.serialized(() => this.readNow(after, limits));
  }

  waitForChanges(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.serialized(() => this.waitNow(timeoutMs, signal));
  }

  // ─── Internals ──────────────────────────────────────────────────────────────────────────────

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private requireChangeStreams(): void {
    if (this.context.server.topology === 'standalone') throw standaloneError();
  }

  private stateCollection() {
    return this.context.db.collection<CaptureState>(captureStateCollection);
  }

  private async state(): Promise<CaptureState | null> {
    this.context.counted();
    return this.stateCollection().findOne({ _id: stateId });
  }

  private async requireState(): Promise<CaptureState> {
    const state = await this.state();
    if (state === null) {
      throw new EntenteError('CAPTURE_NOT_INSTALLED', `Change capture is not installed on MongoDB database '${this.context.db.databaseName}'; run \`entente init\` (capture install) first.`);
    }
    return state;
  }

  private async ensureOriginsCollection(): Promise<void> {
    this.context.counted();
    await this.context.db.collection(originsCollection).createIndex({ at: 1 }, { expireAfterSeconds: originRetentionSeconds, name: 'entente_origins_ttl' });
  }

  /** A resume token for "now": the post-batch token of a fresh, empty change stream. */
  private async currentPosition(): Promise<string> {
    this.context.counted();
    const stream = this.context.db.watch([], { maxAwaitTimeMS: 1 });
    try {
      await stream.tryNext();
      const token = stream.resumeToken as { _data?: unknown } | null;
      if (token === null || typeof token._data !== 'string') throw new EntenteError('DB_UNSUPPORTED', 'MongoDB returned no resume token for a new change stream; Entente needs MongoDB 4.0.7 or later.');
      return token._data;
    } finally {
      await stream.close();
    }
  }

  private async streamAt(position: string, tables: readonly string[]): Promise<OpenStream> {
    const tablesKey = tables.join('\u0000');
    if (this.open !== undefined && this.open.position === position && this.open.tablesKey === tablesKey) return this.open;
    await this.closeStream();
    const options: ChangeStreamOptions = {
      ...exactReadOptions,
      resumeAfter: { _data: position } as ResumeToken,
      maxAwaitTimeMS: awaitMsMax,
      fullDocument: atLeast(this.context.server, 6, 0) ? 'whenAvailable' : 'updateLookup',
      ...(atLeast(this.context.server, 6, 0) ? { fullDocumentBeforeChange: 'whenAvailable' as const } : {}),
    };
    const pipeline = [{ $match: { 'ns.coll': { $in: [...tables, originsCollection] } } }];
    this.context.counted();
    const stream = this.context.db.watch<BsonDocument, ChangeEvent>(pipeline, options);
    this.open = { stream, position, lookahead: [], tablesKey };
    return this.open;
  }

  private async closeStream(): Promise<void> {
    const open = this.open;
    this.open = undefined;
    await open?.stream.close().catch(() => undefined);
  }

  private async nextEvent(open: OpenStream): Promise<ChangeEvent | null> {
    const buffered = open.lookahead.shift();
    if (buffered !== undefined) return buffered;
    this.context.counted();
    try {
      return await open.stream.tryNext();
    } catch (error) {
      await this.closeStream();
      throw streamError(error);
    }
  }

  private async readNow(after: string | null, limits: CaptureReadLimits): Promise<readonly CapturedTransaction[]> {
    this.requireChangeStreams();
    const state = await this.requireState();
    const from = after ?? state.acknowledged ?? state.startPosition;
    const open = await this.streamAt(from, state.tables);
    const transactions: CapturedTransaction[] = [];
    let changes = 0;
    let pending: ChangeEvent[] = [];
    const finish = async (): Promise<void> => {
      if (pending.length === 0) return;
      const transaction = await this.toTransaction(pending);
      pending = [];
      open.position = transaction.position;
      if (transaction.changes.length > 0) {
        transactions.push(transaction);
        changes += transaction.changes.length;
      }
    };
    for (;;) {
      const event = await this.nextEvent(open);
      if (event === null) {
        // An empty batch: the stream is caught up, and a transaction's events are never split across
        // a commit point, so the pending transaction is complete.
        await finish();
        break;
      }
      checkStreamEvent(event, state.tables);
      if (pending.length > 0 && transactionIdOf(event) !== transactionIdOf(pending[0] as ChangeEvent)) {
        await finish();
        if (transactions.length >= limits.transactionsMax || changes >= limits.changesMax) {
          open.lookahead.unshift(event);
          break;
        }
      }
      pending.push(event);
    }
    return transactions;
  }

  private async waitNow(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    this.requireChangeStreams();
    const state = await this.requireState();
    const open = this.open ?? (await this.streamAt(state.acknowledged ?? state.startPosition, state.tables));
    const deadline = Date.now() + timeoutMs;
    while (open.lookahead.length === 0 && Date.now() < deadline && signal?.aborted !== true && this.open === open) {
      this.context.counted();
      const event = await open.stream.tryNext().catch(async (error: unknown) => {
        await this.closeStream();
        throw streamError(error);
      });
      if (event !== null) open.lookahead.push(event);
    }
  }

  private async toTransaction(events: readonly ChangeEvent[]): Promise<CapturedTransaction> {
    const last = events.at(-1) as ChangeEvent;
    let origin: string | null = null;
    const changes: CapturedChange[] = [];
    for (const event of events) {
      const namespace = (event as { ns?: { coll?: string } }).ns;
      if (namespace?.coll === originsCollection) {
        const document = (event as { fullDocument?: BsonDocument }).fullDocument;
        if (event.operationType === 'insert' && typeof document?.['origin'] === 'string') origin = document['origin'];
        continue;
      }
      changes.push(await this.toChange(event));
    }
    const wallTime = (last as { wallTime?: Date }).wallTime;
    return {
      position: tokenOf(last),
      sourceTransactionId: transactionIdOf(last),
      origin,
      committedAt: wallTime instanceof Date ? (bsonToValue(wallTime) as string) : null,
      changes,
    };
  }

  private async toChange(event: ChangeEvent): Promise<CapturedChange> {
    const collection = (event as { ns: { coll: string } }).ns.coll;
    const table: TableRef = { schema: this.context.db.databaseName, name: collection };
    const model = await this.modelOf(table);
    const toRow = (document: BsonDocument | null | undefined): Row | null => (document === null || document === undefined ? null : documentToTypedObject(document, model.columns));
    const fullDocument = (event as { fullDocument?: BsonDocument | null }).fullDocument;
    const beforeDocument = (event as { fullDocumentBeforeChange?: BsonDocument | null }).fullDocumentBeforeChange;
    const documentKey = (event as { documentKey?: BsonDocument }).documentKey ?? {};
    const op = event.operationType === 'insert' ? 'insert' : event.operationType === 'delete' ? 'delete' : 'update';
    const after = op === 'delete' ? null : toRow(fullDocument);
    const before = op === 'insert' ? null : toRow(beforeDocument);
    const keySource = before ?? after ?? documentToTypedObject(documentKey, model.columns.filter((column) => column.name in documentKey));
    const key = Object.fromEntries((model.primaryKey ?? ['_id']).map((column) => [column, keySource[column] ?? null]));
    return { table, op, key, after, before };
  }
}

function tokenOf(event: ChangeEvent): string {
  const token = (event as { _id?: { _data?: unknown } })._id;
  if (typeof token?._data !== 'string') throw new EntenteError('DB_UNSUPPORTED', 'A change event has no resume token; do not $project away _id in change streams.');
  return token._data;
}

/** Events of one multi-document transaction share lsid + txnNumber; other events stand alone. */
function transactionIdOf(event: ChangeEvent): string {
  const { lsid, txnNumber } = event as { lsid?: { id?: unknown }; txnNumber?: unknown };
  if (lsid !== undefined && txnNumber !== undefined && txnNumber !== null) return `${String(bsonToValue(lsid.id as never))}:${String(bsonToValue(txnNumber as never))}`;
  return `op:${tokenOf(event)}`;
}

function checkStreamEvent(event: ChangeEvent, tables: readonly string[]): void {
  const type = event.operationType;
  if (type === 'insert' || type === 'update' || type === 'replace' || type === 'delete') return;
  const collection = (event as { ns?: { coll?: string } }).ns?.coll ?? '';
  throw new EntenteError(
    'CAPTURE_NOT_INSTALLED',
    `A captured collection changed shape (${type}${collection === '' ? '' : ` on '${collection}'`}); capture of ${tables.join(', ')} stopped. Re-create the collection if needed, then uninstall and install capture again.`,
  );
}

function streamError(error: unknown): unknown {
  if (error instanceof MongoServerError && (error.code === 286 || error.codeName === 'ChangeStreamHistoryLost' || error.code === 280)) {
    return new EntenteError(
      'CAPTURE_NOT_INSTALLED',
      `MongoDB no longer holds the oplog entries after the capture position (${error.message}): changes made meanwhile cannot be captured. Enlarge the oplog (replSetResizeOplog) so the gateway can fall behind safely, then uninstall and install capture again and re-share the current data.`,
      { cause: error },
    );
  }
  return error;
}

function ignoreMissingCollection(error: unknown): void {
  if (error instanceof MongoServerError && (error.code === 26 || error.codeName === 'NamespaceNotFound')) return;
  throw error;
}
