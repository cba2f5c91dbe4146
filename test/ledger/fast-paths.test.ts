// Goal: the speed-ups in the canonical encoding and the Merkle root change no byte and no verdict. ByteWriter encodes strings
// in place (room for ASCII first, the UTF-8 worst case when that is short) and hands over its buffer when
// it is exactly full; ByteReader builds short ASCII strings directly and leaves everything else to the
// strict UTF-8 decoder. Method: strings around the 64-byte fast-path limit, ASCII and not, compared with
// TextEncoder/TextDecoder; invalid UTF-8 must still be refused; an exactly sized block record must come
// back as the writer's buffer and still decode to the same block; the root of every sub-range of a
// list of leaves, computed in place, must equal RFC 6962's recursive MTH of that range sliced out.
import { describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock } from '../../ledger/block.ts';
import { ByteReader } from '../../ledger/encoding/byte-reader.ts';
import { ByteWriter } from '../../ledger/encoding/byte-writer.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { merkleRoot, merkleRootOfRange } from '../../ledger/merkle.ts';
import { createTestNetwork, TestChainBuilder } from '../../ledger/testing/test-network.ts';
import { createPayload } from '../../ledger/transaction.ts';

const SAMPLES = ['', '*', 'Type1', 'a'.repeat(63), 'b'.repeat(64), 'c'.repeat(65), 'é', 'partner-ü', `${'x'.repeat(62)}✓`, '漢字かな', '🙂 emoji', 'a\u0000b', '\u007f\u0080'];

describe('encoding fast paths', () => {
  it('writes every string as TextEncoder would and reads it back, whatever the writer\'s room', () => {
    for (const initial of [1, 3, 256]) {
      const writer = new ByteWriter(initial);
      for (const s of SAMPLES) writer.string(s, 'sample');
      const bytes = writer.finish();
      const expected: number[] = [];
      for (const s of SAMPLES) {
        const utf8 = new TextEncoder().encode(s);
        expected.push(utf8.length >> 8, utf8.length & 0xff, ...utf8);
      }
      expect([...bytes]).toEqual(expected);
      const reader = new ByteReader(bytes, 'samples');
      expect(SAMPLES.map(() => reader.string('sample'))).toEqual(SAMPLES);
      reader.expectEnd();
    }
  });

  it('still refuses invalid UTF-8, short or long', () => {
    for (const body of [[0xc3], [0x61, 0xff, 0x62], [...new Array<number>(70).fill(0x61), 0xed, 0xa0, 0x80]]) {
      const bytes = Uint8Array.from([body.length >> 8, body.length & 0xff, ...body]);
      expect(() => new ByteReader(bytes, 'sample').string('name')).toThrow(/not valid UTF-8/);
    }
  });

  it('hands over an exactly full buffer and copies otherwise; block records round-trip either way', () => {
    const exact = new ByteWriter(4).u32(7);
    const full = exact.finish();
    expect(full.buffer.byteLength).toBe(4);
    exact.u8(1); // a later write grows into a new buffer and leaves the returned bytes alone
    expect([...full]).toEqual([0, 0, 0, 7]);
    expect(new ByteWriter(16).u32(7).finish().buffer.byteLength).toBe(4);

    const builder = new TestChainBuilder(createTestNetwork({ nodes: 4 }), { payloadBytes: 100 });
    const ascii = builder.blocks(1, 20)[0]!;
    const record = encodeBlock(ascii);
    expect(record.buffer.byteLength).toBe(record.length);
    expect(encodeBlock(decodeBlock(record))).toEqual(record);
    const mixed = builder.nextBlock([{ owner: 0, payloads: [createPayload('*', new Uint8Array(5)), createPayload('éö✓', new Uint8Array(7))] }]);
    const mixedRecord = encodeBlock(mixed);
    expect(decodeBlock(mixedRecord).payloads.map((p) => p.audience)).toEqual(['*', 'éö✓']);
    expect(encodeBlock(decodeBlock(mixedRecord))).toEqual(mixedRecord);
  });
});

/** RFC 6962 §2.1 MTH, written as the RFC defines it (recursive split at the largest power of two below n). */
function mth(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return nodeHasher.sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHasher.merkleNode(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe('Merkle root of a range', () => {
  it('equals RFC 6962 MTH of the sliced range for every range of up to 33 leaves, and leaves its input alone', () => {
    const leaves = Array.from({ length: 33 }, (_, i) => nodeHasher.merkleLeaf(Uint8Array.of(i)));
    const before = leaves.slice();
    for (let start = 0; start <= leaves.length; start++) {
      for (let end = start; end <= leaves.length; end++) expect(merkleRootOfRange(nodeHasher, leaves, start, end)).toEqual(mth(leaves.slice(start, end)));
    }
    expect(merkleRoot(nodeHasher, leaves)).toEqual(mth(leaves));
    expect(leaves).toEqual(before);
    expect(() => merkleRootOfRange(nodeHasher, leaves, 5, 40)).toThrow(RangeError);
  });
});
