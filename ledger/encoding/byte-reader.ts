// Canonical binary reader, the mirror of ./byte-writer.ts. Every read is bounds-checked and strings must be
// valid UTF-8; a malformed buffer raises LEDGER_CORRUPT naming what was being read, never a RangeError
// from a DataView. `expectEnd` makes trailing garbage an error, so one value has exactly one encoding. Pure.
import { EntenteError } from '../../common/errors.ts';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ASCII_FAST_PATH_BYTES_MAX = 64;

export class ByteReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private position = 0;
  private readonly what: string;

  constructor(bytes: Uint8Array, what: string) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.what = what;
  }

  get offset(): number {
    return this.position;
  }

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.position++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const value = this.view.getUint16(this.position);
    this.position += 2;
    return value;
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.view.getUint32(this.position);
    this.position += 4;
    return value;
  }

  u64(field: string): number {
    this.need(8, field);
    const high = this.view.getUint32(this.position);
    const low = this.view.getUint32(this.position + 4);
    if (high > 0x1fffff) this.fail(`${field} exceeds 2^53 - 1`);
    this.position += 8;
    return high * 0x100000000 + low;
  }

  /** A view (not a copy) of the next `length` bytes. */
  fixed(length: number, field: string): Uint8Array {
    this.need(length, field);
    const out = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return out;
  }

  bytesField(field: string, maxLength: number): Uint8Array {
    const length = this.u32(`${field} length`);
    if (length > maxLength) this.fail(`${field} is ${length} bytes; the limit is ${maxLength}`);
    return this.fixed(length, field);
  }

  string(field: string): string {
    const length = this.u16(`${field} length`);
    if (length <= ASCII_FAST_PATH_BYTES_MAX) {
      // Names, keys and audiences are short and nearly always ASCII, where UTF-8 and char codes agree:
      // building the string from the bytes skips a view and a TextDecoder call per string (blocks hold
      // tens of thousands). Any byte above 0x7f falls through to the strict decoder.
      this.need(length, field);
      const end = this.position + length;
      let text = '';
      let at = this.position;
      while (at < end && this.bytes[at]! < 0x80) text += String.fromCharCode(this.bytes[at++]!);
      if (at === end) {
        this.position = end;
        return text;
      }
    }
    const bytes = this.fixed(length, field);
    try {
      return decoder.decode(bytes);
    } catch {
      return this.fail(`${field} is not valid UTF-8`);
    }
  }

  expectEnd(): void {
    if (this.position !== this.bytes.length) this.fail(`${this.bytes.length - this.position} unexpected trailing bytes`);
  }

  fail(message: string): never {
    throw new EntenteError('LEDGER_CORRUPT', `malformed ${this.what} at byte ${this.position}: ${message}`, { details: { structure: this.what, offset: this.position } });
  }

  private need(length: number, field: string): void {
    if (this.position + length > this.bytes.length) this.fail(`truncated while reading ${field} (${length} bytes needed, ${this.bytes.length - this.position} left)`);
  }
}
