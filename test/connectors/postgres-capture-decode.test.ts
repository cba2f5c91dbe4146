// Goal: the capture reader's fast image parser gives exactly what parseExactJson gives (numbers kept as
// their text, escapes decoded, nesting and whitespace of json columns copied verbatim) for every JSON
// text (`__proto__` keys and numbers of any length included), and rejects malformed text as parseExactJson
// does.
import { describe, expect, it } from 'vitest';
import { parseExactJson } from '../../connectors/postgres/pg-text.ts';
import { parseImageJson } from '../../connectors/postgres/postgres-capture-decode.ts';

/** Deterministic pseudo-random JSON texts, with the shapes row_to_json and json columns produce. */
function randomJsonTexts(count: number): string[] {
  let state = 12345;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const space = (): string => (next() < 0.2 ? pick([' ', '\n', '\t ', '\r\n  ']) : '');
  const strings = ['', 'row', 'a "quoted" word', 'back\\slash', 'tab\tand\nnewline', 'ü€😀', '\u0001\u001f', '"', '\\', 'x\\"', '__proto__'];
  const numbers = ['0', '-1', '12.50', '123456789012345678901234567890.10', '1e10', '-2.5E-3', '9007199254740993', '0.000', `${'9'.repeat(600)}.5`];
  const value = (depth: number): string => {
    const kind = next();
    if (depth < 3 && kind < 0.15) {
      const entries = Array.from({ length: Math.floor(next() * 4) }, () => `${space()}${JSON.stringify(pick(strings))}${space()}:${value(depth + 1)}`);
      return `${space()}{${entries.join(',')}${space()}}${space()}`;
    }
    if (depth < 3 && kind < 0.25) return `${space()}[${Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1)).join(',')}${space()}]${space()}`;
    if (kind < 0.55) return `${space()}${JSON.stringify(pick(strings))}${space()}`;
    if (kind < 0.85) return `${space()}${pick(numbers)}${space()}`;
    return `${space()}${pick(['true', 'false', 'null'])}${space()}`;
  };
  return Array.from({ length: count }, () => {
    const columns = Array.from({ length: 1 + Math.floor(next() * 6) }, (_, index) => `"c${index}":${value(0)}`);
    return `{${columns.join(',')}}`;
  });
}

describe('captured image parser', () => {
  it('equals parseExactJson on row images and json column values', () => {
    const texts = [
      '{"id":1,"payload":"row","amount":12.50,"written_at":"2026-11-27T10:25:31.123456+00:00"}',
      '{"a":null,"b":true,"c":false,"d":[1,"x",null],"e":{"f":{"g":[]}},"h":{}}',
      '{"doc":{ "spaced" : [ 1 , 2.0 ] , "s" : "\\u00e9\\"\\\\" }}',
      '[]',
      '"just a string"',
      '-0.5e+7',
      ...randomJsonTexts(2000),
    ];
    for (const text of texts) expect(parseImageJson(text), text).toEqual(parseExactJson(text));
  });

  it('keeps a key named __proto__ as an own member, like parseExactJson and JSON.parse', () => {
    const parsed = parseImageJson('{"id":1,"__proto__":{"x":2}}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.keys(parsed)).toEqual(['id', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toEqual({ x: { text: '2' } });
  });

  it('keeps every digit of long numbers', () => {
    const digits = '9'.repeat(1000);
    expect(parseImageJson(`{"n":${digits}.01}`)).toEqual({ n: { text: `${digits}.01` } });
  });

  it('rejects malformed text', () => {
    for (const bad of ['{"a": }', '[1, 2', '1 2', '{"a":1', '{"a" 1}', '"open', '{"a":"x\\"}', '', '{"a":tru}', '{"a":1,}', '.5', '-']) {
      expect(() => parseImageJson(bad), bad).toThrow();
    }
  });
});
