// A compact binary encoding for the plain values nodes exchange (consensus messages, transaction batches,
// sync responses) and keep on disk (the consensus snapshot). It replaces JSON with base64 byte fields,
// whose encoding, decoding and 4/3 size made up most of a node's CPU at load. Round-trips what JSON did
// (objects, arrays, strings, numbers, booleans, null; `toJSON` honoured, undefined object fields dropped)
// plus Uint8Array as raw bytes. Lowercase hex strings (ids, signatures) travel as their bytes and come
// back as the identical string.
//
// Layout: one version byte VALUE_CODEC_V1 (never a byte JSON text starts with, so old JSON payloads stay
// readable), then one tagged value. Integers are big-endian. Decoding takes untrusted bytes: every count
// and length is checked against what is left, nesting is capped, and `__proto__` is stored as an
// ordinary key. Decoded byte fields are views into the input (copy them to keep them past the input).
export const VALUE_CODEC_V1 = 0xb1;
/** Deepest nesting a decoded value may have (consensus values are 4–5 levels deep). */
export const VALUE_DEPTH_MAX = 32;
const HEX_MIN_CHARS = 16;

const T_NULL = 0;
const T_FALSE = 1;
const T_TRUE = 2;
const T_U32 = 3;
const T_F64 = 4;
const T_STRING = 5;
const T_HEX = 6;
const T_BYTES = 7;
const T_ARRAY = 8;
const T_OBJECT = 9;

const HEX_PATTERN = /^(?:[0-9a-f]{2})+$/;

class Output {
  private buffer = Buffer.allocUnsafe(1024);
  length = 0;

  reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  u32(value: number): void {
    this.reserve(4);
    this.buffer.writeUInt32BE(value, this.length);
    this.length += 4;
  }

  f64(value: number): void {
    this.reserve(8);
    this.buffer.writeDoubleBE(value, this.length);
    this.length += 8;
  }

  bytes(value: Uint8Array): void {
    this.u32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  utf8(value: string): void {
    const most = value.length * 3;
    this.reserve(4 + most);
    const written = this.buffer.write(value, this.length + 4, most, 'utf8');
    this.buffer.writeUInt32BE(written, this.length);
    this.length += 4 + written;
  }

  hex(value: string): void {
    const bytes = value.length / 2;
    this.reserve(4 + bytes);
    this.buffer.writeUInt32BE(bytes, this.length);
    this.buffer.write(value, this.length + 4, bytes, 'hex');
    this.length += 4 + bytes;
  }

  finish(): Uint8Array {
    return new Uint8Array(this.buffer.buffer, this.buffer.byteOffset, this.length);
  }
}

/** Encodes a JSON-like value (with Uint8Array fields). Throws TypeError for what JSON cannot carry either (bigint, cycles). */
export function encodeValue(value: unknown): Uint8Array {
  const out = new Output();
  out.u8(VALUE_CODEC_V1);
  writeValue(out, value, 0);
  return out.finish();
}

function writeValue(out: Output, value: unknown, depth: number): void {
  if (depth > VALUE_DEPTH_MAX) throw new TypeError(`value nested deeper than ${VALUE_DEPTH_MAX} levels (or cyclic)`);
  if (value === null || value === undefined || typeof value === 'function' || typeof value === 'symbol') return out.u8(T_NULL);
  if (typeof value === 'boolean') return out.u8(value ? T_TRUE : T_FALSE);
  if (typeof value === 'number') return writeNumber(out, value);
  if (typeof value === 'string') return writeString(out, value);
  if (typeof value === 'bigint') throw new TypeError('a bigint cannot be encoded; convert it to a string or number first');
  if (value instanceof Uint8Array) {
    out.u8(T_BYTES);
    return out.bytes(value);
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return writeValue(out, withToJson.toJSON(), depth + 1);
  if (Array.isArray(value)) {
    out.u8(T_ARRAY);
    out.u32(value.length);
    for (const item of value as unknown[]) writeValue(out, item, depth + 1);
    return;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol');
  out.u8(T_OBJECT);
  out.u32(entries.length);
  for (const [key, item] of entries) {
    out.utf8(key);
    writeValue(out, item, depth + 1);
  }
}

function writeNumber(out: Output, value: number): void {
  if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff && !Object.is(value, -0)) {
    out.u8(T_U32);
    out.u32(value);
  } else {
    out.u8(T_F64);
    out.f64(value);
  }
}

function writeString(out: Output, value: string): void {
  if (value.length >= HEX_MIN_CHARS && HEX_PATTERN.test(value)) {
    out.u8(T_HEX);
    out.hex(value);
  } else {
    out.u8(T_STRING);
    out.utf8(value);
  }
}

/** True when `bytes` start with this codec's version byte (and not with JSON text). */
export function isEncodedValue(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === VALUE_CODEC_V1;
}

/** Untrusted bytes in; throws SyntaxError (as JSON.parse did) on anything malformed, never recurses without bound. */
export function decodeValue(bytes: Uint8Array): unknown {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!isEncodedValue(input)) throw invalid('does not start with the value codec version byte');
  const cursor = { offset: 1 };
  const value = readValue(input, cursor, 0);
  if (cursor.offset !== input.length) throw invalid(`${input.length - cursor.offset} trailing bytes`);
  return value;
}

function readValue(input: Buffer, cursor: { offset: number }, depth: number): unknown {
  if (depth > VALUE_DEPTH_MAX) throw invalid(`nested deeper than ${VALUE_DEPTH_MAX} levels`);
  const tag = readU8(input, cursor);
  switch (tag) {
    case T_NULL: return null;
    case T_FALSE: return false;
    case T_TRUE: return true;
    case T_U32: return readU32(input, cursor);
    case T_F64: {
      need(input, cursor, 8);
      const value = input.readDoubleBE(cursor.offset);
      cursor.offset += 8;
      return value;
    }
    case T_STRING: return readSized(input, cursor).toString('utf8');
    case T_HEX: return readSized(input, cursor).toString('hex');
    case T_BYTES: {
      const view = readSized(input, cursor);
      return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    }
    case T_ARRAY: {
      const count = readCount(input, cursor);
      const items: unknown[] = new Array<unknown>(count);
      for (let i = 0; i < count; i++) items[i] = readValue(input, cursor, depth + 1);
      return items;
    }
    case T_OBJECT: {
      const count = readCount(input, cursor);
      const object: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) {
        const key = readSized(input, cursor).toString('utf8');
        // Defined, not assigned: a key "__proto__" stays an own data property, as JSON.parse leaves it.
        Object.defineProperty(object, key, { value: readValue(input, cursor, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return object;
    }
    default:
      throw invalid(`unknown tag ${tag} at byte ${cursor.offset - 1}`);
  }
}

function readU8(input: Buffer, cursor: { offset: number }): number {
  need(input, cursor, 1);
  return input[cursor.offset++]!;
}

function readU32(input: Buffer, cursor: { offset: number }): number {
  need(input, cursor, 4);
  const value = input.readUInt32BE(cursor.offset);
  cursor.offset += 4;
  return value;
}

/** A count of items, each at least one byte: more than the bytes left is malformed (and would allocate for nothing). */
function readCount(input: Buffer, cursor: { offset: number }): number {
  const count = readU32(input, cursor);
  if (count > input.length - cursor.offset) throw invalid(`count ${count} exceeds the ${input.length - cursor.offset} bytes left`);
  return count;
}

function readSized(input: Buffer, cursor: { offset: number }): Buffer {
  const length = readU32(input, cursor);
  need(input, cursor, length);
  const view = input.subarray(cursor.offset, cursor.offset + length);
  cursor.offset += length;
  return view;
}

function need(input: Buffer, cursor: { offset: number }, bytes: number): void {
  if (cursor.offset + bytes > input.length) throw invalid(`truncated: ${bytes} bytes needed at byte ${cursor.offset} of ${input.length}`);
}

function invalid(message: string): SyntaxError {
  return new SyntaxError(`undecodable value: ${message}`);
}
