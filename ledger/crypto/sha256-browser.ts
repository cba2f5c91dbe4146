// SHA-256 on @noble/hashes (pure JavaScript) for code that must also run in a browser bundle, such as the
// explorer's offline proof check. Same results as ./sha256-node.ts (cross-checked in test/ledger). Pure.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import type { Hasher } from './hasher.ts';

function sha256Parts(parts: readonly Uint8Array[]): Uint8Array {
  const hash = nobleSha256.create();
  for (const part of parts) hash.update(part);
  return hash.digest();
}

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

export const browserHasher: Hasher = {
  name: '@noble/hashes',
  sha256: (data) => nobleSha256(data),
  sha256Parts,
  merkleLeaf: (leaf) => sha256Parts([LEAF_PREFIX, leaf]),
  merkleNode: (left, right) => sha256Parts([NODE_PREFIX, left, right]),
};
