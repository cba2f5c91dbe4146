// Goal: custom scalars never lose precision and reject malformed input with the expected form; the
// in-memory Filter evaluation (row rules on rows loaded by key, subscription events) agrees with SQL
// semantics for decimals, timestamps, LIKE and nulls; per-viewer schemas are cached per role set.
// Method: direct calls on the scalars, matchesFilter and the schema cache with literal inputs.
import { describe, expect, it } from 'vitest';
import { Kind } from 'graphql';
import { BigIntScalar, BytesScalar, DateTimeScalar, DecimalScalar, UUIDScalar } from '../../schema/scalars.ts';
import { matchesFilter } from '../../schema/api/row-filter.ts';
import { createSchemaCache } from '../../schema/api/schema-cache.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { loadPartnerSchemaFiles } from '../../schema/schema-files.ts';

describe('custom scalars', () => {
  it('keep 64-bit integers and decimals exact', () => {
    expect(BigIntScalar.parseLiteral({ kind: Kind.INT, value: '9223372036854775807' })).toBe('9223372036854775807');
    expect(BigIntScalar.serialize(2n ** 62n)).toBe('4611686018427387904');
    expect(() => BigIntScalar.parseValue('9223372036854775808')).toThrow('BigInt cannot represent "9223372036854775808"');
    expect(() => BigIntScalar.parseValue(2 ** 60)).toThrow('BigInt cannot represent number');
    expect(DecimalScalar.parseLiteral({ kind: Kind.FLOAT, value: '12345678901234567890.125' })).toBe('12345678901234567890.125');
    expect(DecimalScalar.serialize('-12.50')).toBe('-12.50');
    expect(() => DecimalScalar.parseValue('1e5')).toThrow("Decimal cannot represent \"1e5\": expected a decimal string such as '-12.50'");
  });

  it('check dates, UUIDs and base64', () => {
    expect(DateTimeScalar.parseValue('2024-05-01T10:00:00.123456+02:00')).toBe('2024-05-01T10:00:00.123456+02:00');
    expect(() => DateTimeScalar.parseValue('2024-05-01 10:00')).toThrow('DateTime cannot represent');
    expect(UUIDScalar.parseValue('123E4567-E89B-12D3-A456-426614174000')).toBe('123e4567-e89b-12d3-a456-426614174000');
    expect(() => BytesScalar.parseValue('not base64!')).toThrow('Bytes cannot represent');
  });
});

describe('matchesFilter', () => {
  const kinds = new Map([['amount', 'Decimal' as const], ['at', 'DateTime' as const], ['name', 'String' as const]]);
  const row = { amount: '10.5', at: '2024-05-01T10:00:00.000001Z', name: 'Bolt 10%', missing: null };
  it('compares decimals exactly and timestamps as instants', () => {
    expect(matchesFilter(row, { column: 'amount', op: 'gt', value: '9.75' }, kinds)).toBe(true);
    expect(matchesFilter(row, { column: 'amount', op: 'eq', value: '10.50' }, kinds)).toBe(true);
    expect(matchesFilter(row, { column: 'at', op: 'gt', value: '2024-05-01T10:00:00Z' }, kinds)).toBe(true);
    expect(matchesFilter(row, { column: 'at', op: 'lt', value: '2024-05-01T12:00:00+02:00' }, kinds)).toBe(false);
  });
  it('follows SQL for LIKE, nulls and absent columns', () => {
    expect(matchesFilter(row, { column: 'name', op: 'like', value: 'Bolt 10\\%' }, kinds)).toBe(true);
    expect(matchesFilter(row, { column: 'name', op: 'ilike', value: 'b_LT%' }, kinds)).toBe(true);
    expect(matchesFilter(row, { column: 'missing', op: 'ne', value: 'x' }, kinds)).toBe(false);
    expect(matchesFilter(row, { column: 'missing', op: 'isNull', value: true }, kinds)).toBe(true);
    expect(matchesFilter(row, { column: 'supplier_id', op: 'eq', value: 'globex' }, kinds)).toBe(false);
    expect(matchesFilter(row, { or: [{ not: { column: 'amount', op: 'in', values: ['1', '10.500'] } }, { and: [] }] }, kinds)).toBe(true);
  });
});

describe('schema cache', () => {
  it('builds one schema per partner and role set, whatever the role order', async () => {
    const unified = composeSchemas(await loadPartnerSchemaFiles('schema/demo'));
    const cache = createSchemaCache(unified, { partner: 'acme' });
    const a = cache.schemaFor({ partner: 'acme', roles: ['buyer', 'auditor'] });
    expect(cache.schemaFor({ partner: 'acme', roles: ['auditor', 'buyer', 'buyer'] })).toBe(a);
    expect(cache.schemaFor({ partner: 'acme', roles: ['auditor'] })).not.toBe(a);
    expect(cache.size()).toBe(2);
    expect(Object.keys(cache.schemaFor({ partner: 'acme', roles: ['auditor'] }).getMutationType()?.getFields() ?? {})).not.toContain('createPurchaseOrder');
    expect(Object.keys(a.getMutationType()!.getFields())).toContain('createPurchaseOrder');
  });
});
