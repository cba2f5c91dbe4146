// Introspection of a MongoDB database: lists its collections and views, samples each one, reads its
// $jsonSchema validator and unique indexes, and hands them to the pure inference (./mongodb-inference.ts).
//
// Sampling: a collection with at most `sampleSize` documents (default 1,000) is read whole, in _id
// order, so its model is exact and the same on every run; a larger one is sampled with
// `$sample: { size: sampleSize }` (random, so a rare field may be missed: a SAMPLED warning says so,
// and a $jsonSchema validator makes the model exact). Views are read with a limit of `sampleSize`.
// Entente's own collections (`entente_*`, `entente_replica.*`) and system collections are never listed.
import type { Db, Document } from 'mongodb';
import type { EnumModel, IntrospectionWarning, TableModel, UniqueConstraintModel, Value } from '../connector.ts';
import { compareCodeUnits, inferCollection, type CollectionSample, type InferredCollection, type JsonSchema } from './mongodb-inference.ts';
import { bsonToValue, exactReadOptions, type BsonDocument } from './mongodb-values.ts';

export const sampleSizeDefault = 1000;
/** Collections introspected per database; beyond this, introspection stops with a warning. */
export const collectionsPerDatabaseMax = 10_000;
/** The unique index whose fields are a collection's primary key (instead of `_id`). */
export const keyIndexName = 'entente_key';
/**
 * Column defaults, which MongoDB lacks: one document per collection, `{ _id: '<collection>', defaults:
 * { <field>: <canonical Value> } }`, written by the partner (or `entente init`). The connector fills
 * them in when an insert omits the field, as a SQL database would.
 */
export const defaultsCollection = 'entente_defaults';

export type CollectionDefaults = { readonly [field: string]: Value };

/** The defaults of the given collections (all when `names` is undefined), in one query. */
export async function readDefaults(db: Db, counted: IntrospectionCounter, names?: readonly string[]): Promise<Map<string, CollectionDefaults>> {
  counted();
  const documents = await db.collection<{ _id: string; defaults?: unknown }>(defaultsCollection).find(names === undefined ? {} : { _id: { $in: [...names] } }, exactReadOptions).toArray();
  const result = new Map<string, CollectionDefaults>();
  for (const document of documents) {
    const defaults = bsonToValue(document.defaults);
    if (typeof document._id === 'string' && typeof defaults === 'object' && defaults !== null && !Array.isArray(defaults)) result.set(document._id, defaults as CollectionDefaults);
  }
  return result;
}

export interface IntrospectionCounter {
  /** Called once per command sent to the server. */
  (): void;
}

export function isEntenteCollection(name: string): boolean {
  return name.startsWith('entente_') || name.startsWith('entente.') || name.startsWith('system.');
}

export interface DatabaseIntrospection {
  readonly tables: readonly TableModel[];
  readonly enums: readonly EnumModel[];
  readonly warnings: readonly IntrospectionWarning[];
}

export async function introspectDatabase(db: Db, sampleSize: number, counted: IntrospectionCounter): Promise<DatabaseIntrospection> {
  counted();
  const infos = await db.listCollections({}, { nameOnly: false }).toArray();
  const listed = infos
    .filter((info) => !isEntenteCollection(info.name) && (info.type === 'collection' || info.type === 'view' || info.type === undefined))
    .sort((a, b) => compareCodeUnits(a.name, b.name));
  const warnings: IntrospectionWarning[] = [];
  if (listed.length > collectionsPerDatabaseMax) {
    warnings.push({ code: 'OTHER', table: null, column: null, message: `Database '${db.databaseName}' has ${listed.length} collections; only the first ${collectionsPerDatabaseMax} (by name) are introspected.` });
  }
  const defaults = await readDefaults(db, counted);
  const results: InferredCollection[] = [];
  for (const info of listed.slice(0, collectionsPerDatabaseMax)) {
    results.push(await introspectCollection(db, info as CollectionInfo, sampleSize, counted, defaults.get(info.name) ?? {}));
  }
  return {
    tables: results.map((result) => result.table),
    // Two collections may name the same enum (one `title` in both validators): list it once.
    enums: [...new Map(results.flatMap((result) => result.enums).map((model) => [model.name, model])).values()].sort((a, b) => compareCodeUnits(a.name, b.name)),
    warnings: [...warnings, ...results.flatMap((result) => result.warnings)],
  };
}

export interface CollectionInfo {
  readonly name: string;
  readonly type?: string;
  readonly options?: { readonly validator?: Document };
}

/** One collection's model; `info` as listCollections returns it (fetched if absent). */
export async function introspectCollection(db: Db, info: CollectionInfo, sampleSize: number, counted: IntrospectionCounter, defaults: CollectionDefaults): Promise<InferredCollection> {
  const kind = info.type === 'view' ? 'view' : 'collection';
  const collection = db.collection(info.name);
  let documents: BsonDocument[];
  let documentCount: number;
  let uniqueIndexes: readonly UniqueConstraintModel[] = [];
  let keyFields: readonly string[] | null = null;
  if (kind === 'view') {
    counted();
    documents = await collection.find({}, { ...exactReadOptions, limit: sampleSize }).toArray();
    documentCount = documents.length;
  } else {
    counted();
    documentCount = await collection.estimatedDocumentCount();
    counted();
    documents =
      documentCount <= sampleSize
        ? await collection.find({}, { ...exactReadOptions, sort: { _id: 1 }, limit: sampleSize }).toArray()
        : await collection.aggregate<BsonDocument>([{ $sample: { size: sampleSize } }], exactReadOptions).toArray();
    counted();
    const indexes = await collection.listIndexes().toArray();
    ({ uniqueIndexes, keyFields } = readIndexes(indexes));
  }
  const sample: CollectionSample = {
    database: db.databaseName,
    name: info.name,
    kind,
    documents,
    documentCount,
    validator: jsonSchemaOf(info.options?.validator),
    uniqueIndexes,
    keyFields,
    defaults,
  };
  return inferCollection(sample);
}

function jsonSchemaOf(validator: Document | undefined): JsonSchema | null {
  const schema: unknown = validator?.['$jsonSchema'];
  return typeof schema === 'object' && schema !== null ? (schema as JsonSchema) : null;
}

/**
 * Unique indexes on plain fields become unique constraints. A partial index whose filter only requires
 * its own fields to exist or to have a type is SQL's UNIQUE (nulls never conflict), so it counts too;
 * other partial indexes are uniqueness over a subset of documents, which a unique constraint is not.
 */
export function readIndexes(indexes: readonly Document[]): { uniqueIndexes: UniqueConstraintModel[]; keyFields: string[] | null } {
  const uniqueIndexes: UniqueConstraintModel[] = [];
  let keyFields: string[] | null = null;
  for (const index of indexes) {
    if (index['unique'] !== true || index['name'] === '_id_') continue;
    const key = index['key'] as Document | undefined;
    const columns = Object.keys(key ?? {});
    if (columns.length === 0 || columns.some((column) => column.includes('.') || typeof key?.[column] !== 'number')) continue;
    if (!partialFilterIsNotNull(index['partialFilterExpression'] as Document | undefined, columns)) continue;
    if (index['name'] === keyIndexName) keyFields = columns;
    else uniqueIndexes.push({ name: String(index['name']), columns });
  }
  return { uniqueIndexes, keyFields };
}

function partialFilterIsNotNull(filter: Document | undefined, columns: readonly string[]): boolean {
  if (filter === undefined) return true;
  return Object.entries(filter).every(([field, condition]) => {
    if (!columns.includes(field) || typeof condition !== 'object' || condition === null) return false;
    return Object.entries(condition as Document).every(([operator, operand]) => (operator === '$exists' && operand === true) || operator === '$type');
  });
}
