// Transaction id → a positive integer, for every transaction on the chain: the chain's committed index
// (id → height: the replay rule, that a block may not repeat a committed transaction, and the republish
// check ask it) and the block store's locations (id → height and position) hold every id ever committed.
// A Map keyed by the 64-character hex id cost about 109 bytes of V8 heap per entry (bench:memory), the
// largest share of every gateway's heap growth under load, and counted against the heap limit. Here the
// 32 id bytes and the value sit in typed arrays (open addressing, linear probing): 40 bytes per slot,
// 53 to 107 per entry as the table fills, outside the V8 heap. Ids are SHA-256 outputs, so their first
// word is already a uniform hash; keys are compared whole, so the answers are exact.
import { assert } from '../../common/assert.ts';

export const ID_WORDS = 8;
const INITIAL_CAPACITY = 1_024;
/** The table doubles when more than this share of its slots is taken. */
const LOAD_FACTOR_MAX = 0.75;
/** A lowercase hex digit's value by character code; -1 for every other character. */
const HEX_DIGIT_VALUES = Int8Array.from({ length: 128 }, (_, code) => (code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1));

export class TransactionIdIndex {
  /** ID_WORDS words per slot: the id's bytes, big-endian words. */
  private keys: Uint32Array;
  /** The value per slot; 0 marks an empty slot (values start at 1). */
  private values: Float64Array;
  private mask: number;
  private count = 0;
  /** The id being looked up, parsed (reused: no allocation per call). */
  private readonly probe = new Uint32Array(ID_WORDS);

  constructor(initialCapacity = INITIAL_CAPACITY) {
    assert(Number.isInteger(Math.log2(initialCapacity)), 'the capacity is a power of two');
    this.keys = new Uint32Array(initialCapacity * ID_WORDS);
    this.values = new Float64Array(initialCapacity);
    this.mask = initialCapacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes the table holds (outside the V8 heap). */
  get bytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  has(id: string | Uint8Array): boolean {
    return this.get(id) !== undefined;
  }

  /** The id's value; undefined when it was never set (or is no transaction id at all). */
  get(id: string | Uint8Array): number | undefined {
    const key = this.parse(id);
    if (key === null) return undefined;
    const slot = this.find(key);
    return slot >= 0 ? this.values[slot] : undefined;
  }

  /** The value of an id already parsed into ID_WORDS words (parseTransactionId). */
  getWords(words: Uint32Array): number | undefined {
    const slot = this.find(words);
    return slot >= 0 ? this.values[slot] : undefined;
  }

  /** Records `value` for the id (a later call for the same id replaces it). */
  set(id: string | Uint8Array, value: number): void {
    const key = this.parse(id);
    assert(key !== null, `a transaction id is 32 bytes or ${ID_WORDS * 8} lowercase hex digits, not "${typeof id === 'string' ? id.slice(0, 80) : `${id.length} bytes`}"`);
    this.setWords(key, 0, value);
  }

  /** The same, for an id given as ID_WORDS words at `offset` of `words` (as forEach hands them out). */
  setWords(words: Uint32Array, offset: number, value: number): void {
    assert(Number.isSafeInteger(value) && value >= 1, `an index value is a positive safe integer, not ${value}`);
    const key = offset === 0 && words.length === ID_WORDS ? words : words.slice(offset, offset + ID_WORDS);
    const slot = this.find(key);
    if (slot >= 0) {
      this.values[slot] = value;
      return;
    }
    if ((this.count + 1) / this.values.length > LOAD_FACTOR_MAX) {
      this.grow();
      this.setWords(key, 0, value);
      return;
    }
    this.place(-slot - 1, key, 0, value);
    this.count += 1;
  }

  /** The id as words in the reused probe; null when it is neither 32 bytes nor 64 lowercase hex digits. */
  private parse(id: string | Uint8Array): Uint32Array | null {
    return parseTransactionId(id, this.probe) ? this.probe : null;
  }

  /** Slots in the table (forEach can visit a range of them at a time). */
  get slotCount(): number {
    return this.values.length;
  }

  /**
   * Visits every entry (in slots fromSlot..toSlot - 1 only, when given): the id is ID_WORDS words at
   * `offset` of `keys` (the table's own array: read it, do not keep it).
   */
  forEach(visit: (keys: Uint32Array, offset: number, value: number) => void, fromSlot = 0, toSlot = this.values.length): void {
    for (let slot = fromSlot; slot < Math.min(toSlot, this.values.length); slot++) {
      const value = this.values[slot]!;
      if (value !== 0) visit(this.keys, slot * ID_WORDS, value);
    }
  }

  /** The slot holding `key` (>= 0), or -(the empty slot where it would go) - 1. */
  private find(key: Uint32Array): number {
    let slot = key[0]! & this.mask;
    for (;;) {
      if (this.values[slot] === 0) return -slot - 1;
      if (this.keyAt(slot, key, 0)) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  private keyAt(slot: number, key: Uint32Array, offset: number): boolean {
    const base = slot * ID_WORDS;
    for (let word = 0; word < ID_WORDS; word++) if (this.keys[base + word] !== key[offset + word]) return false;
    return true;
  }

  private place(slot: number, key: Uint32Array, offset: number, value: number): void {
    this.keys.set(key.subarray(offset, offset + ID_WORDS), slot * ID_WORDS);
    this.values[slot] = value;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const capacity = oldValues.length * 2;
    this.keys = new Uint32Array(capacity * ID_WORDS);
    this.values = new Float64Array(capacity);
    this.mask = capacity - 1;
    for (let old = 0; old < oldValues.length; old++) {
      const value = oldValues[old]!;
      if (value === 0) continue;
      let slot = oldKeys[old * ID_WORDS]! & this.mask;
      while (this.values[slot] !== 0) slot = (slot + 1) & this.mask;
      this.place(slot, oldKeys, old * ID_WORDS, value);
    }
  }
}

/**
 * Parses a transaction id (32 bytes, or 64 lowercase hex digits) into ID_WORDS big-endian words; false
 * (and `into` unspecified) when it is neither.
 */
export function parseTransactionId(id: string | Uint8Array, into: Uint32Array): boolean {
  if (typeof id !== 'string') {
    if (id.length !== ID_WORDS * 4) return false;
    for (let word = 0; word < ID_WORDS; word++) {
      const at = word * 4;
      into[word] = ((id[at]! << 24) | (id[at + 1]! << 16) | (id[at + 2]! << 8) | id[at + 3]!) >>> 0;
    }
    return true;
  }
  // By hand, a digit at a time: slices and parseInt made a lookup cost 1.4 µs against a Map's 0.3.
  if (id.length !== ID_WORDS * 8) return false;
  for (let word = 0; word < ID_WORDS; word++) {
    let value = 0;
    for (let digit = word * 8; digit < word * 8 + 8; digit++) {
      const nibble = HEX_DIGIT_VALUES[id.charCodeAt(digit)] ?? -1;
      if (nibble < 0) return false;
      value = value * 16 + nibble;
    }
    into[word] = value;
  }
  return true;
}
