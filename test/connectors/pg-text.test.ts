// Goal: PostgreSQL's text forms parse and print exactly, so pg and PGlite give byte-identical canonical
// values whatever the data holds (quotes, backslashes, NULL-looking strings, nested arrays, time zones,
// numbers beyond double precision). Method: table-driven checks of the pure functions in pg-text.ts,
// including round trips through formatArrayLiteral/parseArrayLiteral.
import { describe, expect, it } from 'vitest';
import {
  base64ToByteaText,
  byteaTextToBase64,
  canonicalTimestamp,
  exactJsonToPlain,
  ExactNumber,
  formatArrayLiteral,
  parseArrayLiteral,
  parseExactJson,
} from '../../connectors/postgres/pg-text.ts';

describe('array literals', () => {
  it('parses quoted, bare, NULL, empty and nested elements, and explicit bounds', () => {
    expect(parseArrayLiteral('{}')).toEqual([]);
    expect(parseArrayLiteral('{1,NULL,3}')).toEqual(['1', null, '3']);
    expect(parseArrayLiteral('{"a \\"b\\"","c\\\\d","NULL",""}')).toEqual(['a "b"', 'c\\d', 'NULL', '']);
    expect(parseArrayLiteral('{{1,2},{3,4}}')).toEqual([['1', '2'], ['3', '4']]);
    expect(parseArrayLiteral('[0:1]={x,y}')).toEqual(['x', 'y']);
    expect(parseArrayLiteral('{"(1,2)";"(3,4)"}')).toEqual(['(1,2)', '(3,4)']);
  });

  it('round-trips any text through format and parse', () => {
    const tricky = ['plain', 'with,comma', 'with "quotes"', 'back\\slash', '{braces}', 'NULL', '', ' spaced ', 'ünïcødé'];
    expect(parseArrayLiteral(formatArrayLiteral(tricky))).toEqual(tricky);
    expect(parseArrayLiteral(formatArrayLiteral([['a', null], ['b', 'c']]))).toEqual([['a', null], ['b', 'c']]);
  });
});

describe('timestamps', () => {
  it('normalises every PostgreSQL timestamp form to UTC with microseconds', () => {
    expect(canonicalTimestamp('2024-05-01 10:00:00+00')).toBe('2024-05-01T10:00:00.000000Z');
    expect(canonicalTimestamp('2024-05-01 10:00:00.12+00')).toBe('2024-05-01T10:00:00.120000Z');
    expect(canonicalTimestamp('2024-05-01T12:00:00.123456+02:00')).toBe('2024-05-01T10:00:00.123456Z');
    expect(canonicalTimestamp('2024-01-01T00:30:00-05:30')).toBe('2024-01-01T06:00:00.000000Z');
    expect(canonicalTimestamp('2024-05-01T10:00:00.5')).toBe('2024-05-01T10:00:00.500000Z');
    expect(canonicalTimestamp('0099-03-01 00:00:00+00')).toBe('0099-03-01T00:00:00.000000Z');
    expect(canonicalTimestamp('2024-05-01T10:00:00.000001Z')).toBe('2024-05-01T10:00:00.000001Z');
  });

  it('keeps what has no ISO form as PostgreSQL printed it', () => {
    expect(canonicalTimestamp('infinity')).toBe('infinity');
    expect(canonicalTimestamp('-infinity')).toBe('-infinity');
    expect(canonicalTimestamp('0044-03-15 12:00:00+00 BC')).toBe('0044-03-15 12:00:00+00 BC');
  });

  it('gives exactly what the Date-only implementation gave, on the fast UTC path and off it', () => {
    const texts = [...generatedTimestamps(5000), ...edgeTimestamps];
    for (const text of texts) expect(canonicalTimestamp(text), text).toBe(canonicalTimestampByDateOnly(text));
  });
});

describe('bytea', () => {
  it('converts hex output to base64 and back', () => {
    expect(byteaTextToBase64('\\x0001ff')).toBe('AAH/');
    expect(byteaTextToBase64('\\x')).toBe('');
    expect(base64ToByteaText('AAH/')).toBe('\\x0001ff');
  });
});

describe('exact JSON', () => {
  it('keeps numbers as their source text and parses everything else like JSON.parse', () => {
    const parsed = parseExactJson('{"big": 123456789012345678901234567890.10, "n": -1.5e3, "s": "x\\"y", "a": [1, null, true], "o": {}}');
    expect(parsed).toEqual({ big: new ExactNumber('123456789012345678901234567890.10'), n: new ExactNumber('-1.5e3'), s: 'x"y', a: [new ExactNumber('1'), null, true], o: {} });
    expect(exactJsonToPlain(parsed)).toEqual({ big: 1.2345678901234568e29, n: -1500, s: 'x"y', a: [1, null, true], o: {} });
  });

  it('keeps every digit of numbers of any length', () => {
    const digits = '7'.repeat(5000);
    expect(parseExactJson(`{"n": -${digits}.25e-3, "m": [${digits}]}`)).toEqual({ n: new ExactNumber(`-${digits}.25e-3`), m: [new ExactNumber(digits)] });
    expect(parseExactJson(`${digits}1`)).toEqual(new ExactNumber(`${digits}1`));
  });

  it('keeps a key named __proto__ as an own member of an ordinary object, as JSON.parse does', () => {
    const text = '{"a": 1, "__proto__": {"polluted": true}, "nested": [{"__proto__": null}], "b": {"__proto__": 2, "__proto__": 3}}';
    const parsed = parseExactJson(text) as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['a', '__proto__', 'nested', 'b']);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toEqual({ polluted: true });
    expect('polluted' in parsed).toBe(false);
    const plain = exactJsonToPlain(parsed as never) as Record<string, unknown>;
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(JSON.stringify(plain)).toBe(JSON.stringify(JSON.parse(text)));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects malformed input', () => {
    expect(() => parseExactJson('{"a": }')).toThrow();
    expect(() => parseExactJson('[1, 2')).toThrow();
    expect(() => parseExactJson('1 2')).toThrow();
  });
});

/**
 * canonicalTimestamp as it was before the UTC fast path (Date arithmetic for every value), kept as the
 * oracle the fast path must match byte for byte.
 */
function canonicalTimestampByDateOnly(text: string): string {
  const match = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d(?::?\d\d)?(?::?\d\d)?)?$/.exec(text);
  if (match === null) return text;
  const [, year, month, day, hour, minute, second, fraction = '', offset = 'Z'] = match;
  const start = new Date(0);
  start.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  start.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset === 'Z' ? '' : offset.slice(1).replace(/:/g, '');
  const offsetMinutes = offset === 'Z' ? 0 : sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0') + Number(digits.slice(4, 6) || '0') / 60);
  const date = new Date(start.getTime() - offsetMinutes * 60_000);
  const fullYear = date.getUTCFullYear();
  if (fullYear > 9999 || fullYear < 1) return text;
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return (
    `${pad(fullYear, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${fraction.padEnd(6, '0')}Z`
  );
}

/** Deterministic timestamps in every form the sessions print, and the offsets other zones print. */
function generatedTimestamps(count: number): string[] {
  let state = 987654321;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const upTo = (max: number): number => Math.floor(next() * (max + 1));
  const two = (value: number): string => String(value).padStart(2, '0');
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const offsets = ['', '+00', '+00:00', 'Z', '-00', '+0000', '+00:00:00', '+02', '+02:00', '-05:30', '+05:45', '-12', '+14:00', '+00:19:32', '-03:30:15'];
  return Array.from({ length: count }, () => {
    const year = pick([upTo(9999), 1 + upTo(98), 9999, 1, 1970 + upTo(100), 2000, 1900]);
    // Days up to 31 in every month: invalid dates (Feb 30) must roll over exactly as Date rolls them.
    const date = `${String(year).padStart(4, '0')}-${two(1 + upTo(11))}-${two(1 + upTo(next() < 0.9 ? 27 : 30))}`;
    const time = `${two(pick([upTo(23), 0, 23, 24]))}:${two(pick([upTo(59), 59, 60]))}:${two(pick([upTo(59), 59, 60]))}`;
    const fraction = next() < 0.3 ? '' : `.${String(upTo(999999)).padStart(6, '0').slice(0, 1 + upTo(6))}`;
    const suffix = next() < 0.05 ? ' BC' : '';
    return `${date}${pick([' ', 'T'])}${time}${fraction}${pick(offsets)}${suffix}`;
  });
}

const edgeTimestamps = [
  'infinity',
  '-infinity',
  '0000-01-01 00:00:00+00',
  '0001-01-01 00:00:00+00',
  '0001-01-01 00:00:00+00:30',
  '9999-12-31 23:59:59.999999+00',
  '9999-12-31 23:59:59-01',
  '10000-01-01 00:00:00+00',
  '10000-01-01T00:00:00+00:00',
  '0044-03-15T12:00:00+00:00 BC',
  '2024-02-29 12:00:00+00',
  '2023-02-29 12:00:00+00',
  '1900-02-29 12:00:00+00',
  '2000-02-29 12:00:00+00',
  '2024-04-31 00:00:00+00',
  '2024-13-01 00:00:00+00',
  '2024-00-10 00:00:00+00',
  '2024-05-00 00:00:00+00',
  '2024-05-01 24:00:00+00',
  '2024-05-01 23:59:60+00',
  '2024-05-01 10:00:00.+00',
  '2024-05-01 10:00:00.1234567+00',
  '2024-05-01 10:00:00.123456',
  '2024-05-01T10:00:00.000001Z',
  '2024-05-01 10:00:00+0',
  '2024-05-01 10:00:00+00:',
  '2024-05-01 10:00:00 +00',
  '2024-05-01X10:00:00+00',
  '2024-5-01 10:00:00+00',
  '2024-05-01 10:00',
  '2024-05-01',
  '',
];
