// Goal: the binary value codec that carries every peer message and the consensus snapshot round-trips
// what nodes send (the consensus wire shapes, transaction batches, JSON-like values), still reads the JSON
// payloads written before it, and refuses hostile bytes without throwing anything but SyntaxError, without
// prototype pollution and without unbounded recursion or allocation.
// Method: round-trips of real wire values and of seeded random values; truncations and mutations of valid
// encodings; hand-made hostile encodings.
import { describe, expect, it } from 'vitest';
import { parseConsensusWire } from '../../ledger/node/consensus-wire.ts';
import { batchPayload, decodeFramePayload, decodePayload, encodePayload } from '../../ledger/transport/peer-frames.ts';
import { decodeValue, encodeValue, VALUE_CODEC_V1, VALUE_DEPTH_MAX } from '../../ledger/transport/value-codec.ts';
import { seededRandom } from '../support/seeded-random.ts';

function createSeededRandom(seed: number): { int(below: number): number } {
  const next = seededRandom(seed);
  return { int: (below) => Math.floor(next() * below) };
}

const hex = (byte: number, bytes: number): string => byte.toString(16).padStart(2, '0').repeat(bytes);

describe('value codec', () => {
  it('round-trips consensus wires and transaction batches exactly', () => {
    const vote = { kind: 'precommit', height: 2 ** 40, round: 3, valueId: hex(0xab, 32), sender: 2, signature: hex(0x0f, 64) };
    const proposal = { kind: 'proposal', height: 7, round: 0, valueId: hex(0x01, 32), validRound: -1, sender: 0, signature: hex(0xee, 64) };
    const wires = [
      { type: 'vote', message: vote },
      { type: 'vote', message: { ...vote, kind: 'prevote', valueId: null } },
      { type: 'proposal', message: proposal, block: Uint8Array.of(1, 2, 3), justification: [vote] },
      { type: 'sync-response', blocks: [{ height: 1, block: new Uint8Array(300).fill(9), certificate: { height: 1, round: 0, valueId: hex(0xcd, 32), votes: [vote] } }] },
      { type: 'txs', txs: [new Uint8Array(1024).fill(7), Uint8Array.of()] },
    ];
    for (const wire of wires) {
      const back = decodePayload(encodePayload(wire));
      expect(back).toEqual(wire);
      if (wire.type !== 'txs') expect(parseConsensusWire(back)).toEqual(wire);
    }
  });

  it('round-trips random JSON-like values like JSON does, with bytes as bytes', () => {
    const random = createSeededRandom(5);
    const leaf = (): unknown => {
      switch (random.int(8)) {
        case 0: return null;
        case 1: return random.int(2) === 0;
        case 2: return random.int(2 ** 32);
        case 3: return (random.int(2 ** 20) - 2 ** 19) / 7;
        case 4: return -random.int(2 ** 53);
        case 5: return 'ünïcødé ' + String(random.int(1000));
        case 6: return hex(random.int(256), 8 + random.int(40));
        default: return Uint8Array.from({ length: random.int(40) }, () => random.int(256));
      }
    };
    const value = (depth: number): unknown => {
      if (depth > 4 || random.int(3) === 0) return leaf();
      if (random.int(2) === 0) return Array.from({ length: random.int(5) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: random.int(5) }, (_, i) => [`k${i}${random.int(9)}`, value(depth + 1)]));
    };
    for (let i = 0; i < 300; i++) {
      const v = value(0);
      expect(decodeValue(encodeValue(v))).toEqual(v);
    }
    expect(decodeValue(encodeValue({ a: undefined, b: 1, d: new Date(0) }))).toEqual({ b: 1, d: '1970-01-01T00:00:00.000Z' });
    expect(Object.is(decodeValue(encodeValue(-0)), -0)).toBe(true);
    expect(decodeValue(encodeValue('ABCDEF0123456789'))).toBe('ABCDEF0123456789'); // uppercase hex stays a string
  });

  it('still reads the JSON payloads written before it (snapshots on disk)', () => {
    const legacy = new TextEncoder().encode(JSON.stringify({ record: { height: 3 }, block: { $b: Buffer.from([1, 2]).toString('base64') } }));
    expect(decodePayload(legacy)).toEqual({ record: { height: 3 }, block: Uint8Array.of(1, 2) });
  });

  it('carries several values in one frame payload, in order', () => {
    const parts = [encodePayload({ n: 1 }), encodePayload({ n: 2 }), encodePayload([3])];
    expect(decodeFramePayload(batchPayload(parts))).toEqual([{ n: 1 }, { n: 2 }, [3]]);
    expect(decodeFramePayload(batchPayload([parts[0]!]))).toEqual([{ n: 1 }]);
  });

  it('refuses every truncation and random mutation with a SyntaxError or a different value, never anything else', () => {
    const random = createSeededRandom(11);
    const valid = encodePayload({ type: 'proposal', message: { round: 1, valueId: hex(3, 32) }, block: new Uint8Array(50), justification: [{ a: [1, 'x'] }] });
    for (let cut = 0; cut < valid.length; cut++) expect(() => decodeValue(valid.subarray(0, cut))).toThrow(SyntaxError);
    for (let i = 0; i < 2000; i++) {
      const bytes = valid.slice();
      bytes[random.int(bytes.length)] = random.int(256);
      try {
        decodeValue(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(SyntaxError);
      }
    }
    const batch = batchPayload([valid, valid]);
    for (let cut = 1; cut < batch.length; cut++) expect(() => decodeFramePayload(batch.subarray(0, cut))).toThrow(SyntaxError);
  });

  it('refuses hostile shapes: huge counts, deep nesting, and keeps __proto__ an ordinary key', () => {
    const hugeArray = Uint8Array.of(VALUE_CODEC_V1, 8, 0xff, 0xff, 0xff, 0xff);
    expect(() => decodeValue(hugeArray)).toThrow(/count/);
    const deep = new Uint8Array(2 + 5 * (VALUE_DEPTH_MAX + 2));
    deep[0] = VALUE_CODEC_V1;
    for (let i = 0; i <= VALUE_DEPTH_MAX + 1; i++) deep.set([8, 0, 0, 0, 1], 1 + 5 * i);
    expect(() => decodeValue(deep)).toThrow(/nested deeper/);
    const polluted = decodeValue(encodeValue(JSON.parse('{"__proto__": {"polluted": true}}'))) as Record<string, unknown>;
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(polluted)).toBe(Object.prototype);
    expect(Object.keys(polluted)).toEqual(['__proto__']);
    expect(() => encodeValue({ n: 1n })).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => encodeValue(cyclic)).toThrow(TypeError);
  });
});
