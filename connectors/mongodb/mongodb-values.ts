// BSON ↔ the canonical `Value` of the connector contract (see connectors/connector.ts).
//
// Reading is faithful and exact: ObjectId → 24 lowercase hex chars, Int64 (Long, bigint) and Decimal128
// → exact decimal strings (never through a JS number), Date → ISO-8601 UTC, Binary → base64, Binary
// subtype 4 → UUID string, embedded documents → objects, arrays → arrays. Types with no canonical form
// (Timestamp, regular expressions, JavaScript code, MinKey/MaxKey, DBRef) become their canonical
// Extended JSON text, as a string — the database's own text form, as the contract asks for "Other".
//
// Writing is directed by the column's ValueType, so the stored BSON type is the one the model promises
// (a Float column stores a Double even for 1, a BigInt column a Long, a UUID column a Binary subtype 4).
// The client is opened with promoteValues: false so Int32 and Double stay distinguishable when reading;
// both promoted (plain number, bigint, Buffer) and unpromoted forms are accepted here.
import { Binary, BSON, Decimal128, Double, Int32, Long, ObjectId, UUID } from 'mongodb';
import type { FieldModel, ScalarKind, Value, ValueType } from '../connector.ts';
import { EntenteError } from '../../common/errors.ts';
import { assertNever } from '../../common/assert.ts';

/**
 * Options for every read that returns documents: keep Int32/Double/Long and Binary as BSON classes so the
 * exact BSON type survives (a promoted 1.0 would be indistinguishable from the Int32 1).
 */
export const exactReadOptions = Object.freeze({ promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true });

/** A decoded BSON value as the driver hands it over (unknown shape: documents come from the database). */
export type BsonValue = unknown;
export type BsonDocument = { readonly [field: string]: BsonValue };

/** The BSON type names MongoDB uses ($type aliases), plus 'missing' and the JS forms the driver may promote. */
export type BsonTypeName =
  | 'double' | 'string' | 'object' | 'array' | 'binData' | 'uuid' | 'objectId' | 'bool' | 'date' | 'null'
  | 'regex' | 'javascript' | 'symbol' | 'int' | 'timestamp' | 'long' | 'decimal' | 'minKey' | 'maxKey' | 'dbPointer' | 'undefined';

const bsontypeNames: Readonly<Record<string, BsonTypeName>> = {
  Double: 'double', Int32: 'int', Long: 'long', Decimal128: 'decimal', ObjectId: 'objectId', Binary: 'binData',
  Timestamp: 'timestamp', BSONRegExp: 'regex', Code: 'javascript', BSONSymbol: 'symbol', MinKey: 'minKey',
  MaxKey: 'maxKey', DBRef: 'dbPointer',
};

function bsontypeOf(value: object): string | undefined {
  const tag = (value as { _bsontype?: unknown })._bsontype;
  return typeof tag === 'string' ? tag : undefined;
}

/** The BSON type of a decoded value, as MongoDB's $type operator names it (UUIDs get their own name). */
export function bsonTypeName(value: BsonValue): BsonTypeName {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'boolean': return 'bool';
    case 'string': return 'string';
    // A promoted number: integral values that fit 32 bits were Int32 on the wire, others Double.
    case 'number': return Number.isInteger(value) && Math.abs(value) <= 0x7fffffff ? 'int' : 'double';
    case 'bigint': return 'long';
    case 'object': break;
    default: return 'javascript';
  }
  if (Array.isArray(value)) return 'array';
  if (value instanceof Date) return 'date';
  if (value instanceof RegExp) return 'regex';
  if (value instanceof Uint8Array) return 'binData';
  const tag = bsontypeOf(value);
  if (tag === 'Binary') return (value as Binary).sub_type === Binary.SUBTYPE_UUID ? 'uuid' : 'binData';
  if (tag !== undefined) return bsontypeNames[tag] ?? 'object';
  return 'object';
}

// ─── BSON → Value ────────────────────────────────────────────────────────────────────────────────

/** The canonical Value of any BSON value, without a model (used for JSON columns and unknown fields). */
export function bsonToValue(value: BsonValue): Value {
  const type = bsonTypeName(value);
  switch (type) {
    case 'null':
    case 'undefined':
      return null;
    case 'bool':
      return value as boolean;
    case 'string':
    case 'symbol':
      return String(value instanceof Object && 'value' in value ? (value as { value: unknown }).value : value);
    case 'int':
    case 'double':
      return numberToValue(typeof value === 'number' ? value : (value as Int32 | Double).value);
    case 'long':
      return typeof value === 'bigint' ? value.toString() : (value as Long).toString();
    case 'decimal':
      return decimal128ToPlainString(value as Decimal128);
    case 'objectId':
      return (value as ObjectId).toHexString();
    case 'date':
      return dateToIso(value as Date);
    case 'uuid':
      return uuidToString(value as Binary);
    case 'binData':
      return value instanceof Uint8Array ? Buffer.from(value).toString('base64') : (value as Binary).toString('base64');
    case 'array':
      return (value as readonly BsonValue[]).map(bsonToValue);
    case 'object':
      return documentToJson(value as BsonDocument);
    case 'regex':
    case 'javascript':
    case 'timestamp':
    case 'minKey':
    case 'maxKey':
    case 'dbPointer':
      return BSON.EJSON.stringify(value as never, { relaxed: false });
    default:
      return assertNever(type);
  }
}

function documentToJson(document: BsonDocument): { readonly [key: string]: Value } {
  const result: Record<string, Value> = {};
  for (const [key, field] of Object.entries(document)) result[key] = bsonToValue(field);
  return result;
}

function numberToValue(value: number): Value {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return Object.is(value, -0) ? 0 : value;
}

function dateToIso(date: Date): Value {
  // An out-of-range BSON date (beyond ±8.64e15 ms) decodes to an Invalid Date; it has no ISO form.
  // Canonical DateTimes carry six fractional digits (as the SQL connectors print them); BSON has three.
  return Number.isNaN(date.getTime()) ? null : date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function uuidToString(binary: Binary): string {
  return binary.toUUID().toHexString(true).toLowerCase();
}

/**
 * Decimal128's own text form uses exponent notation for some values ('1.20E-7', '1E+3'); the contract
 * wants a plain decimal string. The digits are kept exactly, trailing zeros (the scale) included.
 */
export function decimal128ToPlainString(value: Decimal128): string {
  const text = value.toString();
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return text;
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:E([+-]\d+))?$/.exec(text);
  if (match === null) throw new EntenteError('DB_UNSUPPORTED', `Decimal128 text form '${text}' was not recognised; report this value to the Entente maintainers.`);
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const digits = (whole + fraction).replace(/^0+(?=\d)/, '');
  const exponent = Number(exponentText) - fraction.length;
  let plain: string;
  if (exponent >= 0) plain = digits === '0' ? '0' : digits + '0'.repeat(exponent);
  else {
    const padded = digits.padStart(-exponent + 1, '0');
    plain = `${padded.slice(0, padded.length + exponent)}.${padded.slice(padded.length + exponent)}`;
  }
  return /^[0.]+$/.test(plain) ? plain : sign + plain;
}

/** The canonical Value of a BSON value for a column of the given type (the model decides the shape). */
export function bsonToTypedValue(value: BsonValue, type: ValueType): Value {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'scalar':
      return scalarToValue(value, type.scalar);
    case 'enum':
      return bsonToValue(value);
    case 'list':
      return Array.isArray(value) ? value.map((element: BsonValue) => bsonToTypedValue(element, type.of)) : bsonToValue(value);
    case 'object':
      return bsonTypeName(value) === 'object' ? documentToTypedObject(value as BsonDocument, type.fields) : bsonToValue(value);
    default:
      return assertNever(type);
  }
}

function scalarToValue(value: BsonValue, scalar: ScalarKind): Value {
  const generic = bsonToValue(value);
  switch (scalar) {
    case 'BigInt':
    case 'Decimal':
      // Every numeric BSON type widens to an exact decimal string here.
      return typeof generic === 'number' ? String(generic) : generic;
    case 'String':
    case 'Other':
      return typeof generic === 'string' || generic === null ? generic : JSON.stringify(generic);
    default:
      return generic;
  }
}

/** A document as a Row/object with exactly the model's fields (absent fields → null). */
export function documentToTypedObject(document: BsonDocument, fields: readonly FieldModel[]): { readonly [key: string]: Value } {
  const result: Record<string, Value> = {};
  for (const field of fields) result[field.name] = bsonToTypedValue(document[field.name], field.type);
  return result;
}

// ─── Value → BSON ────────────────────────────────────────────────────────────────────────────────

/** The BSON value to store for a canonical Value in a column of the given type. Throws USAGE on a mismatch. */
export function valueToBson(value: Value, type: ValueType, column: string): BsonValue {
  if (value === null) return null;
  switch (type.kind) {
    case 'scalar':
      return scalarToBson(value, type.scalar, column);
    case 'enum':
      if (typeof value !== 'string' || !type.values.includes(value)) throw mismatch(column, `one of ${type.values.join(', ')}`, value);
      return value;
    case 'list':
      if (!Array.isArray(value)) throw mismatch(column, 'a list', value);
      return (value as readonly Value[]).map((element) => valueToBson(element, type.of, column));
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) throw mismatch(column, 'an object', value);
      const object = value as { readonly [key: string]: Value };
      const result: Record<string, BsonValue> = {};
      const byName = new Map(type.fields.map((field) => [field.name, field]));
      for (const [key, fieldValue] of Object.entries(object)) {
        const field = byName.get(key);
        result[key] = field === undefined ? jsonToBson(fieldValue) : valueToBson(fieldValue, field.type, `${column}.${key}`);
      }
      return result;
    }
    default:
      return assertNever(type);
  }
}

function scalarToBson(value: Value, scalar: ScalarKind, column: string): BsonValue {
  switch (scalar) {
    case 'Boolean':
      if (typeof value !== 'boolean') throw mismatch(column, 'a boolean', value);
      return value;
    case 'Int':
      if (typeof value !== 'number' || !Number.isInteger(value) || Math.abs(value) > 0x7fffffff) throw mismatch(column, 'a 32-bit integer', value);
      return new Int32(value);
    case 'Float':
      return new Double(floatFromValue(value, column));
    case 'BigInt':
      return Long.fromString(integerText(value, column));
    case 'Decimal':
      if ((typeof value !== 'string' || !/^-?(\d+(\.\d*)?|\.\d+)(E[+-]?\d+)?$/i.test(value)) && typeof value !== 'number') throw mismatch(column, 'a decimal string', value);
      return Decimal128.fromString(String(value));
    case 'DateTime': {
      const date = typeof value === 'string' ? new Date(value) : undefined;
      if (date === undefined || Number.isNaN(date.getTime())) throw mismatch(column, 'an ISO-8601 date-time', value);
      // BSON dates hold milliseconds: microseconds from another database are truncated (documented in README).
      return date;
    }
    case 'UUID':
      if (typeof value !== 'string' || !UUID.isValid(value)) throw mismatch(column, 'a UUID string', value);
      return new UUID(value);
    case 'ObjectId':
      if (typeof value !== 'string' || !/^[0-9a-fA-F]{24}$/.test(value)) throw mismatch(column, '24 hex characters (an ObjectId)', value);
      return ObjectId.createFromHexString(value);
    case 'Bytes':
      if (typeof value !== 'string') throw mismatch(column, 'base64 bytes', value);
      return new Binary(Buffer.from(value, 'base64'));
    case 'JSON':
      return jsonToBson(value);
    case 'String':
    case 'Date':
    case 'Time':
    case 'Other':
      // MongoDB has no date-only or time-only type: the canonical text sorts and compares correctly as a string.
      if (typeof value !== 'string') throw mismatch(column, 'a string', value);
      return value;
    default:
      return assertNever(scalar);
  }
}

function floatFromValue(value: Value, column: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  throw mismatch(column, 'a number', value);
}

function integerText(value: Value, column: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) {
    const parsed = BigInt(value);
    if (parsed >= -(2n ** 63n) && parsed < 2n ** 63n) return value;
  }
  throw mismatch(column, 'a 64-bit integer as a decimal string', value);
}

/** A JSON Value stored as plain BSON (numbers as Int32 when integral and small, else Double). */
export function jsonToBson(value: Value): BsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return (value as readonly Value[]).map(jsonToBson);
  const result: Record<string, BsonValue> = {};
  for (const [key, field] of Object.entries(value as { readonly [key: string]: Value })) result[key] = jsonToBson(field);
  return result;
}

function mismatch(column: string, expected: string, value: Value): EntenteError {
  const shown = typeof value === 'string' ? `'${value.slice(0, 40)}'` : Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : String(value);
  return new EntenteError('USAGE', `Field '${column}' expects ${expected}, got ${shown}; pass the value in the canonical form documented on Value in connectors/connector.ts.`, {
    details: { column },
  });
}
