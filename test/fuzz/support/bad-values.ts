// Hostile values for the GraphQL fuzzer: strings that try SQL and LIKE injection, control characters,
// NUL bytes and lone UTF-16 surrogates, numbers at and past every boundary (-0, 2^31, 2^53 + 1, 2^63,
// 1e308), dates that do not exist, cursor-shaped strings, deeply nested JSON. None of them contains a
// planted marker (fuzz-network.ts), so a marker in a response can only have come from the database.
import fc from 'fast-check';

export const injectionStrings: readonly string[] = [
  "'", "''", "\\", "\\'", '"', '`', ';', '--', '/*', '*/', '%', '_', '%%', '\\%', '\\_', '[a-z]%', '$1', '$$', '$tag$',
  "' or '1'='1", "x' or 1=1 --", "'; drop table products; --", "1; delete from notes", "') union select * from invoices --",
  "'||(select string_agg(internal_note, ',') from products)||'", '" or ""="', "\\'; truncate purchase_orders cascade; --",
  "E'\\x00'", "'::jsonb", "' collate \"C\" --", '%\\', "globex' or supplier_id <> 'globex", '$partner', '*', 'acme', 'initech', 'nobody',
  '\u0000', 'a\u0000b', '\u0001\u001f\u007f', '\r\n\r\n', '\t', '\u2028\u2029', '\uFEFF', '\uFFFD', '\uFFFF', 'e\u0301', '\u{1F600}',
  '\uD800', '\uDFFF', 'a\uDC00b', '\uDBFF\uDBFF', '..', '../../etc/passwd', '<script>alert(1)</script>', '{{7*7}}', '${process.exit(1)}',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'NaN', 'Infinity', '-Infinity', 'null', 'undefined', 'true', '',
  ' ', '0', '-0', '00', '01', '1e1000', '-1e1000', '0x1f', '1_000', '９', '٣', '9223372036854775807', '9223372036854775808',
  '-9223372036854775809', '18446744073709551616', '1.', '.5', '1.2.3', '+1', '--1', '2024-02-30', '2024-13-01', '0000-00-00', '9999-12-31',
  '2024-05-01T10:00:00', '2024-05-01T25:00:00Z', '2024-05-01T10:00:00+99:99', '24:00:00', '23:59:60.9999999999', 'not-a-uuid',
  '00000000-0000-0000-0000-000000000000', 'ZZZZ', 'AAAA=', '====', '{}', '[]', '{"a":', 'eyJvIjoiaWQ6YXNjIiwidiI6WyIxIl19',
];

/** A lone (unpaired) UTF-16 surrogate, alone or inside text: invalid Unicode that JSON can still carry. */
export const loneSurrogateString: fc.Arbitrary<string> = fc
  .tuple(fc.string({ maxLength: 5 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 5 }))
  .map(([before, code, after]) => `${before}${String.fromCharCode(code)}${after}`);

export const boundaryNumbers: readonly number[] = [
  0, -0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53 - 1, 2 ** 53 + 1, -(2 ** 53) - 1, 2 ** 63, 2 ** 64,
  1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, 5e-324, 0.1, 1.5, -1.5, 1e21, 1e-7, 123456789.12345679,
];

export const weirdString: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...injectionStrings) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 24 }) },
  { weight: 2, arbitrary: loneSurrogateString },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...injectionStrings), fc.constantFrom(...injectionStrings)).map(([a, b]) => a + b) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((length) => 'x'.repeat(length)) },
);

export const weirdNumber: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...boundaryNumbers) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 80 }) },
);

/** Nested arrays or objects `depth` levels deep: stresses every recursive walk over input values. */
export function nested(depth: number, inObject: boolean): unknown {
  let value: unknown = 'deep';
  for (let level = 0; level < depth; level += 1) value = inObject ? { a: value } : [value];
  return value;
}

/** Any JSON-representable value, hostile leaves included, occasionally deeply nested. */
export const weirdJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: weirdString },
  { weight: 4, arbitrary: weirdNumber },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(weirdString, weirdNumber), { maxLength: 6 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom('__proto__', 'constructor', 'eq', 'and', 'field'), fc.string({ maxLength: 6 })), fc.oneof(weirdString, weirdNumber), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3_000 }), fc.boolean()).map(([depth, inObject]) => nested(depth, inObject)) },
);

/** A value for a variable of scalar `type`: mostly plausible, often hostile, sometimes the wrong type. */
export function valueFor(type: string): fc.Arbitrary<unknown> {
  const plausible: Record<string, fc.Arbitrary<unknown>> = {
    Int: fc.oneof(fc.integer({ min: -3, max: 70 }), weirdNumber),
    Float: weirdNumber,
    BigInt: fc.oneof(fc.integer({ min: -3, max: 70 }).map(String), fc.constantFrom('9223372036854775807', '-9223372036854775808', '9223372036854775808', '1e3', ' 1'), weirdNumber),
    Decimal: fc.oneof(fc.constantFrom('0', '-0', '0.5', '-12.50', '1e5', '99999999999999999999.999999', '1' + '0'.repeat(200), '.5', 'NaN'), weirdNumber.map(String), weirdNumber),
    String: weirdString,
    ID: weirdString,
    Boolean: fc.constantFrom(true, false, 'true', 0, 1),
    DateTime: fc.constantFrom('2024-05-01T10:00:00Z', '2024-05-01T10:00:00.1234567891+02:00', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999Z', '2024-02-30T00:00:00Z', '275760-09-13T00:00:00Z', '1969-12-31T23:59:59-14:00'),
    Date: fc.constantFrom('2024-05-01', '2024-02-30', '0000-01-01', '9999-12-31', '2024-5-1', '99999-01-01'),
    Time: fc.constantFrom('10:00:00', '24:00:00', '23:59:60', '99:99:99', '00:00:00.000000001'),
    UUID: fc.oneof(fc.uuid().map(String), fc.constantFrom('00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF')),
    Bytes: fc.oneof(fc.base64String({ maxLength: 40 }), fc.constantFrom('AA==', 'AAAA', '====', 'A===')),
    JSON: weirdJson,
    OrderStatus: fc.constantFrom('PLACED', 'CONFIRMED', 'IN_TRANSIT', 'placed', 'in-transit', 'DELIVERED'),
  };
  const right = plausible[type] ?? weirdString;
  return fc.oneof({ weight: 6, arbitrary: right }, { weight: 1, arbitrary: weirdJson }, { weight: 1, arbitrary: fc.constant(null) });
}

/** Base64url of a JSON body shaped like an Entente cursor, with hostile values; or any string at all. */
export const cursorArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('id:asc', 'quantity:desc,id:asc', 'sku:asc', 'x', ''), fc.array(weirdJson, { maxLength: 3 })).map(([o, v]) => Buffer.from(JSON.stringify({ o, v }), 'utf8').toString('base64url')) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((body) => Buffer.from(JSON.stringify(body) ?? 'null', 'utf8').toString('base64url')) },
  { weight: 1, arbitrary: weirdString },
  { weight: 1, arbitrary: fc.integer({ min: 4_000, max: 9_000 }).map((length) => 'A'.repeat(length)) },
  { weight: 1, arbitrary: weirdJson },
);
