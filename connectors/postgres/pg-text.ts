// PostgreSQL's text forms, parsed and produced without the driver's global type parsers: array
// literals, timestamps, bytea, and JSON whose numbers must stay exact (numeric, int8 inside to_jsonb
// images). Pure functions; the same code serves pg and PGlite, so both give identical canonical values.
import { assert } from '../../common/assert.ts';

// ─── Arrays ───────────────────────────────────────────────────────────────────────────────────

export type PgArray = readonly (string | null | PgArray)[];

/** Parses an array literal such as `{1,NULL,"a \"b\""}` or `[0:1]={{a},{b}}` into nested strings. */
export function parseArrayLiteral(text: string): PgArray {
  let position = 0;
  if (text.startsWith('[')) {
    // Explicit lower bounds, e.g. `[0:2]={…}`: the bounds do not change the element order.
    const equals = text.indexOf('=');
    assert(equals > 0, `malformed array literal: ${text.slice(0, 40)}`);
    position = equals + 1;
  }
  const parseLevel = (): PgArray => {
    assert(text[position] === '{', `expected { in array literal at ${position}`);
    position += 1;
    const elements: (string | null | PgArray)[] = [];
    if (text[position] === '}') {
      position += 1;
      return elements;
    }
    for (;;) {
      const char = text[position];
      if (char === '{') elements.push(parseLevel());
      else if (char === '"') elements.push(parseQuoted());
      else elements.push(parseBare());
      const separator = text[position];
      position += 1;
      if (separator === '}') return elements;
      assert(separator === ',' || separator === ';', `expected , or } in array literal at ${position - 1}`);
    }
  };
  const parseQuoted = (): string => {
    position += 1;
    let value = '';
    for (;;) {
      const char = text[position];
      assert(char !== undefined, 'unterminated quoted array element');
      position += 1;
      if (char === '"') return value;
      if (char === '\\') {
        value += text[position] ?? '';
        position += 1;
      } else value += char;
    }
  };
  const parseBare = (): string | null => {
    const start = position;
    while (position < text.length && text[position] !== ',' && text[position] !== '}' && text[position] !== ';') position += 1;
    const raw = text.slice(start, position).trim();
    return raw.toUpperCase() === 'NULL' ? null : raw;
  };
  return parseLevel();
}

export type ArrayElementText = string | null | readonly ArrayElementText[];

/** Produces an array literal with every element quoted, so any text survives. */
export function formatArrayLiteral(elements: readonly ArrayElementText[]): string {
  const parts = elements.map((element): string => {
    if (element === null) return 'NULL';
    if (typeof element === 'string') return `"${element.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    return formatArrayLiteral(element);
  });
  return `{${parts.join(',')}}`;
}

// ─── Timestamps ───────────────────────────────────────────────────────────────────────────────

const timestampPattern = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d(?::?\d\d)?(?::?\d\d)?)?$/;

/**
 * Any timestamp text PostgreSQL prints (session TimeZone UTC: '2024-05-01 10:00:00.12+00'; to_jsonb in
 * any zone: '2024-05-01T12:00:00.12+02:00') → '2024-05-01T10:00:00.120000Z'. Without an offset the value
 * is taken as UTC (timestamp without time zone). 'infinity', BC dates and years beyond 9999 keep their text.
 */
export function canonicalTimestamp(text: string): string {
  const match = timestampPattern.exec(text);
  if (match === null) return text;
  const [, year, month, day, hour, minute, second, fraction = '', offset = 'Z'] = match;
  const utcMs =
    utcMillis(Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second)) - offsetMinutes(offset) * 60_000;
  const date = new Date(utcMs);
  const fullYear = date.getUTCFullYear();
  if (fullYear > 9999 || fullYear < 1) return text;
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return (
    `${pad(fullYear, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${fraction.padEnd(6, '0')}Z`
  );
}

function utcMillis(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function offsetMinutes(offset: string): number {
  if (offset === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(/:/g, '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4) || '0');
  const seconds = Number(digits.slice(4, 6) || '0');
  return sign * (hours * 60 + minutes + seconds / 60);
}

// ─── Bytes ─────────────────────────────────────────────────────────────────────────────────────

/** bytea hex output ('\x0102ff') → base64. */
export function byteaTextToBase64(text: string): string {
  assert(text.startsWith('\\x'), 'bytea_output must be hex (set by the connector on every session)');
  return Buffer.from(text.slice(2), 'hex').toString('base64');
}

/** base64 → bytea hex input. */
export function base64ToByteaText(base64: string): string {
  return `\\x${Buffer.from(base64, 'base64').toString('hex')}`;
}

// ─── Exact JSON ──────────────────────────────────────────────────────────────────────────────

/** A JSON number kept as its source text, so numeric and int8 values in row images stay exact. */
export class ExactNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export type ExactJson = null | boolean | string | ExactNumber | readonly ExactJson[] | { readonly [key: string]: ExactJson };

/** JSON.parse, except that numbers become ExactNumber. Input is PostgreSQL's own jsonb output. */
export function parseExactJson(text: string): ExactJson {
  let position = 0;
  const skipSpace = (): void => {
    while (position < text.length && ' \t\n\r'.includes(text[position] as string)) position += 1;
  };
  const parseValue = (): ExactJson => {
    skipSpace();
    const char = text[position];
    if (char === '{') return parseObject();
    if (char === '[') return parseArray();
    if (char === '"') return parseString();
    if (text.startsWith('true', position)) return (position += 4), true;
    if (text.startsWith('false', position)) return (position += 5), false;
    if (text.startsWith('null', position)) return (position += 4), null;
    const match = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(position, position + 400));
    assert(match !== null, `malformed JSON at ${position}`);
    position += match[0].length;
    return new ExactNumber(match[0]);
  };
  const parseObject = (): ExactJson => {
    position += 1;
    const result: Record<string, ExactJson> = {};
    skipSpace();
    if (text[position] === '}') return (position += 1), result;
    for (;;) {
      skipSpace();
      const key = parseString();
      skipSpace();
      assert(text[position] === ':', `expected : in JSON at ${position}`);
      position += 1;
      result[key] = parseValue();
      skipSpace();
      const separator = text[position];
      position += 1;
      if (separator === '}') return result;
      assert(separator === ',', `expected , or } in JSON at ${position - 1}`);
    }
  };
  const parseArray = (): ExactJson => {
    position += 1;
    const result: ExactJson[] = [];
    skipSpace();
    if (text[position] === ']') return (position += 1), result;
    for (;;) {
      result.push(parseValue());
      skipSpace();
      const separator = text[position];
      position += 1;
      if (separator === ']') return result;
      assert(separator === ',', `expected , or ] in JSON at ${position - 1}`);
    }
  };
  const parseString = (): string => {
    assert(text[position] === '"', `expected string in JSON at ${position}`);
    const start = position;
    position += 1;
    while (text[position] !== '"') {
      assert(position < text.length, 'unterminated JSON string');
      position += text[position] === '\\' ? 2 : 1;
    }
    position += 1;
    return JSON.parse(text.slice(start, position)) as string;
  };
  const value = parseValue();
  skipSpace();
  assert(position === text.length, `trailing characters in JSON at ${position}`);
  return value;
}

export type PlainJson = null | boolean | number | string | readonly PlainJson[] | { readonly [key: string]: PlainJson };

/** Exact JSON → the JSON value JSON.parse would give (numbers become numbers). */
export function exactJsonToPlain(value: ExactJson): PlainJson {
  if (value instanceof ExactNumber) return Number(value.text);
  if (Array.isArray(value)) return value.map(exactJsonToPlain);
  if (value !== null && typeof value === 'object') {
    const result: Record<string, PlainJson> = {};
    for (const [key, entry] of Object.entries(value as Record<string, ExactJson>)) result[key] = exactJsonToPlain(entry);
    return result;
  }
  return value as null | boolean | string;
}
