// Goal: BSON values map to the contract's canonical Values faithfully and exactly (ObjectId → hex,
// Int64 and Decimal128 → exact decimal strings, Date → ISO-8601 with six fractional digits, Binary →
// base64, Binary subtype 4 → UUID, nested documents and arrays), and canonical Values written back
// become the BSON type the column's model names, so a round trip through the database is lossless.
// Method: real BSON values built with the driver's bson classes, serialized to BSON bytes and decoded
// as the connector decodes them (promoteValues: false), plus Extended JSON round trips, so nothing
// here depends on how a JS object looks before it reaches the wire.
import { describe, expect, it } from 'vitest';
import { Binary, BSON, Code, Decimal128, Double, Int32, Long, MaxKey, ObjectId, Timestamp, UUID } from 'mongodb';
import type { ValueType } from '../../connectors/connector.ts';
import { bsonToTypedValue, bsonToValue, bsonTypeName, decimal128ToPlainString, exactReadOptions, valueToBson } from '../../connectors/mongodb/mongodb-values.ts';

/** Through BSON bytes and back, decoded the way the connector reads documents. */
function overTheWire(value: unknown): unknown {
  const bytes = BSON.serialize({ value });
  return BSON.deserialize(bytes, exactReadOptions)['value'];
}

/** Through canonical Extended JSON text and back (what mongoexport/mongoimport would carry). */
function throughEjson(value: unknown): unknown {
  const text = BSON.EJSON.stringify({ value } as never, { relaxed: false });
  return (BSON.EJSON.parse(text, { relaxed: false }) as { value: unknown }).value;
}

const scalar = (name: 'Int' | 'Float' | 'BigInt' | 'Decimal' | 'String' | 'DateTime' | 'UUID' | 'ObjectId' | 'Bytes' | 'JSON' | 'Boolean'): ValueType => ({ kind: 'scalar', scalar: name });

describe('BSON → canonical Value', () => {
  it('maps every common BSON type exactly, after a trip over the wire', () => {
    const objectId = new ObjectId('65f0c0ffee00000000000001');
    const uuid = new UUID('6f1c1d3e-8a4b-4c59-9d1e-2b7f0c3a4d5e');
    const cases: [unknown, unknown][] = [
      [objectId, '65f0c0ffee00000000000001'],
      [new Int32(-7), -7],
      [new Double(1), 1],
      [new Double(NaN), 'NaN'],
      [new Double(-Infinity), '-Infinity'],
      [Long.fromString('9223372036854775807'), '9223372036854775807'],
      [Long.fromString('-9223372036854775808'), '-9223372036854775808'],
      [Decimal128.fromString('-12.50'), '-12.50'],
      [Decimal128.fromString('1.20E-7'), '0.000000120'],
      [Decimal128.fromString('1E+3'), '1000'],
      [Decimal128.fromString('123456789012345678901234567890.123'), '123456789012345678901234567890.123'],
      [Decimal128.fromString('-0.00'), '0.00'],
      [new Date('2024-05-01T10:00:00.123Z'), '2024-05-01T10:00:00.123000Z'],
      [new Binary(Buffer.from([0, 1, 2, 255])), 'AAEC/w=='],
      [uuid, '6f1c1d3e-8a4b-4c59-9d1e-2b7f0c3a4d5e'],
      [true, true],
      [null, null],
      ['naïve ☃', 'naïve ☃'],
      [[new Int32(1), 'two', null, [new Double(3.5)]], [1, 'two', null, [3.5]]],
      [{ nested: { deeper: Long.fromNumber(5), at: new Date(0) } }, { nested: { deeper: '5', at: '1970-01-01T00:00:00.000000Z' } }],
    ];
    for (const [bson, expected] of cases) {
      expect(bsonToValue(overTheWire(bson)), `BSON ${BSON.EJSON.stringify({ v: bson } as never)}`).toEqual(expected);
      expect(bsonToValue(throughEjson(bson))).toEqual(expected);
    }
  });

  it('names BSON types as $type does, telling UUIDs from other binaries and Int32 from Double', () => {
    expect(bsonTypeName(overTheWire(new Int32(1)))).toBe('int');
    expect(bsonTypeName(overTheWire(new Double(1)))).toBe('double');
    expect(bsonTypeName(overTheWire(Long.fromNumber(1)))).toBe('long');
    expect(bsonTypeName(overTheWire(new UUID()))).toBe('uuid');
    expect(bsonTypeName(overTheWire(new Binary(Buffer.from('x'))))).toBe('binData');
    expect(bsonTypeName(overTheWire(Decimal128.fromString('1')))).toBe('decimal');
    expect(bsonTypeName(overTheWire(new Timestamp({ t: 1, i: 2 })))).toBe('timestamp');
  });

  it('keeps types without a canonical form as their canonical Extended JSON text', () => {
    expect(bsonToValue(overTheWire(new Timestamp({ t: 1700000000, i: 3 })))).toBe('{"$timestamp":{"t":1700000000,"i":3}}');
    expect(bsonToValue(overTheWire(new MaxKey()))).toBe('{"$maxKey":1}');
    expect(bsonToValue(overTheWire(new Code('function () {}')))).toBe('{"$code":"function () {}"}');
    expect(bsonToValue(overTheWire(/^a.b$/i))).toBe('{"$regularExpression":{"pattern":"^a.b$","options":"i"}}');
  });

  it('widens every numeric type to an exact decimal string in BigInt and Decimal columns', () => {
    expect(bsonToTypedValue(overTheWire(new Int32(5)), scalar('Decimal'))).toBe('5');
    expect(bsonToTypedValue(overTheWire(Long.fromString('9007199254740993')), scalar('BigInt'))).toBe('9007199254740993');
    expect(bsonToTypedValue(overTheWire(new Double(0.1)), scalar('Decimal'))).toBe('0.1');
    expect(bsonToTypedValue(overTheWire(Decimal128.fromString('2.50')), scalar('Decimal'))).toBe('2.50');
  });

  it('shapes nested documents by their object model: absent fields are null, extra fields dropped', () => {
    const type: ValueType = { kind: 'object', fields: [{ name: 'city', type: scalar('String'), nullable: true }, { name: 'zip', type: scalar('String'), nullable: true }] };
    expect(bsonToTypedValue(overTheWire({ city: 'Lyon', extra: 1 }), type)).toEqual({ city: 'Lyon', zip: null });
    expect(bsonToTypedValue(overTheWire([{ city: 'A' }]), { kind: 'list', of: type })).toEqual([{ city: 'A', zip: null }]);
  });

  it('prints Decimal128 in plain notation for every exponent', () => {
    for (const [text, plain] of [['5E-3', '0.005'], ['-5E-3', '-0.005'], ['0E-10', '0.0000000000'], ['1.000E+2', '100.0'], ['7E+0', '7'], ['NaN', 'NaN'], ['-Infinity', '-Infinity']] as const) {
      expect(decimal128ToPlainString(Decimal128.fromString(text))).toBe(plain);
      // The plain text denotes the same decimal: MongoDB parses it back to an equal value.
      if (plain !== 'NaN' && !plain.includes('Infinity')) expect(Number(decimal128ToPlainString(Decimal128.fromString(plain)))).toBe(Number(plain));
    }
  });
});

describe('canonical Value → BSON', () => {
  it('stores the BSON type the column model names and reads back the same Value', () => {
    const cases: [ValueType, unknown, string][] = [
      [scalar('Int'), 42, 'int'],
      [scalar('Float'), 1, 'double'],
      [scalar('Float'), 'Infinity', 'double'],
      [scalar('BigInt'), '-9223372036854775808', 'long'],
      [scalar('Decimal'), '99999999.99', 'decimal'],
      [scalar('DateTime'), '2024-06-15T23:59:59.000000Z', 'date'],
      [scalar('UUID'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'uuid'],
      [scalar('ObjectId'), '65f0c0ffee00000000000001', 'objectId'],
      [scalar('Bytes'), 'AAEC/w==', 'binData'],
      [scalar('Boolean'), false, 'bool'],
      [scalar('JSON'), { vip: true, languages: ['en'], limits: { daily: 500 } }, 'object'],
      [{ kind: 'list', of: scalar('Decimal') }, ['1.10', '2'], 'array'],
    ];
    for (const [type, value, bsonType] of cases) {
      const stored = overTheWire(valueToBson(value as never, type, 'column'));
      expect(bsonTypeName(stored)).toBe(bsonType);
      expect(bsonToTypedValue(stored, type)).toEqual(value);
    }
  });

  it('truncates DateTime microseconds to BSON milliseconds (documented), never shifting the instant', () => {
    expect(bsonToTypedValue(overTheWire(valueToBson('2024-05-01T10:00:00.123456Z', scalar('DateTime'), 'at')), scalar('DateTime'))).toBe('2024-05-01T10:00:00.123000Z');
  });

  it('refuses values of the wrong shape with a USAGE error naming the field and the expected form', () => {
    expect(() => valueToBson('12', scalar('Int'), 'qty')).toThrow(/'qty' expects a 32-bit integer/);
    expect(() => valueToBson('9223372036854775808', scalar('BigInt'), 'id')).toThrow(/64-bit integer/);
    expect(() => valueToBson('zz', scalar('ObjectId'), '_id')).toThrow(/ObjectId/);
    expect(() => valueToBson('not a date', scalar('DateTime'), 'at')).toThrow(/ISO-8601/);
    expect(() => valueToBson('1e', scalar('Decimal'), 'price')).toThrow(/decimal/);
  });
});
