// CRC-32 (IEEE, as zlib) for record framing: it catches torn writes and media bit rot, not tampering (the
// hashes and signatures do that). node:zlib has a native crc32 from Node 20.15/22.2; older 20.x builds
// fall back to a table-driven JavaScript version with the same results.
import * as zlib from 'node:zlib';

type Crc32 = (data: Uint8Array, value?: number) => number;
const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

let table: Uint32Array | null = null;

function crc32Js(data: Uint8Array, value = 0): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export const crc32: Crc32 = native ?? crc32Js;
export const crc32Portable: Crc32 = crc32Js;
