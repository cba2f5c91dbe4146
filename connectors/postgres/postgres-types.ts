// PostgreSQL types → the contract's ValueType, and the codec that turns each column's text form (and
// its to_jsonb form, for captured row images) into canonical Values and canonical Values into
// parameter text. Domains arrive already resolved to their base type by the catalog query.
import { EntenteError } from '../../common/errors.ts';
import type { ScalarKind, Value, ValueType } from '../connector.ts';
import {
  base64ToByteaText,
  byteaTextToBase64,
  canonicalTimestamp,
  ExactNumber,
  exactJsonToPlain,
  formatArrayLiteral,
  parseArrayLiteral,
  type ArrayElementText,
  type ExactJson,
  type PgArray,
} from './pg-text.ts';

/** A column's type as the catalog query reports it (domains resolved to their base type). */
export interface PgTypeInfo {
  /** pg_type.typname of the base type, e.g. 'int4', 'numeric', 'customer_tier', '_text'. */
  readonly name: string;
  readonly schema: string;
  /** pg_type.typtype: b base, e enum, r range, m multirange, c composite, d domain (nested), p pseudo. */
  readonly typtype: string;
  /** Labels in sort order, for enums. */
  readonly enumValues: readonly string[] | null;
  /** Element type, for arrays. */
  readonly element: PgTypeInfo | null;
}

const scalarByTypeName: Readonly<Record<string, ScalarKind>> = {
  bool: 'Boolean',
  int2: 'Int',
  int4: 'Int',
  int8: 'BigInt',
  oid: 'BigInt',
  xid: 'BigInt',
  xid8: 'BigInt',
  numeric: 'Decimal',
  float4: 'Float',
  float8: 'Float',
  text: 'String',
  varchar: 'String',
  bpchar: 'String',
  char: 'String',
  name: 'String',
  citext: 'String',
  money: 'String',
  interval: 'String',
  inet: 'String',
  cidr: 'String',
  macaddr: 'String',
  macaddr8: 'String',
  xml: 'String',
  bit: 'String',
  varbit: 'String',
  timetz: 'String',
  tsvector: 'String',
  tsquery: 'String',
  uuid: 'UUID',
  json: 'JSON',
  jsonb: 'JSON',
  bytea: 'Bytes',
  timestamptz: 'DateTime',
  timestamp: 'DateTime',
  date: 'Date',
  time: 'Time',
};

/** The contract type of a PostgreSQL type; `Other` (kept as text, with a warning) for what has no faithful scalar. */
export function valueTypeOf(type: PgTypeInfo): ValueType {
  if (type.element !== null) return { kind: 'list', of: valueTypeOf(type.element) };
  if (type.typtype === 'e') return { kind: 'enum', name: type.name, values: type.enumValues ?? [] };
  if (type.typtype === 'b' && type.schema === 'pg_catalog') {
    const scalar = scalarByTypeName[type.name];
    if (scalar !== undefined) return { kind: 'scalar', scalar };
  }
  if (type.typtype === 'b' && type.name === 'citext') return { kind: 'scalar', scalar: 'String' };
  return { kind: 'scalar', scalar: 'Other' };
}

/** True when the type (or an array's element) maps to `Other`: introspection warns about it. */
export function isUnsupported(type: ValueType): boolean {
  if (type.kind === 'list') return isUnsupported(type.of);
  return type.kind === 'scalar' && type.scalar === 'Other';
}

/** Converts one column's values across the seam. */
export interface ColumnCodec {
  readonly type: ValueType;
  /** The column's text output → canonical Value. */
  fromText(text: string | null): Value;
  /** The column's value inside a to_jsonb row image → canonical Value. */
  fromJson(value: ExactJson | undefined): Value;
  /** Canonical Value → parameter text the column's input function accepts. */
  toParam(value: Value, column: string): string | null;
}

export function codecFor(type: ValueType): ColumnCodec {
  return {
    type,
    fromText: (text) => (text === null ? null : scalarFromText(type, text)),
    fromJson: (value) => (value === undefined || value === null ? null : valueFromJson(type, value)),
    toParam: (value, column) => (value === null ? null : valueToParam(type, value, column)),
  };
}

function scalarFromText(type: ValueType, text: string): Value {
  if (type.kind === 'list') return arrayFromText(type.of, parseArrayLiteral(text));
  if (type.kind !== 'scalar') return text;
  switch (type.scalar) {
    case 'Boolean':
      return text === 't' || text === 'true';
    case 'Int':
      return Number(text);
    case 'Float':
      return floatFromText(text);
    case 'DateTime':
      return canonicalTimestamp(text);
    case 'JSON':
      return JSON.parse(text) as Value;
    case 'Bytes':
      return byteaTextToBase64(text);
    default:
      return text;
  }
}

function arrayFromText(element: ValueType, array: PgArray): Value {
  return array.map((item): Value => {
    if (item === null) return null;
    if (typeof item === 'string') return scalarFromText(element, item);
    return arrayFromText(element, item);
  });
}

function floatFromText(text: string): number | string {
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return text;
  return Number(text);
}

function valueFromJson(type: ValueType, value: ExactJson): Value {
  if (type.kind === 'list') {
    if (!Array.isArray(value)) return jsonFallback(value);
    return (value as readonly ExactJson[]).map((item) => (item === null ? null : valueFromJson(type.of, item)));
  }
  if (type.kind === 'enum' && typeof value === 'string') return value;
  if (type.kind !== 'scalar') return jsonFallback(value);
  if (type.scalar === 'JSON') return exactJsonToPlain(value) as Value;
  if (value instanceof ExactNumber) {
    if (type.scalar === 'Int' || type.scalar === 'Float') return Number(value.text);
    return value.text;
  }
  if (typeof value === 'string') {
    if (type.scalar === 'Float') return floatFromText(value);
    return scalarFromText(type, value);
  }
  if (typeof value === 'boolean') return value;
  return jsonFallback(value);
}

/** A to_jsonb image of something with no text-form equivalent (composite types): its JSON text. */
function jsonFallback(value: ExactJson): Value {
  return JSON.stringify(exactJsonToPlain(value));
}

function valueToParam(type: ValueType, value: Value, column: string): string {
  if (type.kind === 'list') {
    if (!Array.isArray(value)) throw wrongValue(column, 'a list', value);
    return formatArrayLiteral(arrayToText(type.of, value as readonly Value[], column));
  }
  if (type.kind === 'scalar' && type.scalar === 'JSON') return JSON.stringify(value);
  if (type.kind === 'scalar' && type.scalar === 'Bytes') {
    if (typeof value !== 'string') throw wrongValue(column, 'a base64 string', value);
    return base64ToByteaText(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return String(value);
  }
  if (typeof value === 'string') return value;
  throw wrongValue(column, 'a scalar', value);
}

function arrayToText(element: ValueType, values: readonly Value[], column: string): readonly ArrayElementText[] {
  return values.map((item): ArrayElementText => {
    if (item === null) return null;
    if (Array.isArray(item) && !(element.kind === 'scalar' && element.scalar === 'JSON')) return arrayToText(element, item as readonly Value[], column);
    return valueToParam(element, item, column);
  });
}

function wrongValue(column: string, expected: string, value: Value): EntenteError {
  const shape = Array.isArray(value) ? 'a list' : typeof value;
  return new EntenteError('USAGE', `Column "${column}" expects ${expected}, but the value given is ${shape}; pass the canonical form documented on Value in connectors/connector.ts.`);
}
