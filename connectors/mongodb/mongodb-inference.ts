// Schema inference for a MongoDB collection: a pure function from sample documents (plus the
// collection's $jsonSchema validator and unique indexes, if any) to the contract's TableModel.
//
// Method: every sampled document is walked once; per field path we count how often the field was
// present, how often it was null, and which BSON types it held (recursively for embedded documents
// and array elements). Each field then gets one ValueType:
// - one BSON type → its scalar (objectId → ObjectId, long → BigInt, decimal → Decimal, date → DateTime,
//   binData subtype 4 → UUID, other binData → Bytes), an embedded document → `object` with its own
//   inferred fields, an array → `list` of the merged element type;
// - several numeric types widen without loss: int+long → BigInt, int+double → Float, anything with
//   decimal (or long with double) → Decimal (exact decimal strings);
// - any other mix (say string and int) → JSON, the union-safe scalar, with a MIXED_TYPES warning;
// - a field absent from some documents, or null in some, is nullable (`_id` never is).
// The $jsonSchema validator wins where it speaks: its bsonType/required/enum replace what the sample
// says for the properties it declares; fields seen only in the sample are kept unless the validator
// forbids additional properties. Limits: sampled documents (the caller's $sample size), nesting depth
// and fields per object are bounded; what lies beyond becomes JSON with a warning.
import type { ColumnModel, EnumModel, FieldModel, IntrospectionWarning, ScalarKind, TableKind, TableModel, TableRef, UniqueConstraintModel, Value, ValueType } from '../connector.ts';
import { bsonTypeName, type BsonDocument, type BsonTypeName, type BsonValue } from './mongodb-values.ts';

/** Nesting levels inferred as object types; deeper documents become JSON. */
export const inferenceDepthMax = 8;
/** Distinct fields tracked per object; further fields are folded into a warning and ignored. */
export const inferenceFieldsPerObjectMax = 500;

interface FieldStats {
  present: number;
  nulls: number;
  readonly types: Map<BsonTypeName, number>;
  /** Statistics of embedded documents seen in this field. */
  objects: ObjectStats | undefined;
  /** Statistics of the elements of arrays seen in this field (as a pseudo-field). */
  elements: FieldStats | undefined;
}

interface ObjectStats {
  count: number;
  readonly fields: Map<string, FieldStats>;
  overflowFields: number;
}

function newField(): FieldStats {
  return { present: 0, nulls: 0, types: new Map(), objects: undefined, elements: undefined };
}

function newObject(): ObjectStats {
  return { count: 0, fields: new Map(), overflowFields: 0 };
}

function observeValue(stats: FieldStats, value: BsonValue, depth: number): void {
  stats.present += 1;
  const type = bsonTypeName(value);
  if (type === 'null' || type === 'undefined') {
    stats.nulls += 1;
    return;
  }
  stats.types.set(type, (stats.types.get(type) ?? 0) + 1);
  if (depth >= inferenceDepthMax) return;
  if (type === 'object') {
    stats.objects ??= newObject();
    observeObject(stats.objects, value as BsonDocument, depth + 1);
  } else if (type === 'array') {
    stats.elements ??= newField();
    for (const element of value as readonly BsonValue[]) observeValue(stats.elements, element, depth + 1);
  }
}

function observeObject(stats: ObjectStats, document: BsonDocument, depth: number): void {
  stats.count += 1;
  for (const [name, value] of Object.entries(document)) {
    let field = stats.fields.get(name);
    if (field === undefined) {
      if (stats.fields.size >= inferenceFieldsPerObjectMax) {
        stats.overflowFields += 1;
        continue;
      }
      field = newField();
      stats.fields.set(name, field);
    }
    observeValue(field, value, depth);
  }
}

// ─── Deciding types ──────────────────────────────────────────────────────────────────────────────

const numericTypes: ReadonlySet<BsonTypeName> = new Set(['int', 'long', 'double', 'decimal']);

const singleTypeScalars: Partial<Record<BsonTypeName, ScalarKind>> = {
  string: 'String', symbol: 'String', bool: 'Boolean', date: 'DateTime', objectId: 'ObjectId', uuid: 'UUID', binData: 'Bytes',
  int: 'Int', long: 'BigInt', double: 'Float', decimal: 'Decimal',
};

/** The scalar that holds every numeric type in the set exactly, or undefined if the set is not all numeric. */
export function widenNumeric(types: ReadonlySet<BsonTypeName>): ScalarKind | undefined {
  if (types.size === 0 || [...types].some((type) => !numericTypes.has(type))) return undefined;
  if (types.has('decimal') || (types.has('long') && types.has('double'))) return 'Decimal';
  if (types.has('double')) return 'Float';
  if (types.has('long')) return 'BigInt';
  return 'Int';
}

interface Decision {
  readonly type: ValueType;
  readonly nativeType: string;
}

interface Context {
  readonly table: TableRef;
  readonly warnings: IntrospectionWarning[];
}

const json: ValueType = { kind: 'scalar', scalar: 'JSON' };

function nativeTypeOf(stats: FieldStats): string {
  const names = [...stats.types.keys()].sort();
  if (stats.nulls > 0) names.push('null');
  return names.length === 0 ? 'null' : names.join('|');
}

function decide(stats: FieldStats, path: string, context: Context): Decision {
  const types = new Set(stats.types.keys());
  const nativeType = nativeTypeOf(stats);
  if (types.size === 0) return { type: json, nativeType };
  const numeric = widenNumeric(types);
  if (numeric !== undefined) return { type: { kind: 'scalar', scalar: numeric }, nativeType };
  if (types.size > 1) {
    warn(context, 'MIXED_TYPES', path, `Field '${path}' holds several BSON types (${nativeType}); it is exposed as JSON. Add a $jsonSchema validator with one bsonType to give it a precise type.`);
    return { type: json, nativeType };
  }
  const [only] = types;
  if (only === 'object') {
    if (stats.objects === undefined) return depthExceeded(path, nativeType, context);
    return { type: { kind: 'object', fields: objectFields(stats.objects, path, context) }, nativeType };
  }
  if (only === 'array') {
    if (stats.elements === undefined) return depthExceeded(path, nativeType, context);
    const element = decide(stats.elements, `${path}[]`, context);
    return { type: { kind: 'list', of: element.type }, nativeType: `array<${element.nativeType}>` };
  }
  const scalar = only === undefined ? undefined : singleTypeScalars[only];
  if (scalar !== undefined) return { type: { kind: 'scalar', scalar }, nativeType };
  warn(context, 'UNSUPPORTED_TYPE', path, `Field '${path}' holds BSON ${nativeType}, which has no GraphQL counterpart; it is exposed as its Extended JSON text (a string).`);
  return { type: { kind: 'scalar', scalar: 'Other' }, nativeType };
}

function depthExceeded(path: string, nativeType: string, context: Context): Decision {
  warn(context, 'OTHER', path, `Field '${path}' is nested deeper than ${inferenceDepthMax} levels; it is exposed as JSON.`);
  return { type: json, nativeType };
}

/** The inferred fields of an object, except those in `declared` (a validator decides those; no warnings for them). */
function objectFields(stats: ObjectStats, path: string, context: Context, declared: ReadonlySet<string> = new Set()): FieldModel[] {
  if (stats.overflowFields > 0) {
    warn(context, 'OTHER', path, `Object '${path}' has more than ${inferenceFieldsPerObjectMax} distinct fields in the sample; the rest are not exposed. Such documents are usually maps: model them as JSON with a $jsonSchema validator.`);
  }
  return [...stats.fields.entries()]
    .filter(([name]) => !declared.has(name))
    .sort(([a], [b]) => compareCodeUnits(a, b))
    .map(([name, field]) => {
      const decision = decide(field, `${path}.${name}`, context);
      return { name, type: decision.type, nullable: field.nulls > 0 || field.present < stats.count };
    });
}

function warn(context: Context, code: IntrospectionWarning['code'], column: string | null, message: string): void {
  context.warnings.push({ code, table: context.table, column, message });
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ─── $jsonSchema ─────────────────────────────────────────────────────────────────────────────────

/** The subset of MongoDB's $jsonSchema dialect that describes types. */
export interface JsonSchema {
  readonly bsonType?: string | readonly string[];
  readonly type?: string | readonly string[];
  readonly properties?: { readonly [name: string]: JsonSchema };
  readonly required?: readonly string[];
  readonly items?: JsonSchema | readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly description?: string;
  /** Names the enum type when the property has `enum`. */
  readonly title?: string;
}

const schemaTypeAliases: Readonly<Record<string, BsonTypeName | 'number'>> = {
  double: 'double', string: 'string', object: 'object', array: 'array', binData: 'binData', objectId: 'objectId', bool: 'bool',
  boolean: 'bool', date: 'date', null: 'null', regex: 'regex', javascript: 'javascript', int: 'int', timestamp: 'timestamp',
  long: 'long', decimal: 'decimal', minKey: 'minKey', maxKey: 'maxKey', number: 'number', symbol: 'symbol',
};

interface SchemaDecision {
  readonly type: ValueType;
  readonly nativeType: string;
  readonly allowsNull: boolean;
  readonly description: string | null;
}

function asList<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

/** The type a $jsonSchema property declares, merged with what the sample saw inside it; undefined if it declares none. */
function decideFromSchema(schema: JsonSchema, sample: FieldStats | undefined, path: string, context: Context, enums: EnumModel[]): SchemaDecision | undefined {
  const declared = [...asList(schema.bsonType), ...asList(schema.type)].map((name) => schemaTypeAliases[name]);
  const description = schema.description ?? null;
  if (schema.enum !== undefined && schema.enum.length > 0 && schema.enum.every((value) => typeof value === 'string')) {
    const name = schema.title ?? `${context.table.name}_${path.replace(/[^A-Za-z0-9_]/g, '_')}`;
    const values = [...new Set(schema.enum as readonly string[])];
    enums.push({ schema: context.table.schema, name, values });
    return { type: { kind: 'enum', name, values }, nativeType: 'string', allowsNull: declared.includes('null'), description };
  }
  // A property the validator lists without constraining its type may hold anything: JSON.
  if (declared.length === 0) return { type: json, nativeType: 'any', allowsNull: true, description };
  if (declared.includes(undefined)) return undefined;
  const allowsNull = declared.includes('null');
  const nonNull = new Set(declared.filter((name): name is BsonTypeName | 'number' => name !== 'null' && name !== undefined));
  const nativeType = [...nonNull].sort().join('|') + (allowsNull ? '|null' : '');
  if (nonNull.has('number')) {
    nonNull.delete('number');
    for (const numeric of numericTypes) nonNull.add(numeric);
  }
  const types = nonNull as Set<BsonTypeName>;
  if (types.size === 1 && types.has('object')) {
    return { type: { kind: 'object', fields: mergeObject(schema, sample?.objects, path, context, enums) }, nativeType, allowsNull, description };
  }
  if (types.size === 1 && types.has('array')) {
    const itemSchema = Array.isArray(schema.items) ? undefined : (schema.items as JsonSchema | undefined);
    const fromSchema = itemSchema === undefined ? undefined : decideFromSchema(itemSchema, sample?.elements, `${path}[]`, context, enums);
    const element = fromSchema?.type ?? (sample?.elements === undefined ? json : decide(sample.elements, `${path}[]`, context).type);
    return { type: { kind: 'list', of: element }, nativeType, allowsNull, description };
  }
  const stats: FieldStats = { present: 1, nulls: 0, types: new Map([...types].map((type) => [type, 1])), objects: sample?.objects, elements: sample?.elements };
  return { ...decide(stats, path, context), nativeType, allowsNull, description };
}

function mergeObject(schema: JsonSchema, sample: ObjectStats | undefined, path: string, context: Context, enums: EnumModel[]): FieldModel[] {
  const fields = new Map<string, FieldModel>();
  const inferred = sample === undefined ? [] : objectFields(sample, path, context, new Set(Object.keys(schema.properties ?? {})));
  const closed = schema.additionalProperties === false;
  for (const field of inferred) if (!closed || schema.properties?.[field.name] !== undefined) fields.set(field.name, field);
  const required = new Set(schema.required ?? []);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const decision = decideFromSchema(property, sample?.fields.get(name), `${path}.${name}`, context, enums);
    const previous = fields.get(name);
    const type = decision?.type ?? previous?.type ?? json;
    fields.set(name, { name, type, nullable: decision?.allowsNull === true || !required.has(name) });
  }
  return [...fields.values()].sort((a, b) => compareCodeUnits(a.name, b.name));
}

// ─── The collection model ────────────────────────────────────────────────────────────────────────

export interface CollectionSample {
  readonly database: string;
  readonly name: string;
  readonly kind: Extract<TableKind, 'collection' | 'view'>;
  /** Sampled documents (at most the sample size the caller chose). */
  readonly documents: readonly BsonDocument[];
  /** The collection's document count (estimated is fine); reported in the SAMPLED warning. */
  readonly documentCount: number;
  readonly validator: JsonSchema | null;
  readonly uniqueIndexes: readonly UniqueConstraintModel[];
  /**
   * The fields of the collection's `entente_key` unique index, if it has one: they are then the primary
   * key and `_id` (a surrogate MongoDB fills in) is not exposed. Null: the primary key is `_id`.
   */
  readonly keyFields: readonly string[] | null;
  /**
   * Column defaults in canonical form, from the `entente_defaults` collection (MongoDB has no column
   * defaults of its own); the connector fills them in on insert. Absent: none.
   */
  readonly defaults?: { readonly [field: string]: Value };
}

export interface InferredCollection {
  readonly table: TableModel;
  readonly enums: readonly EnumModel[];
  readonly warnings: readonly IntrospectionWarning[];
}

/** The TableModel of one collection; pure: same sample, same model. */
export function inferCollection(sample: CollectionSample): InferredCollection {
  const table: TableRef = { schema: sample.database, name: sample.name };
  const context: Context = { table, warnings: [] };
  const enums: EnumModel[] = [];
  const stats = newObject();
  for (const document of sample.documents) observeObject(stats, document, 1);
  if (sample.documentCount > sample.documents.length) {
    warn(context, 'SAMPLED', null, `Collection '${sample.name}': fields inferred from ${sample.documents.length} sampled documents of about ${sample.documentCount}; a field present only in unsampled documents is not exposed. A $jsonSchema validator makes the model exact.`);
  }
  const columns = buildColumns(stats, sample, context, enums);
  const writable = sample.kind === 'collection';
  return {
    table: {
      schema: sample.database,
      name: sample.name,
      kind: sample.kind,
      comment: sample.validator?.description ?? null,
      columns,
      // A view has no key of its own (its documents may not even have an _id): read-only, like SQL views.
      primaryKey: sample.kind === 'view' ? null : sample.keyFields ?? ['_id'],
      uniqueConstraints: [...sample.uniqueIndexes].sort((a, b) => compareCodeUnits(a.name, b.name)),
      foreignKeys: [],
      writable,
    },
    enums,
    warnings: context.warnings,
  };
}

function buildColumns(stats: ObjectStats, sample: CollectionSample, context: Context, enums: EnumModel[]): ColumnModel[] {
  const validator = sample.validator;
  const names = new Set(stats.fields.keys());
  if (validator !== null) {
    for (const name of Object.keys(validator.properties ?? {})) names.add(name);
    if (validator.additionalProperties === false) for (const name of names) if (validator.properties?.[name] === undefined && name !== '_id') names.delete(name);
  }
  const keyFields = sample.kind === 'view' ? [] : sample.keyFields ?? ['_id'];
  for (const name of keyFields) names.add(name);
  if (!keyFields.includes('_id')) names.delete('_id');
  // Key fields first, in key order, then the others in code-unit order: stable across samples.
  const others = [...names].filter((name) => !keyFields.includes(name)).sort(compareCodeUnits);
  const ordered = [...keyFields, ...others];
  const required = new Set(validator?.required ?? []);
  return ordered.map((name, index) => {
    const field = stats.fields.get(name);
    const property = validator?.properties?.[name];
    const fromSchema = property === undefined ? undefined : decideFromSchema(property, field, name, context, enums);
    const inferred =
      fromSchema !== undefined ? fromSchema
      : field === undefined ? { type: name === '_id' ? objectIdType : json, nativeType: name === '_id' ? 'objectId' : 'null' }
      : decide(field, name, context);
    const nullable =
      keyFields.includes(name) ? false
      : fromSchema !== undefined || property !== undefined ? fromSchema?.allowsNull === true || !required.has(name)
      : field === undefined || field.nulls > 0 || field.present < stats.count;
    return {
      name,
      ordinal: index + 1,
      nativeType: fromSchema?.nativeType ?? inferred.nativeType,
      type: fromSchema?.type ?? inferred.type,
      nullable,
      defaultExpression: sample.defaults?.[name] === undefined ? null : JSON.stringify(sample.defaults[name]),
      // MongoDB fills in _id (an ObjectId) when a document is inserted without one.
      generated: name === '_id' && (fromSchema?.type ?? inferred.type).kind === 'scalar' && ((fromSchema?.type ?? inferred.type) as { scalar: ScalarKind }).scalar === 'ObjectId',
      comment: fromSchema?.description ?? null,
    };
  });
}

const objectIdType: ValueType = { kind: 'scalar', scalar: 'ObjectId' };
