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

  it('rejects malformed input', () => {
    expect(() => parseExactJson('{"a": }')).toThrow();
    expect(() => parseExactJson('[1, 2')).toThrow();
    expect(() => parseExactJson('1 2')).toThrow();
  });
});
