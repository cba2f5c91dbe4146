// Decoding captured row images (row_to_json text) into typed rows. On the reader's hot path: every
// captured change passes through here, and on a 2-core host the reader's CPU is taken from the writers,
// so the image parser works on character codes and slices instead of a regular expression and a
// JSON.parse per token (measured: 8.5 → ~1.5 µs for a four-column image). Its result equals
// parseExactJson's for every JSON text (test/connectors/postgres-capture-decode.test.ts checks that).
import { assert } from '../../common/assert.ts';
import { isEntenteError } from '../../common/errors.ts';
import type { CapturedChange, ChangeOperation, Row, TableRef, Value } from '../connector.ts';
import { ExactNumber, exactJsonToPlain, setJsonMember, type ExactJson } from './pg-text.ts';
import type { TableCodecs } from './postgres-sql.ts';

const quote = 34;
const backslash = 92;

/**
 * JSON text → ExactJson (numbers kept as their text), like parseExactJson, in one pass over char codes.
 * Plain functions over a cursor, not closures: tsx (keepNames) wraps every closure it creates.
 */
export function parseImageJson(text: string): ExactJson {
  const cursor: Cursor = { text, at: 0 };
  const value = parseValue(cursor);
  skipSpace(cursor);
  if (cursor.at !== text.length) malformed(cursor, 'trailing characters');
  return value;
}

interface Cursor {
  readonly text: string;
  at: number;
}

function malformed(cursor: Cursor, what: string): never {
  assert(false, `malformed JSON (${what}) at ${cursor.at}`);
}

function skipSpace(cursor: Cursor): void {
  const { text } = cursor;
  for (;;) {
    const code = text.charCodeAt(cursor.at);
    if (code !== 32 && code !== 10 && code !== 13 && code !== 9) return;
    cursor.at += 1;
  }
}

function parseValue(cursor: Cursor): ExactJson {
  skipSpace(cursor);
  const { text, at } = cursor;
  switch (text.charCodeAt(at)) {
    case quote:
      return parseString(cursor);
    case 123:
      return parseObject(cursor);
    case 91:
      return parseArray(cursor);
    case 116:
      if (text.startsWith('true', at)) return (cursor.at += 4), true;
      break;
    case 102:
      if (text.startsWith('false', at)) return (cursor.at += 5), false;
      break;
    case 110:
      if (text.startsWith('null', at)) return (cursor.at += 4), null;
      break;
  }
  return parseNumber(cursor);
}

function parseString(cursor: Cursor): string {
  const { text } = cursor;
  if (text.charCodeAt(cursor.at) !== quote) malformed(cursor, 'expected a string');
  const start = cursor.at + 1;
  let end = start;
  let escaped = false;
  for (let code = text.charCodeAt(end); code !== quote; code = text.charCodeAt(end)) {
    if (end >= text.length) malformed(cursor, 'unterminated string');
    if (code === backslash) {
      escaped = true;
      end += 1;
    }
    end += 1;
  }
  cursor.at = end + 1;
  // PostgreSQL escapes what JSON must escape, so a string without a backslash is its own value.
  return escaped ? (JSON.parse(text.slice(start - 1, end + 1)) as string) : text.slice(start, end);
}

function skipDigits(cursor: Cursor): number {
  const { text } = cursor;
  const start = cursor.at;
  for (let code = text.charCodeAt(cursor.at); code >= 48 && code <= 57; code = text.charCodeAt(cursor.at)) cursor.at += 1;
  return cursor.at - start;
}

/** -?\d+(\.\d+)?([eE][+-]?\d+)? — a fraction or exponent without digits is left for the caller to reject. */
function parseNumber(cursor: Cursor): ExactNumber {
  const { text } = cursor;
  const start = cursor.at;
  if (text.charCodeAt(cursor.at) === 45) cursor.at += 1;
  if (skipDigits(cursor) === 0) malformed(cursor, 'expected a value');
  if (text.charCodeAt(cursor.at) === 46) {
    const dot = cursor.at;
    cursor.at += 1;
    if (skipDigits(cursor) === 0) cursor.at = dot;
  }
  const exponent = text.charCodeAt(cursor.at);
  if (exponent === 101 || exponent === 69) {
    const mark = cursor.at;
    cursor.at += 1;
    const sign = text.charCodeAt(cursor.at);
    if (sign === 43 || sign === 45) cursor.at += 1;
    if (skipDigits(cursor) === 0) cursor.at = mark;
  }
  return new ExactNumber(text.slice(start, cursor.at));
}

function parseObject(cursor: Cursor): ExactJson {
  const { text } = cursor;
  cursor.at += 1;
  const result: Record<string, ExactJson> = {};
  skipSpace(cursor);
  if (text.charCodeAt(cursor.at) === 125) return (cursor.at += 1), result;
  for (;;) {
    skipSpace(cursor);
    const key = parseString(cursor);
    skipSpace(cursor);
    if (text.charCodeAt(cursor.at) !== 58) malformed(cursor, 'expected :');
    cursor.at += 1;
    // Inline check, the rare key through the shared helper: a call per member cost ~10% of an image.
    if (key === '__proto__') setJsonMember(result, key, parseValue(cursor));
    else result[key] = parseValue(cursor);
    skipSpace(cursor);
    const separator = text.charCodeAt(cursor.at);
    cursor.at += 1;
    if (separator === 125) return result;
    if (separator !== 44) malformed(cursor, 'expected , or }');
  }
}

function parseArray(cursor: Cursor): ExactJson {
  const { text } = cursor;
  cursor.at += 1;
  const result: ExactJson[] = [];
  skipSpace(cursor);
  if (text.charCodeAt(cursor.at) === 93) return (cursor.at += 1), result;
  for (;;) {
    result.push(parseValue(cursor));
    skipSpace(cursor);
    const separator = text.charCodeAt(cursor.at);
    cursor.at += 1;
    if (separator === 93) return result;
    if (separator !== 44) malformed(cursor, 'expected , or ]');
  }
}

const operations: Readonly<Record<string, ChangeOperation>> = { I: 'insert', U: 'update', D: 'delete' };

/** One outbox row with its images parsed, before the table's column codecs are applied. */
export interface ParsedChange {
  readonly table: TableRef;
  readonly op: ChangeOperation;
  readonly before: ExactJson | null;
  readonly after: ExactJson | null;
}

export function parseChange(table: TableRef, operation: string, beforeImage: string | null, afterImage: string | null): ParsedChange {
  return {
    table,
    op: operations[operation] ?? 'update',
    before: beforeImage === null ? null : parseImageJson(beforeImage),
    after: afterImage === null ? null : parseImageJson(afterImage),
  };
}

/** A table's model, or `undefined` for a table that no longer exists (its changes come as plain JSON). */
type TableOrGone = TableCodecs | undefined;

export function tableKey(ref: TableRef): string {
  return `${ref.schema}\u0000${ref.name}`;
}

/**
 * Decodes one read's changes in order. Table models are looked up once per read (the connector's lookup
 * scans the schema's tables), awaiting only on a miss. The first image that names a column the cached
 * model lacks (added after the model was read) refreshes the models once; changes before it keep the
 * model they were decoded with.
 */
export async function decodeChanges(
  changes: readonly ParsedChange[],
  lookup: (ref: TableRef) => Promise<TableCodecs>,
  refresh: () => void,
): Promise<CapturedChange[]> {
  const tables = new Map<string, TableOrGone>();
  let refreshed = false;
  const load = async (ref: TableRef): Promise<TableOrGone> => {
    let table: TableOrGone;
    try {
      table = await lookup(ref);
    } catch (error) {
      // Dropped after the change was captured: deliver plain JSON rather than stall the stream.
      if (!isEntenteError(error, 'DB_NOT_FOUND')) throw error;
      table = undefined;
    }
    tables.set(tableKey(ref), table);
    return table;
  };
  const decoded: CapturedChange[] = [];
  for (const change of changes) {
    const key = tableKey(change.table);
    let table = tables.has(key) ? tables.get(key) : await load(change.table);
    if (!refreshed && table !== undefined && namesUnknownColumn(table, change.after ?? change.before)) {
      refreshed = true;
      refresh();
      tables.clear();
      table = await load(change.table);
    }
    decoded.push(decodeChange(change, table));
  }
  return decoded;
}

/** Whether an image names a column the model lacks. */
function namesUnknownColumn(table: TableCodecs, image: ExactJson | null): boolean {
  if (image === null || typeof image !== 'object' || Array.isArray(image) || image instanceof ExactNumber) return false;
  for (const name of Object.keys(image)) if (!table.codecs.has(name)) return true;
  return false;
}

function decodeChange(change: ParsedChange, table: TableOrGone): CapturedChange {
  const { table: ref, op } = change;
  if (table === undefined) {
    const plain = (image: ExactJson | null): Row | null => (image === null ? null : (exactJsonToPlain(image) as Row));
    return { table: ref, op, key: {}, before: plain(change.before), after: plain(change.after) };
  }
  const before = change.before === null ? null : decodeImage(table, change.before);
  const after = change.after === null ? null : decodeImage(table, change.after);
  const keySource = before ?? after ?? {};
  const key: Record<string, Value> = {};
  for (const name of table.model.primaryKey ?? []) key[name] = keySource[name] ?? null;
  return { table: ref, op, key, before, after };
}

function decodeImage(table: TableCodecs, image: ExactJson): Row {
  const fields = image as Record<string, ExactJson>;
  const row: Record<string, Value> = {};
  for (const column of table.model.columns) {
    const codec = table.codecs.get(column.name);
    if (codec !== undefined) row[column.name] = codec.fromJson(fields[column.name]);
  }
  return row;
}
