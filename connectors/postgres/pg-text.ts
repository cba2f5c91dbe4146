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
  return canonicalUtcTimestamp(text) ?? canonicalTimestampByDate(text);
}

/**
 * The common case without Date arithmetic: text already in UTC, as the connector's sessions print it
 * (TimeZone UTC: '+00' in text output, '+00:00' in to_jsonb images, no suffix for timestamp without time
 * zone), with a 4-digit year and valid fields. Only reshapes the text, so it gives exactly what the Date
 * path gives; anything else (other offsets, out-of-range fields, BC, infinity) returns undefined.
 */
function canonicalUtcTimestamp(text: string): string | undefined {
  const yearHigh = twoDigitsAt(text, 0);
  const yearLow = twoDigitsAt(text, 2);
  const month = twoDigitsAt(text, 5);
  const day = twoDigitsAt(text, 8);
  const year = yearHigh * 100 + yearLow;
  if (yearHigh < 0 || yearLow < 0 || year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const separator = text.charCodeAt(10);
  if (text.charCodeAt(4) !== dash || text.charCodeAt(7) !== dash || (separator !== space && separator !== letterT)) return undefined;
  const hour = twoDigitsAt(text, 11);
  const minute = twoDigitsAt(text, 14);
  const second = twoDigitsAt(text, 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  if (text.charCodeAt(13) !== colon || text.charCodeAt(16) !== colon) return undefined;
  let fractionEnd = utcHeadLength;
  if (text.charCodeAt(utcHeadLength) === dot) {
    fractionEnd += 1;
    while (fractionEnd < text.length && isDigit(text.charCodeAt(fractionEnd))) fractionEnd += 1;
  }
  const fractionDigits = fractionEnd === utcHeadLength ? 0 : fractionEnd - utcHeadLength - 1;
  if (fractionDigits > 6 || (fractionEnd > utcHeadLength && fractionDigits === 0)) return undefined;
  const suffixLength = text.length - fractionEnd;
  if (suffixLength !== 0 && !utcSuffixes.has(text.slice(fractionEnd))) return undefined;
  const fraction = fractionDigits === 0 ? '' : text.slice(utcHeadLength + 1, fractionEnd);
  return `${text.slice(0, 10)}T${text.slice(11, utcHeadLength)}.${fraction}${fractionPadding[fractionDigits] as string}Z`;
}

/** 'YYYY-MM-DD HH:MM:SS': the fixed-width start of every timestamp with a 4-digit year. */
const utcHeadLength = 19;
/** Offsets that mean UTC exactly, as PostgreSQL prints them (and 'Z', which canonical text itself ends with). */
const utcSuffixes: ReadonlySet<string> = new Set(['+00', '+00:00', 'Z']);
const fractionPadding: readonly string[] = ['000000', '00000', '0000', '000', '00', '0', ''];
const dash = 45;
const colon = 58;
const dot = 46;
const space = 32;
const letterT = 84;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** The two-digit number at `at`, or -1 if either character is not a digit (or is past the end). */
function twoDigitsAt(text: string, at: number): number {
  const tens = text.charCodeAt(at);
  const ones = text.charCodeAt(at + 1);
  return isDigit(tens) && isDigit(ones) ? (tens - 48) * 10 + (ones - 48) : -1;
}

/** Proleptic Gregorian, as both Date and PostgreSQL count. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The general path: any offset, shifted to UTC through Date. */
function canonicalTimestampByDate(text: string): string {
  const match = timestampPattern.exec(text);
  if (match === null) return text;
  const [, year, month, day, hour, minute, second, fraction = '', offset = 'Z'] = match;
  const utcMs =
    utcMillis(Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second)) - offsetMinutes(offset) * 60_000;
  const date = new Date(utcMs);
  const fullYear = date.getUTCFullYear();
  if (fullYear > 9999 || fullYear < 1) return text;
  return (
    `${padNumber(fullYear, 4)}-${padNumber(date.getUTCMonth() + 1, 2)}-${padNumber(date.getUTCDate(), 2)}T` +
    `${padNumber(date.getUTCHours(), 2)}:${padNumber(date.getUTCMinutes(), 2)}:${padNumber(date.getUTCSeconds(), 2)}.${fraction.padEnd(6, '0')}Z`
  );
}

function padNumber(value: number, width: number): string {
  return String(value).padStart(width, '0');
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

/** Sticky: matches a number exactly at `lastIndex`, however many digits it has. */
const jsonNumberPattern = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

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
    jsonNumberPattern.lastIndex = position;
    const match = jsonNumberPattern.exec(text);
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
      setJsonMember(result, key, parseValue());
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

/**
 * `object[key] = value` as JSON.parse does it: a key named `__proto__` becomes an own property, where the
 * assignment would replace the object's prototype (and drop the member). Objects stay ordinary objects.
 */
export function setJsonMember<T>(object: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  else object[key] = value;
}

export type PlainJson = null | boolean | number | string | readonly PlainJson[] | { readonly [key: string]: PlainJson };

/** Exact JSON → the JSON value JSON.parse would give (numbers become numbers). */
export function exactJsonToPlain(value: ExactJson): PlainJson {
  if (value instanceof ExactNumber) return Number(value.text);
  if (Array.isArray(value)) return value.map(exactJsonToPlain);
  if (value !== null && typeof value === 'object') {
    const result: Record<string, PlainJson> = {};
    for (const [key, entry] of Object.entries(value as Record<string, ExactJson>)) setJsonMember(result, key, exactJsonToPlain(entry));
    return result;
  }
  return value as null | boolean | string;
}
