// The segment file format and a sequential reader for it. A segment is a sequence of framed records, one
// per block, heights consecutive from 1:
//   u32 magic "ENTB" | u32 body length | u64 height | u32 CRC-32 over (body length, height, body) | body
// The body is the block record of ../block.ts. The CRC catches torn appends and bit rot; tampering is the
// business of the hashes and signatures (../validity.ts). Layout in ../FORMAT.md.
import type { FileHandle } from 'node:fs/promises';
import { crc32 } from './crc32.ts';

export const SEGMENT_FILE = 'blocks.seg';
export const RECORD_MAGIC = 0x454e5442;
export const FRAME_HEADER_BYTES = 20;
export const RECORD_BODY_BYTES_MAX = 256 * 1024 * 1024;
const READ_CHUNK_BYTES = 8 * 1024 * 1024;

/**
 * The 20-byte frame header for `body` at `height`. The store writes it and the body side by side
 * (one writev), so a block record of many megabytes is never copied just to put 20 bytes in front of it.
 */
export function frameHeader(height: number, body: Uint8Array): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, RECORD_MAGIC);
  view.setUint32(4, body.length);
  view.setUint32(8, Math.floor(height / 0x100000000));
  view.setUint32(12, height >>> 0);
  view.setUint32(16, frameChecksum(header.subarray(4, 16), body));
  return header;
}

/** Header and body as one buffer (tests and tools; the store writes the two parts without joining them). */
export function frameRecord(height: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  frame.set(frameHeader(height, body), 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/** CRC-32 over the frame's length and height fields (bytes 4..16) followed by the body. */
export function frameChecksum(lengthAndHeight: Uint8Array, body: Uint8Array): number {
  return crc32(body, crc32(lengthAndHeight));
}

export type FrameScan =
  | { readonly kind: 'record'; readonly offset: number; readonly height: number; readonly body: Uint8Array; readonly frameBytes: number }
  | { readonly kind: 'invalid'; readonly offset: number; readonly height: number; readonly reason: string };

export interface ScanOptions {
  /**
   * Read every chunk into one reused buffer, so a yielded body is valid only until the scan resumes.
   * For callers that check each record and drop it (verify): fresh multi-megabyte buffers cost a page
   * fault per 4 KiB and a zero fill, about a tenth of what checking the record costs.
   */
  readonly reuseBuffer?: boolean;
}

/**
 * Reads records from `start` (expected to hold `firstHeight`) to `end`, yielding each valid record and
 * stopping after the first invalid one. Bodies are views into fresh read buffers, safe to keep — unless
 * `reuseBuffer` is set.
 */
export async function* scanFrames(file: FileHandle, start: number, end: number, firstHeight: number, options: ScanOptions = {}): AsyncGenerator<FrameScan> {
  let buffer = new Uint8Array(0);
  let spare = new Uint8Array(0);
  let bufferStart = start;
  let position = start;
  let height = firstHeight;
  const window = async (length: number): Promise<Uint8Array> => {
    if (position >= bufferStart && position + length <= bufferStart + buffer.length) return buffer.subarray(position - bufferStart, position - bufferStart + length);
    const size = Math.min(Math.max(length, READ_CHUNK_BYTES), end - position);
    if (options.reuseBuffer !== true) {
      buffer = new Uint8Array(size);
    } else {
      if (spare.length < size) spare = new Uint8Array(size);
      buffer = spare.subarray(0, size);
    }
    bufferStart = position;
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await file.read(buffer, filled, size - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    buffer = buffer.subarray(0, filled);
    return buffer.subarray(0, Math.min(length, filled));
  };
  while (position < end) {
    const invalid = (reason: string): FrameScan => ({ kind: 'invalid', offset: position, height, reason });
    if (end - position < FRAME_HEADER_BYTES) {
      yield invalid(`${end - position} bytes at the end are too short for a record header`);
      return;
    }
    const head = await window(FRAME_HEADER_BYTES);
    const view = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES);
    if (view.getUint32(0) !== RECORD_MAGIC) {
      yield invalid('no record magic');
      return;
    }
    const bodyLength = view.getUint32(4);
    const recordHeight = view.getUint32(8) * 0x100000000 + view.getUint32(12);
    const checksum = view.getUint32(16);
    if (bodyLength > RECORD_BODY_BYTES_MAX || position + FRAME_HEADER_BYTES + bodyLength > end) {
      yield invalid(`record length ${bodyLength} runs past the end of the file`);
      return;
    }
    const frame = await window(FRAME_HEADER_BYTES + bodyLength);
    const body = frame.subarray(FRAME_HEADER_BYTES);
    if (frameChecksum(frame.subarray(4, 16), body) !== checksum) {
      yield invalid('record checksum mismatch');
      return;
    }
    if (recordHeight !== height) {
      yield invalid(`record holds height ${recordHeight} where ${height} belongs`);
      return;
    }
    yield { kind: 'record', offset: position, height, body, frameBytes: FRAME_HEADER_BYTES + bodyLength };
    position += FRAME_HEADER_BYTES + bodyLength;
    height += 1;
  }
}

/** True when some valid frame (any height above `minHeight`) starts after `from`: damage, not a torn tail. */
export async function validFrameFollows(file: FileHandle, from: number, end: number, minHeight: number): Promise<number | null> {
  const length = end - from;
  if (length <= 0) return null;
  const bytes = new Uint8Array(length);
  await file.read(bytes, 0, length, from);
  const view = new DataView(bytes.buffer);
  for (let i = 1; i + FRAME_HEADER_BYTES <= length; i++) {
    if (view.getUint32(i) !== RECORD_MAGIC) continue;
    const bodyLength = view.getUint32(i + 4);
    const height = view.getUint32(i + 8) * 0x100000000 + view.getUint32(i + 12);
    if (height < minHeight || i + FRAME_HEADER_BYTES + bodyLength > length) continue;
    if (frameChecksum(bytes.subarray(i + 4, i + 16), bytes.subarray(i + FRAME_HEADER_BYTES, i + FRAME_HEADER_BYTES + bodyLength)) === view.getUint32(i + 16)) return height;
  }
  return null;
}
