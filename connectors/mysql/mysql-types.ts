// From MySQL/MariaDB column types to the contract's value types. Each column gets a `ColumnCodec`: the
// one decision, made once at introspection, that every later conversion (rows read, parameters bound,
// captured images decoded, trigger expressions) follows, so all paths agree on a column's Value.
import type { ScalarKind, ValueType } from '../connector.ts';

export type CodecKind =
  | 'boolean' // tinyint(1), bool
  | 'int' // signed integers up to 32 bits, mediumint, smallint, unsigned below 32 bits
  | 'bigint' // bigint (signed or unsigned) and int unsigned: exact decimal strings
  | 'decimal'
  | 'float'
  | 'string'
  | 'datetime' // wall-clock, read as UTC
  | 'timestamp' // an instant, stored UTC
  | 'date'
  | 'time'
  | 'year'
  | 'json'
  | 'bytes'
  | 'bit-boolean'
  | 'bit-integer'
  | 'enum'
  | 'set'
  | 'uuid'
  | 'geometry'
  | 'other';

export interface ColumnCodec {
  readonly kind: CodecKind;
  /** Fractional-second digits of datetime/timestamp/time columns (0–6). */
  readonly fractionDigits: number;
  /** Labels of enum and set columns, in declaration order. */
  readonly labels: readonly string[];
}

const geometryTypes = new Set(['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection']);
const stringTypes = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'inet4', 'inet6']);
const byteTypes = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

/**
 * `dataType` and `columnType` are information_schema.COLUMNS.DATA_TYPE and COLUMN_TYPE; `isJson` is
 * true when the column is MySQL's JSON type or MariaDB's JSON alias (longtext CHECK (json_valid(col))).
 */
export function codecFor(dataType: string, columnType: string, isJson: boolean, fractionDigits: number): ColumnCodec {
  const base = dataType.toLowerCase();
  const full = columnType.toLowerCase();
  const unsigned = full.includes('unsigned');
  const plain = (kind: CodecKind): ColumnCodec => ({ kind, fractionDigits, labels: [] });
  if (isJson || base === 'json') return plain('json');
  if (base === 'tinyint' && /^tinyint\(1\)/.test(full)) return plain('boolean');
  if (base === 'bigint') return plain('bigint');
  if (base === 'int' || base === 'integer') return plain(unsigned ? 'bigint' : 'int');
  if (base === 'tinyint' || base === 'smallint' || base === 'mediumint') return plain('int');
  if (base === 'decimal' || base === 'numeric') return plain('decimal');
  if (base === 'float' || base === 'double' || base === 'real') return plain('float');
  if (base === 'datetime') return plain('datetime');
  if (base === 'timestamp') return plain('timestamp');
  if (base === 'date') return plain('date');
  if (base === 'time') return plain('time');
  if (base === 'year') return plain('year');
  if (base === 'bit') return plain(/^bit\(1\)/.test(full) ? 'bit-boolean' : 'bit-integer');
  if (base === 'enum') return { kind: 'enum', fractionDigits, labels: parseLabels(columnType) };
  if (base === 'set') return { kind: 'set', fractionDigits, labels: parseLabels(columnType) };
  if (base === 'uuid') return plain('uuid');
  if (geometryTypes.has(base)) return plain('geometry');
  if (stringTypes.has(base)) return plain('string');
  if (byteTypes.has(base)) return plain('bytes');
  return plain('other');
}

/** The labels of `enum('a','b''c')` / `set(...)`, as MySQL prints them in COLUMN_TYPE. */
export function parseLabels(columnType: string): readonly string[] {
  const open = columnType.indexOf('(');
  const body = columnType.slice(open + 1, columnType.lastIndexOf(')'));
  const labels: string[] = [];
  let index = 0;
  while (index < body.length) {
    if (body[index] !== "'") {
      index += 1;
      continue;
    }
    let label = '';
    index += 1;
    while (index < body.length) {
      const char = body[index];
      if (char === "'" && body[index + 1] === "'") {
        label += "'";
        index += 2;
      } else if (char === '\\' && index + 1 < body.length) {
        label += body[index + 1];
        index += 2;
      } else if (char === "'") {
        index += 1;
        break;
      } else {
        label += char;
        index += 1;
      }
    }
    labels.push(label);
  }
  return labels;
}

const scalarOf: Readonly<Record<Exclude<CodecKind, 'enum' | 'set'>, ScalarKind>> = {
  boolean: 'Boolean',
  int: 'Int',
  bigint: 'BigInt',
  decimal: 'Decimal',
  float: 'Float',
  string: 'String',
  datetime: 'DateTime',
  timestamp: 'DateTime',
  date: 'Date',
  time: 'Time',
  year: 'Int',
  json: 'JSON',
  bytes: 'Bytes',
  'bit-boolean': 'Boolean',
  'bit-integer': 'BigInt',
  uuid: 'UUID',
  geometry: 'Other',
  other: 'Other',
};

export function valueTypeFor(codec: ColumnCodec, enumName: string): ValueType {
  if (codec.kind === 'enum') return { kind: 'enum', name: enumName, values: codec.labels };
  if (codec.kind === 'set') return { kind: 'list', of: { kind: 'enum', name: enumName, values: codec.labels } };
  return { kind: 'scalar', scalar: scalarOf[codec.kind] };
}
