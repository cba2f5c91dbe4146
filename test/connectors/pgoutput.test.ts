// pgoutput.ts decodes the logical replication messages of PostgreSQL's pgoutput plugin. The real
// server's messages are covered end to end by the logical-decoding contract suite; this pins the byte
// layouts (as documented in "Logical Replication Message Formats") and the refusals of bad input.
import { describe, expect, it } from 'vitest';
import { decodePgoutput, lsnFromText, lsnToText, postgresTimeToIso } from '../../connectors/postgres/pgoutput.ts';
import { formatLsnPosition, parseLsnPosition, slotNameFor } from '../../connectors/postgres/postgres-logical-capture.ts';

const int16 = (value: number): Buffer => Buffer.from([(value >> 8) & 0xff, value & 0xff]);
const int32 = (value: number): Buffer => {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
};
const int64 = (value: bigint): Buffer => {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(value);
  return buffer;
};
const cstring = (text: string): Buffer => Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
const code = (letter: string): Buffer => Buffer.from(letter, 'ascii');
const text = (value: string): Buffer => Buffer.concat([code('t'), int32(Buffer.byteLength(value)), Buffer.from(value, 'utf8')]);

describe('pgoutput messages', () => {
  it('decodes begin, relation, insert, update with the old row, delete, message and commit', () => {
    expect(decodePgoutput(Buffer.concat([code('B'), int64(0x1_0000_0010n), int64(1_000_000n), int32(4_000_000_000)]))).toEqual({ tag: 'begin', finalLsn: 0x1_0000_0010n, commitTimeMicros: 1_000_000n, xid: 4_000_000_000 });
    const relation = decodePgoutput(Buffer.concat([
      code('R'), int32(16384), cstring('sales'), cstring('orders'), code('f'), int16(2),
      Buffer.from([1]), cstring('id'), int32(20), int32(0xffffffff),
      Buffer.from([0]), cstring('note'), int32(25), int32(0xffffffff),
    ]));
    expect(relation).toEqual({ tag: 'relation', relationId: 16384, schema: 'sales', name: 'orders', replicaIdentity: 'f', columns: [{ name: 'id', typeOid: 20, isKey: true }, { name: 'note', typeOid: 25, isKey: false }] });
    expect(decodePgoutput(Buffer.concat([code('I'), int32(16384), code('N'), int16(2), text('7'), code('n')]))).toEqual({ tag: 'insert', relationId: 16384, newTuple: ['7', null] });
    expect(decodePgoutput(Buffer.concat([code('U'), int32(16384), code('O'), int16(2), text('7'), text('ü'), code('N'), int16(2), text('7'), code('u')]))).toEqual({
      tag: 'update', relationId: 16384, oldTuple: ['7', 'ü'], oldIsKeyOnly: false, newTuple: ['7', undefined],
    });
    expect(decodePgoutput(Buffer.concat([code('D'), int32(16384), code('K'), int16(2), text('7'), code('n')]))).toEqual({ tag: 'delete', relationId: 16384, oldTuple: ['7', null], oldIsKeyOnly: true });
    expect(decodePgoutput(Buffer.concat([code('M'), Buffer.from([1]), int64(5n), cstring('entente.origin'), int32(3), Buffer.from('m-1')]))).toMatchObject({ tag: 'message', transactional: true, prefix: 'entente.origin' });
    expect(decodePgoutput(Buffer.concat([code('C'), Buffer.from([0]), int64(10n), int64(12n), int64(0n)]))).toEqual({ tag: 'commit', commitLsn: 10n, endLsn: 12n, commitTimeMicros: 0n });
    expect(decodePgoutput(code('Y'))).toEqual({ tag: 'other', code: 'Y' });
  });

  it('refuses a truncated message or an unknown value kind with a message saying where', () => {
    expect(() => decodePgoutput(Buffer.concat([code('B'), int64(1n)]))).toThrow(/truncated at byte 9/);
    expect(() => decodePgoutput(Buffer.concat([code('I'), int32(1), code('N'), int16(1), code('x')]))).toThrow(/unexpected tuple value kind x/);
    expect(() => decodePgoutput(Buffer.concat([code('R'), int32(1), Buffer.from('no terminator')]))).toThrow(/unterminated string/);
  });

  it('converts LSNs, positions and commit times', () => {
    expect(lsnToText(lsnFromText('16/B374D848'))).toBe('16/B374D848');
    expect(formatLsnPosition(lsnFromText('0/1'))).toBe('0000000000000001');
    expect(parseLsnPosition(formatLsnPosition(0x16_b374_d848n))).toBe(0x16_b374_d848n);
    expect(() => parseLsnPosition('3:17')).toThrow(/logical-decoding capture position/);
    expect(postgresTimeToIso(0n)).toBe('2000-01-01T00:00:00.000Z');
    expect(postgresTimeToIso(1_500n)).toBe('2000-01-01T00:00:00.001Z');
    // Its per-second cache gives what toISOString gives, across seconds, years and before 2000.
    for (const micros of [999_999n, 1_000_000n, 1_000_001n, 789_012_345_678_901n, 789_012_345_999_999n, -1_000n, -1_001_000n]) {
      expect(postgresTimeToIso(micros)).toBe(new Date(Math.floor(Number(micros) / 1000) + Date.UTC(2000, 0, 1)).toISOString());
    }
  });

  it('names slots after the database within PostgreSQL limits, distinct for names that sanitise alike', () => {
    const slot = slotNameFor('Sales-DB.eu');
    expect(slot).toMatch(/^entente_sales_db_eu_[0-9a-f]{8}$/);
    expect(slot).not.toBe(slotNameFor('sales_db_eu'));
    expect(slotNameFor('x'.repeat(200)).length).toBeLessThanOrEqual(63);
  });
});
