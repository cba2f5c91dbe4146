// The MongoDB connector: the connector contract (connectors/connector.ts) on the official driver.
//
// Tables are collections (TableRef.schema is the database). The primary key is `_id`, or the fields of
// a unique index named `entente_key` when the collection has one (then `_id` is a surrogate MongoDB
// fills in, not exposed). Models come from sampling plus the $jsonSchema validator
// (./mongodb-introspector.ts) and are cached per collection; `introspect()` refreshes them.
// Reads: loadByKeys is one `find` with `$in`/`$or`; lists and grouped lists are one aggregation each.
// Writes: one multi-document transaction on replica sets and sharded clusters; on a standalone server
// operations run one by one (capabilities.multiStatementTransactions is false, README says so).
import { MongoClient, type ClientSession, type Collection, type Db, type Document } from 'mongodb';
import type {
  Connector,
  ConnectorCapabilities,
  ConnectorLimits,
  DatabaseModel,
  Filter,
  GroupedListQuery,
  IntrospectOptions,
  ListPage,
  ListQuery,
  Row,
  TableModel,
  TableRef,
  Value,
  ValueType,
  WriteOperation,
  WriteOptions,
  WriteResult,
} from '../connector.ts';
import { introspectionVersion } from '../connector.ts';
import { EntenteError } from '../../common/errors.ts';
import { assert } from '../../common/assert.ts';
import { redactUrl } from '../index.ts';
import { atLeast, inTransaction, supportsTransactions, translateDriverError, type MongoContext, type ServerFacts, type Topology } from './mongodb-context.ts';
import { filterOperand, translateFilter, type MongoQuery } from './mongodb-filter.ts';
import { introspectCollection, introspectDatabase, readDefaults, sampleSizeDefault, type CollectionInfo } from './mongodb-introspector.ts';
import { combine, effectiveOrder, groupedPipeline, keysetCondition, sortStages, type OrderSpec } from './mongodb-query.ts';
import { bsonToTypedValue, documentToTypedObject, exactReadOptions, valueToBson, type BsonDocument } from './mongodb-values.ts';
import { MongoChangeCapture, originsCollection } from './mongodb-capture.ts';
import { isReplicaCollection, MongoReplicaStore, replicaStorageType } from './mongodb-replica.ts';

export interface MongoConnectorOptions {
  /** Databases introspected by default; default: the URL's database. */
  readonly schemas?: readonly string[];
  /** Documents sampled per collection for inference (default 1,000). */
  readonly sampleSize?: number;
  /** Server selection timeout for the first connection (default 5,000 ms). */
  readonly connectTimeoutMs?: number;
}

const limits: ConnectorLimits = { pageSizeMax: 1000, keysPerLoadMax: 10_000, operationsPerWriteMax: 1000 };

export async function openMongoConnector(url: string, options: MongoConnectorOptions = {}): Promise<Connector> {
  // The URL's own serverSelectionTimeoutMS wins over the default; an explicit option wins over both.
  const urlSetsTimeout = /[?&]serverSelectionTimeoutMS=/i.test(url);
  const timeout = options.connectTimeoutMs ?? (urlSetsTimeout ? undefined : 5000);
  const client = new MongoClient(url, { ...(timeout === undefined ? {} : { serverSelectionTimeoutMS: timeout }), appName: 'entente' });
  try {
    await client.connect();
    const db = client.db();
    if (db.databaseName === 'test' && !/\/test(\?|$)/.test(url)) {
      throw new EntenteError('CONFIG_INVALID', `The MongoDB URL "${redactUrl(url)}" names no database; add it as the path, e.g. mongodb://host:27017/sales.`);
    }
    const server = await serverFacts(db);
    return new MongoConnector({ client, db, server, counted: () => undefined }, options);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw connectionError(error, url);
  }
}

function connectionError(error: unknown, url: string): unknown {
  if (error instanceof EntenteError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/auth/i.test(message)) {
    return new EntenteError('DB_AUTH_FAILED', `MongoDB at "${redactUrl(url)}" refused the credentials (${message}); check the user, password and authSource in the URL.`, { cause: error });
  }
  return new EntenteError('DB_UNREACHABLE', `Cannot reach MongoDB at "${redactUrl(url)}" (${message}); check that mongod runs and the host/port are right (a replica set member also needs ?replicaSet=… or directConnection=true).`, { cause: error });
}

async function serverFacts(db: Db): Promise<ServerFacts> {
  const admin = db.admin();
  const hello = (await admin.command({ hello: 1 }).catch(() => admin.command({ isMaster: 1 }))) as Document;
  const build = (await admin.command({ buildInfo: 1 })) as Document;
  const status = (await admin.command({ connectionStatus: 1 }).catch(() => ({}))) as Document;
  const version = String(build['version'] ?? '0.0');
  const [major = 0, minor = 0] = version.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const topology: Topology = typeof hello['setName'] === 'string' ? 'replica-set' : hello['msg'] === 'isdbgrid' ? 'sharded' : 'standalone';
  const users = (status['authInfo'] as { authenticatedUsers?: { user?: string }[] } | undefined)?.authenticatedUsers ?? [];
  return { version, versionParts: [major, minor], topology, user: users[0]?.user ?? '' };
}

export class MongoConnector implements Connector {
  readonly family = 'mongodb' as const;
  readonly capabilities: ConnectorCapabilities;
  readonly limits = limits;
  readonly capture: MongoChangeCapture;
  readonly replica: MongoReplicaStore;
  private readonly context: MongoContext;
  private readonly options: MongoConnectorOptions;
  private readonly models = new Map<string, TableModel>();
  private statements = 0;

  constructor(context: MongoContext, options: MongoConnectorOptions) {
    this.context = { ...context, counted: () => void (this.statements += 1) };
    this.options = options;
    const changeStreams = context.server.topology !== 'standalone';
    this.capabilities = {
      transactionalDdl: false,
      returning: true,
      ilike: true,
      arrays: true,
      changeNotifications: changeStreams,
      multiStatementTransactions: supportsTransactions(context.server),
      captureMethods: changeStreams ? ['change-stream'] : [],
      durableCommits: true,
    };
    this.replica = new MongoReplicaStore(this.context);
    this.capture = new MongoChangeCapture(this.context, (table) => this.tableModel(table));
  }

  statementCount(): number {
    return this.statements;
  }

  async close(): Promise<void> {
    await this.capture.close();
    await this.context.client.close();
  }

  // ─── Introspection ──────────────────────────────────────────────────────────────────────────

  async introspect(options: IntrospectOptions = {}): Promise<DatabaseModel> {
    const databases = [...(options.schemas ?? this.options.schemas ?? [this.context.db.databaseName])].sort();
    const tables: TableModel[] = [];
    const enums: DatabaseModel['enums'][number][] = [];
    const warnings: DatabaseModel['warnings'][number][] = [];
    for (const name of databases) {
      const result = await introspectDatabase(this.context.client.db(name), this.sampleSize(), this.context.counted);
      tables.push(...result.tables);
      enums.push(...result.enums);
      warnings.push(...result.warnings);
    }
    for (const table of tables) this.models.set(modelKey(table), table);
    return {
      introspectionVersion,
      family: 'mongodb',
      serverVersion: this.context.server.version,
      database: this.context.db.databaseName,
      user: this.context.server.user,
      tables,
      enums,
      warnings,
    };
  }

  private sampleSize(): number {
    return this.options.sampleSize ?? sampleSizeDefault;
  }

  /** The model of one collection (cached; replica collections from their stored definitions). */
  async tableModel(table: TableRef): Promise<TableModel> {
    const cached = this.models.get(modelKey(table));
    if (cached !== undefined) return cached;
    if (table.schema === this.context.db.databaseName && isReplicaCollection(table.name)) return this.replica.tableModel(table.name);
    const db = this.context.client.db(table.schema);
    this.context.counted();
    const [info] = await db.listCollections({ name: table.name }).toArray();
    if (info === undefined) {
      throw new EntenteError('DB_NOT_FOUND', `MongoDB has no collection '${table.name}' in database '${table.schema}'; check the name, or create it before sharing it.`, { details: { table: table.name } });
    }
    const defaults = (await readDefaults(db, this.context.counted, [table.name])).get(table.name) ?? {};
    const { table: model } = await introspectCollection(db, info as CollectionInfo, this.sampleSize(), this.context.counted, defaults);
    this.models.set(modelKey(table), model);
    return model;
  }

  private collection(table: TableRef): Collection<Document> {
    return this.context.client.db(table.schema).collection(table.name);
  }

  // ─── Reading ────────────────────────────────────────────────────────────────────────────────

  async loadByKeys(table: TableRef, keyColumns: readonly string[], keys: readonly (readonly Value[])[]): Promise<readonly (Row | null)[]> {
    if (keys.length === 0) return [];
    if (keys.length > limits.keysPerLoadMax) {
      throw new EntenteError('LIMIT_EXCEEDED', `loadByKeys got ${keys.length} keys; at most ${limits.keysPerLoadMax} per call. Split the batch.`);
    }
    const model = await this.tableModel(table);
    const types = keyColumns.map((column) => columnType(model, column));
    const wanted = keys.filter((key) => key.every((value) => value !== null));
    const operands = wanted.map((key) => key.map((value, index) => filterOperand(value, types[index] as ValueType, keyColumns[index] as string)));
    const query: MongoQuery =
      keyColumns.length === 1
        ? { [keyColumns[0] as string]: { $in: operands.map((operand) => operand[0]) } }
        : { $or: operands.map((operand) => Object.fromEntries(keyColumns.map((column, index) => [column, { $eq: operand[index] }]))) };
    if (wanted.length === 0) return keys.map(() => null);
    this.context.counted();
    const documents = await this.collection(table).find(query, exactReadOptions).toArray();
    const byKey = new Map<string, Row>();
    for (const document of documents) {
      const row = this.toRow(document, model);
      byKey.set(tupleKey(keyColumns.map((column) => row[column] ?? null), types), row);
    }
    return keys.map((key) => {
      const normalized = key.map((value, index) => (value === null ? null : bsonToTypedValue(filterOperand(value, types[index] as ValueType, keyColumns[index] as string), types[index] as ValueType)));
      return byKey.get(tupleKey(normalized, types)) ?? null;
    });
  }

  async list(query: ListQuery): Promise<ListPage> {
    const model = await this.tableModel(query.table);
    const first = Math.max(0, Math.min(query.first, limits.pageSizeMax));
    const typeOf = (column: string): ValueType => columnType(model, column);
    const orderColumns = effectiveOrder(query.orderBy ?? [], model.primaryKey ?? []);
    const order = orderColumns.map((term) => orderSpec(model, term.column, term.direction));
    const where = translateFilter(query.where, typeOf);
    const after = query.after === undefined ? undefined : keysetCondition(order, query.after);
    const { before, sort, after: cleanup } = sortStages(order);
    const pipeline: Document[] = [{ $match: combine(after === undefined ? [where] : [where, after]) }, ...before, ...(order.length > 0 ? [{ $sort: sort }] : []), ...cleanup, { $limit: first + 1 }];
    if (query.columns !== undefined) {
      const wanted = new Set([...query.columns, ...(model.primaryKey ?? []), ...orderColumns.map((term) => term.column)]);
      for (const column of wanted) columnType(model, column);
      pipeline.push({ $project: Object.fromEntries([...wanted].map((column) => [column, 1])) });
    }
    this.context.counted();
    const documents = await this.collection(query.table).aggregate<BsonDocument>(pipeline, exactReadOptions).toArray();
    const rows = documents.slice(0, first).map((document) => this.toRow(document, model, query.columns === undefined ? undefined : pipeline.at(-1)?.['$project']));
    const page: ListPage = { rows, hasNextPage: documents.length > first, orderColumns };
    if (query.includeTotalCount !== true) return page;
    return { ...page, totalCount: await this.count(query.table, query.where) };
  }

  async count(table: TableRef, where?: Filter): Promise<number> {
    const model = await this.tableModel(table);
    const query = translateFilter(where, (column) => columnType(model, column));
    this.context.counted();
    return this.collection(table).countDocuments(query);
  }

  async listGrouped(query: GroupedListQuery): Promise<readonly (readonly Row[])[]> {
    const model = await this.tableModel(query.table);
    const types = query.columns.map((column) => columnType(model, column));
    const distinct = new Map<string, unknown[]>();
    for (const group of query.groups) {
      if (group.length !== query.columns.length) throw new EntenteError('USAGE', `Each group needs ${query.columns.length} values (one per grouping column).`);
      // SQL equality never holds for NULL: a group with a null member is empty.
      if (group.some((value) => value === null)) continue;
      const operands = group.map((value, index) => filterOperand(value, types[index] as ValueType, query.columns[index] as string));
      distinct.set(tupleKey(operands.map((operand, index) => bsonToTypedValue(operand, types[index] as ValueType)), types), operands);
    }
    if (distinct.size === 0) return query.groups.map(() => []);
    const orderColumns = effectiveOrder(query.orderBy ?? [], model.primaryKey ?? []);
    const pipeline = groupedPipeline({
      where: translateFilter(query.where, (column) => columnType(model, column)),
      groupColumns: query.columns,
      groups: [...distinct.values()],
      order: orderColumns.map((term) => orderSpec(model, term.column, term.direction)),
      first: Math.max(0, Math.min(query.first, limits.pageSizeMax)),
      windowFunctions: atLeast(this.context.server, 5, 0),
    });
    this.context.counted();
    const documents = await this.collection(query.table).aggregate<BsonDocument>(pipeline as Document[], exactReadOptions).toArray();
    const byGroup = new Map<string, Row[]>();
    for (const document of documents) {
      const row = this.toRow(document, model);
      const key = tupleKey(query.columns.map((column) => row[column] ?? null), types);
      const rows = byGroup.get(key) ?? [];
      rows.push(row);
      byGroup.set(key, rows);
    }
    return query.groups.map((group) => {
      if (group.some((value) => value === null)) return [];
      const normalized = group.map((value, index) => bsonToTypedValue(filterOperand(value, types[index] as ValueType, query.columns[index] as string), types[index] as ValueType));
      return byGroup.get(tupleKey(normalized, types)) ?? [];
    });
  }

  private toRow(document: BsonDocument, model: TableModel, projection?: unknown): Row {
    const row = documentToTypedObject(document, model.columns);
    if (projection === undefined) return row;
    const kept = Object.keys(projection as object);
    return Object.fromEntries(Object.entries(row).filter(([column]) => kept.includes(column)));
  }

  // ─── Writing ────────────────────────────────────────────────────────────────────────────────

  async write(operations: readonly WriteOperation[], options: WriteOptions = {}): Promise<readonly WriteResult[]> {
    if (operations.length === 0) return [];
    if (operations.length > limits.operationsPerWriteMax) {
      throw new EntenteError('LIMIT_EXCEEDED', `A write holds ${operations.length} operations; at most ${limits.operationsPerWriteMax}. Split it into several writes.`);
    }
    const models = await Promise.all(operations.map((operation) => this.writableModel(operation.table)));
    try {
      return await inTransaction(this.context, async (session) => {
        if (options.origin !== undefined && session !== undefined) {
          this.context.counted();
          await this.context.db.collection(originsCollection).insertOne({ origin: options.origin, at: new Date() }, { session });
        }
        const results: WriteResult[] = [];
        for (const [index, operation] of operations.entries()) results.push(await this.writeOne(operation, models[index] as TableModel, session));
        return results;
      });
    } catch (error) {
      throw translateDriverError(error, 'The write');
    }
  }

  private async writableModel(table: TableRef): Promise<TableModel> {
    const model = await this.tableModel(table);
    if (!model.writable) {
      throw new EntenteError('DB_UNSUPPORTED', `'${table.name}' is a ${model.kind === 'view' ? 'view' : 'collection without a primary key'} and is read-only; write to the collection it reads from.`, { details: { table: table.name } });
    }
    return model;
  }

  private async writeOne(operation: WriteOperation, model: TableModel, session: ClientSession | undefined): Promise<WriteResult> {
    const collection = this.collection(operation.table);
    const key = model.primaryKey;
    assert(key !== null, 'writable models have a primary key');
    this.context.counted();
    switch (operation.op) {
      case 'insert': {
        const document = { ...toDocument(model, defaultsFor(model, operation.values)), ...toDocument(model, operation.values) };
        await collection.insertOne(document, { session });
        return { row: this.toRow(document, model) };
      }
      case 'upsert': {
        // As SQL's INSERT … ON CONFLICT DO UPDATE: an existing document gets the given fields, a new one
        // also the defaults of the fields not given.
        const values = toDocument(model, operation.values);
        const onInsert = toDocument(model, defaultsFor(model, operation.values));
        const filter = keyFilter(model, key, operation.values);
        const update = Object.keys(onInsert).length === 0 ? { $set: values } : { $set: values, $setOnInsert: onInsert };
        const after = await collection.findOneAndUpdate(filter, update, { session, upsert: true, returnDocument: 'after', ...exactReadOptions });
        assert(after !== null, 'an upsert returns the document');
        return { row: this.toRow(after, model) };
      }
      case 'update': {
        const filter = combine([keyFilter(model, key, operation.key), expectedFilter(model, operation.expected)]);
        const values = toDocument(model, operation.values);
        const after =
          Object.keys(values).length === 0
            ? await collection.findOne(filter, { session, ...exactReadOptions })
            : await collection.findOneAndUpdate(filter, { $set: values }, { session, returnDocument: 'after', ...exactReadOptions });
        if (after === null) throw await this.missingOrConflict(collection, model, key, operation.key, operation.expected, session);
        return { row: this.toRow(after, model) };
      }
      case 'delete': {
        const filter = combine([keyFilter(model, key, operation.key), expectedFilter(model, operation.expected)]);
        const before = await collection.findOneAndDelete(filter, { session, ...exactReadOptions });
        if (before === null) throw await this.missingOrConflict(collection, model, key, operation.key, operation.expected, session);
        return { row: this.toRow(before, model) };
      }
      default:
        throw new EntenteError('USAGE', `Unknown write operation ${(operation as { op: string }).op}.`);
    }
  }

  private async missingOrConflict(collection: Collection<Document>, model: TableModel, key: readonly string[], keyValues: Row, expected: Row | undefined, session: ClientSession | undefined): Promise<EntenteError> {
    const shownKey = key.map((column) => `${column}=${JSON.stringify(keyValues[column] ?? null)}`).join(', ');
    if (expected !== undefined) {
      this.context.counted();
      const exists = (await collection.countDocuments(keyFilter(model, key, keyValues), { session, limit: 1 })) > 0;
      if (exists) {
        return new EntenteError('DB_CONFLICT', `'${model.name}' (${shownKey}) changed since it was read: the expected values no longer hold. Read it again and retry.`, { details: { table: model.name } });
      }
    }
    return new EntenteError('DB_NOT_FOUND', `'${model.name}' has no document with ${shownKey}.`, { details: { table: model.name } });
  }
}

// ─── Helpers ─────────────────────────────────────────────────────────────────────────────────

function modelKey(table: TableRef): string {
  return `${table.schema}\u0000${table.name}`;
}

/**
 * A key tuple as a map key. MongoDB matches numbers by value across types and scales (Decimal128 1.0
 * equals Long 1), so numeric parts are compared in a normal form: no trailing fractional zeros.
 */
function tupleKey(values: readonly Value[], types: readonly ValueType[]): string {
  return JSON.stringify(values.map((value, index) => (isNumericType(types[index]) && (typeof value === 'number' || typeof value === 'string') ? numericKey(String(value)) : value)));
}

function isNumericType(type: ValueType | undefined): boolean {
  return type?.kind === 'scalar' && (type.scalar === 'Int' || type.scalar === 'Float' || type.scalar === 'BigInt' || type.scalar === 'Decimal');
}

function numericKey(text: string): string {
  if (!/^-?\d+(\.\d+)?$/.test(text)) return text;
  const trimmed = text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
  return trimmed === '-0' ? '0' : trimmed;
}

export function columnType(model: TableModel, column: string): ValueType {
  const found = model.columns.find((candidate) => candidate.name === column);
  if (found === undefined) {
    throw new EntenteError('USAGE', `'${model.name}' has no field '${column}' in its model; known: ${model.columns.map((candidate) => candidate.name).join(', ')}. Re-run introspection if the collection gained fields.`, {
      details: { table: model.name, column },
    });
  }
  // Replica collections store some types differently (DateTime as canonical text): convert for storage.
  return isReplicaCollection(model.name) ? replicaStorageType(found.type) : found.type;
}

function orderSpec(model: TableModel, column: string, direction: 'asc' | 'desc'): OrderSpec {
  const type = columnType(model, column);
  const nullable = model.columns.find((candidate) => candidate.name === column)?.nullable ?? true;
  return { column, direction, nullable, type };
}

/** A Row as the document to store: each value in the BSON type its column's model type says. */
export function toDocument(model: TableModel, values: Row): Record<string, unknown> {
  const document: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(values)) document[column] = valueToBson(value, columnType(model, column), column);
  return document;
}

/** The model's defaults (see `entente_defaults`) for the columns `values` does not set. */
function defaultsFor(model: TableModel, values: Row): Row {
  const defaults: Record<string, Value> = {};
  for (const column of model.columns) {
    if (column.defaultExpression === null || column.name in values) continue;
    defaults[column.name] = JSON.parse(column.defaultExpression) as Value;
  }
  return defaults;
}

function keyFilter(model: TableModel, key: readonly string[], values: Row): MongoQuery {
  const filter: Record<string, unknown> = {};
  for (const column of key) {
    const value = values[column];
    if (value === undefined || value === null) {
      throw new EntenteError('USAGE', `Writing to '${model.name}' needs every key field (${key.join(', ')}); '${column}' is missing.`, { details: { table: model.name, column } });
    }
    filter[column] = { $eq: valueToBson(value, columnType(model, column), column) };
  }
  return filter;
}

function expectedFilter(model: TableModel, expected: Row | undefined): MongoQuery {
  if (expected === undefined) return {};
  const filter: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(expected)) {
    filter[column] = value === null ? null : { $eq: valueToBson(value, columnType(model, column), column) };
  }
  return filter;
}
