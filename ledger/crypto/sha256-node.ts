// Server-side SHA-256 on node:crypto (OpenSSL). Small inputs are copied into one reused scratch buffer
// and hashed with the one-shot `crypto.hash` when available (Node >= 20.12): it skips the Hash object,
// which costs more than the hashing itself for 33- and 65-byte Merkle inputs.
import * as nodeCrypto from 'node:crypto';
import type { Hasher } from './hasher.ts';

type OneShotHash = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer;
const oneShot = (nodeCrypto as unknown as { hash?: OneShotHash }).hash;

const SCRATCH_BYTES_MAX = 4096;
const scratch = Buffer.allocUnsafe(SCRATCH_BYTES_MAX);

function sha256(data: Uint8Array): Uint8Array {
  // Buffers are Uint8Arrays; returning them as they are saves an allocation per hash in hot loops.
  if (oneShot !== undefined) return oneShot('sha256', data, 'buffer');
  return nodeCrypto.createHash('sha256').update(data).digest();
}

function sha256Parts(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  if (oneShot !== undefined && length <= SCRATCH_BYTES_MAX) {
    let offset = 0;
    for (const part of parts) {
      scratch.set(part, offset);
      offset += part.length;
    }
    return oneShot('sha256', scratch.subarray(0, length), 'buffer');
  }
  const hash = nodeCrypto.createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);

// Merkle hashing is the hottest path of verification: one leaf and about one node per transaction. These
// build the prefixed input in the scratch buffer directly instead of going through an array of parts.
function merkleLeaf(leaf: Uint8Array): Uint8Array {
  if (oneShot === undefined || leaf.length + 1 > SCRATCH_BYTES_MAX) return sha256Parts([LEAF_PREFIX, leaf]);
  scratch[0] = 0;
  scratch.set(leaf, 1);
  return oneShot('sha256', scratch.subarray(0, leaf.length + 1), 'buffer');
}

function merkleNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (oneShot === undefined || left.length + right.length + 1 > SCRATCH_BYTES_MAX) return sha256Parts([NODE_PREFIX, left, right]);
  scratch[0] = 1;
  scratch.set(left, 1);
  scratch.set(right, 1 + left.length);
  return oneShot('sha256', scratch.subarray(0, 1 + left.length + right.length), 'buffer');
}

export const nodeHasher: Hasher = { name: 'node:crypto', sha256, sha256Parts, merkleLeaf, merkleNode };
