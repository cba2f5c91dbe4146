// Canonical binary writer: big-endian fixed-width integers, u32-length-prefixed byte strings and
// u16-length-prefixed UTF-8 strings. Strings must be well-formed UTF-16 (a lone surrogate would be
// replaced by U+FFFD and two different strings would share bytes), so the writer refuses them. Pure.
import { EntenteError } from '../../common/errors.ts';
import { isWellFormedText } from './hex.ts';

const INITIAL_BYTES = 256;
const encoder = new TextEncoder();

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialBytes: number = INITIAL_BYTES) {
    this.buffer = new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer);
  }

  get byteLength(): number {
    return this.length;
  }

  u8(value: number): this {
    checkRange(value, 0xff, 'u8');
    this.reserve(1);
    this.buffer[this.length++] = value;
    return this;
  }

  u16(value: number): this {
    checkRange(value, U16_MAX, 'u16');
    this.reserve(2);
    this.view.setUint16(this.length, value);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    checkRange(value, U32_MAX, 'u32');
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
    return this;
  }

  /** An unsigned integer up to 2^53 - 1 written as 8 bytes big-endian. */
  u64(value: number): this {
    checkRange(value, Number.MAX_SAFE_INTEGER, 'u64');
    this.reserve(8);
    this.view.setUint32(this.length, Math.floor(value / 0x100000000));
    this.view.setUint32(this.length + 4, value >>> 0);
    this.length += 8;
    return this;
  }

  /** Raw bytes of a length both sides know (hashes, keys, signatures). */
  fixed(bytes: Uint8Array, expectedLength: number, what: string): this {
    if (bytes.length !== expectedLength) throw new EntenteError('LEDGER_INVALID', `${what} must be ${expectedLength} bytes, got ${bytes.length}`);
    return this.raw(bytes);
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** u32 length, then the bytes. */
  bytes(bytes: Uint8Array): this {
    this.u32(bytes.length);
    return this.raw(bytes);
  }

  /** u16 byte length, then UTF-8. */
  string(value: string, what: string): this {
    if (!isWellFormedText(value)) throw new EntenteError('LEDGER_INVALID', `${what} contains a lone UTF-16 surrogate and has no canonical UTF-8 form; fix the source value`);
    // encodeInto writes straight into the buffer: TextEncoder.encode allocates a fresh array per call and
    // costs ~25x more for the short strings (audiences, keys, names) that blocks hold by the thousand.
    // Room for ASCII first (so an exactly sized writer stays exact), the UTF-8 worst case if that is short.
    this.reserve(2 + value.length);
    let result = encoder.encodeInto(value, this.buffer.subarray(this.length + 2));
    if (result.read !== value.length) {
      this.reserve(2 + value.length * 3);
      result = encoder.encodeInto(value, this.buffer.subarray(this.length + 2));
    }
    const { written } = result;
    if (written > U16_MAX) throw new EntenteError('LIMIT_EXCEEDED', `${what} is ${written} bytes of UTF-8; the limit is ${U16_MAX}`);
    this.view.setUint16(this.length, written);
    this.length += 2 + written;
    return this;
  }

  /**
   * The written bytes: a copy, or the writer's own buffer when the bytes fill it exactly (an exactly
   * sized writer, as for block records of many megabytes) — no later write can touch that buffer, since
   * the next write must grow into a new one.
   */
  finish(): Uint8Array {
    if (this.length === this.buffer.length) return this.buffer;
    return this.buffer.slice(0, this.length);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }
}

function checkRange(value: number, max: number, type: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${value} does not fit ${type}`);
}
