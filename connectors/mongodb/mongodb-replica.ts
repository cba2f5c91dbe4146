// Replica collections: shared types owned by other partners, stored in this database as collections
// named `entente_replica.<type>`, with committed ledger changes applied idempotently.
//
// - Each collection has a unique index `entente_key` on the type's primary key; `_id` is a surrogate.
// - Definitions (columns, key) are stored in `entente_replica_state`; `ensureTables` creates missing
//   collections, adds columns to the stored definition and never drops data.
// - Values are stored in the BSON type their ValueType names (Decimal128, Long, Binary, UUID, …),
//   except DateTime, kept as its canonical text ('2024-05-01T10:00:00.000001Z'): BSON dates hold
//   milliseconds and a replica must not lose the owner's microseconds. Canonical text has six
//   fractional digits and 'Z', so it sorts and compares chronologically as a string.
// - `apply` runs in one multi-document transaction that reads and advances the applied height: all or
//   nothing, and a height at or below the applied one is skipped. Without transactions (standalone
//   server) each document carries `_entente_height` and is only overwritten or deleted by a change of
//   that height or later, and the applied height is raised with $max after the changes; replaying a
//   height after a crash then converges to the same state, but readers may see a height half applied.
import { type ClientSession, type Document, MongoServerError } from 'mongodb';
import type { ReplicaChange, ReplicaStore, ReplicaTableDefinition, Row, TableModel, TableRef, ValueType } from '../connector.ts';
import { EntenteError } from '../../common/errors.ts';
import { duplicateKeyCode, inTransaction, supportsTransactions, translateDriverError, type MongoContext } from './mongodb-context.ts';
import { keyIndexName } from './mongodb-introspector.ts';
import { valueToBson } from './mongodb-values.ts';

export const replicaPrefix = 'entente_replica.';
export const replicaStateCollection = 'entente_replica_state';
export const heightField = '_entente_height';
/** Changes in one applied height. */
export const changesPerHeightMax = 100_000;

const appliedId = 'applied';
const definitionIdPrefix = 'table:';

export function isReplicaCollection(name: string): boolean {
  return name.startsWith(replicaPrefix);
}

/** The type a replica column is stored as: DateTime as canonical text (see the module comment). */
export function replicaStorageType(type: ValueType): ValueType {
  return type.kind === 'scalar' && type.scalar === 'DateTime' ? { kind: 'scalar', scalar: 'String' } : type;
}

/** Canonical DateTime text with six fractional digits, so stored strings sort chronologically. */
export function normalizeDateTimeText(value: string, column: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(value);
  if (match !== null) return `${match[1]}.${(match[2] ?? '').padEnd(6, '0')}Z`;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) {
    throw new EntenteError('USAGE', `Field '${column}' expects an ISO-8601 date-time, got '${value.slice(0, 40)}'.`, { details: { column } });
  }
  return parsed.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface StoredDefinition {
  readonly _id: string;
  readonly definition: ReplicaTableDefinition;
}

export class MongoReplicaStore implements ReplicaStore {
  private readonly context: MongoContext;
  private readonly definitions = new Map<string, ReplicaTableDefinition>();

  constructor(context: MongoContext) {
    this.context = context;
  }

  tableRef(name: string): TableRef {
    return { schema: this.context.db.databaseName, name: `${replicaPrefix}${name}` };
  }

  async ensureTables(tables: readonly ReplicaTableDefinition[]): Promise<void> {
    for (const table of tables) {
      const stored = await this.definition(table.name, false);
      if (stored !== undefined && stored.primaryKey.join('\u0000') !== table.primaryKey.join('\u0000')) {
        throw new EntenteError('SCHEMA_CONFLICT', `Replica '${table.name}' is keyed by (${stored.primaryKey.join(', ')}), the new definition by (${table.primaryKey.join(', ')}); a key change needs a new type name.`);
      }
      const columns = [...(stored?.columns ?? [])];
      for (const column of table.columns) if (!columns.some((existing) => existing.name === column.name)) columns.push(column);
      const merged: ReplicaTableDefinition = { name: table.name, primaryKey: table.primaryKey, columns };
      const collection = `${replicaPrefix}${table.name}`;
      this.context.counted();
      await this.context.db.createCollection(collection).catch((error: unknown) => {
        if (!(error instanceof MongoServerError && error.code === 48)) throw error;
      });
      if (!(table.primaryKey.length === 1 && table.primaryKey[0] === '_id')) {
        this.context.counted();
        await this.context.db.collection(collection).createIndex(Object.fromEntries(table.primaryKey.map((column) => [column, 1])), { unique: true, name: keyIndexName });
      }
      this.context.counted();
      await this.context.db.collection<StoredDefinition>(replicaStateCollection).replaceOne({ _id: `${definitionIdPrefix}${table.name}` }, { definition: merged }, { upsert: true });
      this.definitions.set(table.name, merged);
    }
  }

  async appliedHeight(): Promise<number> {
    return this.readHeight(undefined);
  }

  async apply(height: number, changes: readonly ReplicaChange[]): Promise<'applied' | 'already-applied'> {
    if (!Number.isSafeInteger(height) || height < 1) throw new EntenteError('USAGE', `Ledger heights are positive integers; got ${height}.`);
    if (changes.length > changesPerHeightMax) throw new EntenteError('LIMIT_EXCEEDED', `Height ${height} carries ${changes.length} changes; at most ${changesPerHeightMax} are applied at once.`);
    // Convert and check every change before touching the database: a bad change applies nothing.
    const prepared: PreparedChange[] = [];
    for (const change of changes) prepared.push(await this.prepare(change, height));
    try {
      if (!supportsTransactions(this.context.server)) return await this.applyGuarded(height, prepared);
      return await inTransaction(this.context, async (session) => {
        if (height <= (await this.readHeight(session))) return 'already-applied';
        for (const change of prepared) await this.applyOne(change, session, false);
        this.context.counted();
        await this.stateCollection().updateOne({ _id: appliedId }, { $set: { height } }, { session, upsert: true });
        return 'applied';
      });
    } catch (error) {
      throw translateDriverError(error, `Applying ledger height ${height}`);
    }
  }

  /** The model the connector reads replica collections with. */
  async tableModel(collectionName: string): Promise<TableModel> {
    const name = collectionName.slice(replicaPrefix.length);
    const definition = await this.definition(name, true);
    if (definition === undefined) {
      throw new EntenteError('DB_NOT_FOUND', `There is no replica '${name}'; the gateway creates it with ensureTables when the unified schema includes the type.`);
    }
    return {
      schema: this.context.db.databaseName,
      name: collectionName,
      kind: 'collection',
      comment: null,
      columns: definition.columns.map((column, index) => ({
        name: column.name,
        ordinal: index + 1,
        nativeType: column.type.kind === 'scalar' && column.type.scalar === 'DateTime' ? 'string (ISO-8601 date-time)' : column.type.kind,
        type: column.type,
        nullable: column.nullable,
        defaultExpression: null,
        generated: false,
        comment: null,
      })),
      primaryKey: definition.primaryKey,
      uniqueConstraints: [],
      foreignKeys: [],
      writable: true,
    };
  }

  // ─── Internals ──────────────────────────────────────────────────────────────────────────────

  private stateCollection() {
    return this.context.db.collection<{ _id: string; height?: number }>(replicaStateCollection);
  }

  private async readHeight(session: ClientSession | undefined): Promise<number> {
    this.context.counted();
    const state = await this.stateCollection().findOne({ _id: appliedId }, { session });
    return state?.height ?? 0;
  }

  private async definition(name: string, useCache: boolean): Promise<ReplicaTableDefinition | undefined> {
    const cached = useCache ? this.definitions.get(name) : undefined;
    if (cached !== undefined) return cached;
    this.context.counted();
    const stored = await this.context.db.collection<StoredDefinition>(replicaStateCollection).findOne({ _id: `${definitionIdPrefix}${name}` });
    if (stored !== null) this.definitions.set(name, stored.definition);
    return stored?.definition;
  }

  private async prepare(change: ReplicaChange, height: number): Promise<PreparedChange> {
    const definition = await this.definition(change.table, true);
    if (definition === undefined) throw new EntenteError('DB_NOT_FOUND', `Ledger height ${height} changes replica '${change.table}', which ensureTables has not created.`);
    const filter: Record<string, unknown> = {};
    for (const column of definition.primaryKey) {
      const value = change.key[column] ?? change.after?.[column] ?? null;
      if (value === null) throw new EntenteError('USAGE', `A change to replica '${change.table}' lacks key field '${column}'.`);
      filter[column] = { $eq: toStored(definition, column, value) };
    }
    if (change.op === 'delete') return { collection: `${replicaPrefix}${change.table}`, filter, document: null, height };
    if (change.after === null) throw new EntenteError('USAGE', `The ${change.op} of replica '${change.table}' has no after-image.`);
    return { collection: `${replicaPrefix}${change.table}`, filter, document: toStoredDocument(definition, change.after), height };
  }

  private async applyOne(change: PreparedChange, session: ClientSession | undefined, guarded: boolean): Promise<void> {
    const collection = this.context.db.collection(change.collection);
    const guard = guarded ? { $or: [{ [heightField]: { $lte: change.height } }, { [heightField]: { $exists: false } }] } : {};
    this.context.counted();
    if (change.document === null) {
      await collection.deleteOne({ ...change.filter, ...guard }, { session });
      return;
    }
    const document = guarded ? { ...change.document, [heightField]: change.height } : change.document;
    try {
      await collection.replaceOne({ ...change.filter, ...guard }, document, { session, upsert: true });
    } catch (error) {
      // Guarded mode: the document exists with a later height, so the upsert collided; the later state stays.
      if (guarded && error instanceof MongoServerError && error.code === duplicateKeyCode) return;
      throw error;
    }
  }

  private async applyGuarded(height: number, prepared: readonly PreparedChange[]): Promise<'applied' | 'already-applied'> {
    if (height <= (await this.readHeight(undefined))) return 'already-applied';
    for (const change of prepared) await this.applyOne(change, undefined, true);
    this.context.counted();
    await this.stateCollection().updateOne({ _id: appliedId }, { $max: { height } }, { upsert: true });
    return 'applied';
  }
}

interface PreparedChange {
  readonly collection: string;
  readonly filter: Document;
  readonly document: Document | null;
  readonly height: number;
}

function toStored(definition: ReplicaTableDefinition, column: string, value: Row[string]): unknown {
  const found = definition.columns.find((candidate) => candidate.name === column);
  if (found === undefined) throw new EntenteError('USAGE', `Replica '${definition.name}' has no column '${column}'; update the unified schema first.`, { details: { column } });
  if (value === null) {
    if (!found.nullable) throw new EntenteError('USAGE', `Replica '${definition.name}' column '${column}' is not nullable but the change sets it to null.`, { details: { column } });
    return null;
  }
  const normalized = found.type.kind === 'scalar' && found.type.scalar === 'DateTime' && typeof value === 'string' ? normalizeDateTimeText(value, column) : value;
  return valueToBson(normalized, replicaStorageType(found.type), column);
}

function toStoredDocument(definition: ReplicaTableDefinition, after: Row): Document {
  const document: Document = {};
  for (const column of definition.columns) document[column.name] = toStored(definition, column.name, after[column.name] ?? null);
  for (const column of Object.keys(after)) if (!(column in document)) toStored(definition, column, after[column] ?? null);
  return document;
}
