// Conversions between MySQL/MariaDB values and the contract's canonical `Value`s, driven by each
// column's codec. Three paths must agree so the ledger hashes the same bytes whichever way a row
// arrived: rows read through mysql2, row images captured by triggers (as text, see captureTextExpr),
// and parameters bound for writes and filters.
//
// Time: Entente's sessions run with time_zone '+00:00'. TIMESTAMP columns are instants and come out
// as UTC. DATETIME columns carry no zone; Entente reads them as UTC wall-clock time (document your
// columns' zone if it is not UTC). Zero dates ('0000-00-00') become null.
import { EntenteError } from '../../common/errors.ts';
import type { Value } from '../connector.ts';
import type { ColumnCodec } from './mysql-types.ts';

/** The expression to select a column with, so mysql2 hands back something decodeRead understands. */
export function selectExpression(codec: ColumnCodec, quotedColumn: string): string {
  if (codec.kind === 'geometry') return `ST_AsText(${quotedColumn})`;
  if (codec.kind === 'bit-integer') return `CAST(${quotedColumn} AS UNSIGNED)`;
  return quotedColumn;
}

/** The placeholder for a bound value of this column (some types need a conversion on the server). */
export function placeholderFor(codec: ColumnCodec): string {
  if (codec.kind === 'geometry') return 'ST_GeomFromText(?)';
  if (codec.kind === 'bit-integer') return 'CAST(? AS UNSIGNED)';
  return '?';
}

export function decodeRead(codec: ColumnCodec, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (codec.kind) {
    case 'boolean':
    case 'bit-boolean':
      return Buffer.isBuffer(raw) ? raw.some((byte) => byte !== 0) : Number(raw) !== 0;
    case 'int':
    case 'year':
      return Number(raw);
    case 'bigint':
    case 'decimal':
    case 'bit-integer':
      return String(raw);
    case 'float':
      return floatValue(Number(raw));
    case 'datetime':
    case 'timestamp':
      return isoDateTime(String(raw), codec.fractionDigits);
    case 'date':
      return String(raw).startsWith('0000') ? null : String(raw);
    case 'json':
      return JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw)) as Value;
    case 'bytes':
      return Buffer.isBuffer(raw) ? raw.toString('base64') : Buffer.from(String(raw), 'utf8').toString('base64');
    case 'set':
      return String(raw) === '' ? [] : String(raw).split(',');
    case 'uuid':
      return String(raw).toLowerCase();
    default:
      return Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
  }
}

/**
 * The SQL expression a capture trigger stores for `NEW.col` / `OLD.col`: always text (or NULL), so one
 * JSON_OBJECT of strings carries any row exactly, independent of the writer's session time zone.
 */
export function captureTextExpression(codec: ColumnCodec, reference: string): string {
  switch (codec.kind) {
    case 'string':
    case 'enum':
    case 'set':
      return reference;
    case 'timestamp':
      // The stored instant, independent of the writing session's time_zone.
      return `CAST(UNIX_TIMESTAMP(${reference}) AS CHAR)`;
    case 'datetime':
      return `DATE_FORMAT(${reference}, '%Y-%m-%d %H:%i:%s.%f')`;
    case 'bytes':
      return `TO_BASE64(${reference})`;
    case 'bit-boolean':
    case 'bit-integer':
      return `CAST(CAST(${reference} AS UNSIGNED) AS CHAR)`;
    case 'geometry':
      return `ST_AsText(${reference})`;
    default:
      return `CAST(${reference} AS CHAR)`;
  }
}

/** Decodes one column of a captured image (text made by captureTextExpression). */
export function decodeCaptured(codec: ColumnCodec, text: string | null): Value {
  if (text === null) return null;
  switch (codec.kind) {
    case 'boolean':
    case 'bit-boolean':
      return text !== '0';
    case 'int':
    case 'year':
      return Number(text);
    case 'float':
      return floatValue(Number(text));
    case 'timestamp':
      return text === '0' || text === '0.000000' ? null : isoFromEpoch(text, codec.fractionDigits);
    case 'bytes':
      return text.replace(/\s+/g, '');
    default:
      return decodeRead(codec, text);
  }
}

/** A contract Value → a mysql2 parameter for a column of this codec. */
export function encodeParam(codec: ColumnCodec, value: Value, column: string): unknown {
  if (value === null) return null;
  switch (codec.kind) {
    case 'boolean':
    case 'bit-boolean':
      return typeof value === 'boolean' ? (value ? 1 : 0) : value;
    case 'datetime':
    case 'timestamp':
      return typeof value === 'string' ? mysqlDateTime(value, column) : value;
    case 'json':
      return JSON.stringify(value);
    case 'bytes':
      return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
    case 'set':
      return Array.isArray(value) ? value.join(',') : value;
    case 'float':
      return value === 'NaN' || value === 'Infinity' || value === '-Infinity' ? badValue(column, 'MySQL floats cannot hold NaN or Infinity') : value;
    default:
      if (typeof value === 'object') return badValue(column, 'a list or object is not a value of this column');
      return value;
  }
}

function badValue(column: string, why: string): never {
  throw new EntenteError('USAGE', `invalid value for column '${column}': ${why}`);
}

function floatValue(value: number): Value {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

const dateTimePattern = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?\d*(Z|[+-]\d{2}:?\d{2})?$/;

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC) → ISO-8601 with 'Z' and exactly `digits` fraction digits. */
export function isoDateTime(text: string, digits: number): string | null {
  if (text.startsWith('0000-00-00')) return null;
  const match = dateTimePattern.exec(text);
  if (match === null) return text;
  const fraction = (match[7] ?? '').padEnd(6, '0').slice(0, digits);
  return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}${digits > 0 ? '.' + fraction : ''}Z`;
}

function isoFromEpoch(text: string, digits: number): string | null {
  const [seconds, fraction = ''] = text.split('.');
  const date = new Date(Number(seconds) * 1000);
  const base = date.toISOString().slice(0, 19).replace('T', ' ');
  return isoDateTime(`${base}.${fraction}`, digits);
}

/** ISO-8601 (any offset) → 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, keeping microseconds exactly. */
export function mysqlDateTime(text: string, column: string): string {
  const match = dateTimePattern.exec(text);
  if (match === null) return badValue(column, `'${text}' is not an ISO-8601 date-time`);
  const fraction = (match[7] ?? '').padEnd(6, '0');
  const offset = match[8];
  const wall = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]), Number(match[4]), Number(match[5]), Number(match[6]));
  const offsetMinutes = offset === undefined || offset === 'Z' ? 0 : offsetToMinutes(offset);
  const utc = new Date(wall - offsetMinutes * 60_000).toISOString();
  return `${utc.slice(0, 10)} ${utc.slice(11, 19)}.${fraction}`;
}

function offsetToMinutes(offset: string): number {
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}
