// The made-up chain the transaction index crash test and its child share: ids and hashes derived from the
// height alone.
import { createHash } from 'node:crypto';

export const CRASH_RUN_ENTRIES = 50;

export function crashBlockIds(height: number): string[] {
  return Array.from({ length: 1 + (height % 23) }, (_, position) => createHash('sha256').update(`tx:${height}:${position}`).digest('hex'));
}

export function crashBlockHash(height: number): Uint8Array {
  return createHash('sha256').update(`block:${height}`).digest();
}
