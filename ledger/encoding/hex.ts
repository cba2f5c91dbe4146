// Hex and byte helpers shared by the ledger (lowercase hex in JSON, raw bytes in binary). Pure.

const HEX_DIGITS = '0123456789abcdef';
const HEX_PAIRS: string[] = [];
for (let i = 0; i < 256; i++) HEX_PAIRS.push(HEX_DIGITS[i >> 4]! + HEX_DIGITS[i & 15]!);

export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_PAIRS[bytes[i]!]!;
  return out;
}

/** Parses lowercase or uppercase hex; returns null on odd length or a non-hex digit (callers name the field). */
export function tryFromHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = hexValue(hex.charCodeAt(2 * i));
    const low = hexValue(hex.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) return null;
    out[i] = (high << 4) | low;
  }
  return out;
}

export function fromHex(hex: string): Uint8Array {
  const bytes = tryFromHex(hex);
  if (bytes === null) throw new RangeError(`not a hex string: ${hex.slice(0, 16)}${hex.length > 16 ? '…' : ''}`);
  return bytes;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Plain code-unit order of byte strings (never locale order): shorter prefix first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const diff = a[i]! - b[i]!;
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** False when the string holds a lone UTF-16 surrogate (no canonical UTF-8 form). */
export function isWellFormedText(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}
