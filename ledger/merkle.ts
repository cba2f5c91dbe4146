// RFC 6962 / RFC 9162 Merkle trees (§2.1): leaf hash SHA-256(0x00 || leaf), node hash SHA-256(0x01 || l || r),
// empty tree SHA-256(""). The tree over n leaves splits at the largest power of two below n; built bottom
// up, that is "pair neighbours, carry an odd last node up unchanged". Inclusion and consistency proofs are
// generated from the full list of leaf hashes and verified with the RFC 9162 §2.1.3.2 / §2.1.4.2
// algorithms. Sizes are JavaScript numbers (exact up to 2^53), so the arithmetic avoids 32-bit bit ops.
// Pure: the caller passes the Hasher (node:crypto on servers, @noble/hashes in a browser).
import type { Hasher } from './crypto/hasher.ts';
import { bytesEqual } from './encoding/hex.ts';

export const MERKLE_PROOF_HASHES_MAX = 64;

const EMPTY = new Uint8Array(0);

/** Root of the tree whose leaf hashes are given (in order). Does not modify its input. */
export function merkleRoot(hasher: Hasher, leafHashes: readonly Uint8Array[]): Uint8Array {
  return merkleRootOfRange(hasher, leafHashes, 0, leafHashes.length);
}

/**
 * Root of the tree over leafHashes[start, end) (a batch inside a block) without slicing the input. The
 * levels are reduced in one working array: level k+1 overwrites the front of level k as it is built.
 */
export function merkleRootOfRange(hasher: Hasher, leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= leafHashes.length)) throw new RangeError(`leaves [${start}, ${end}) are outside a list of ${leafHashes.length}`);
  if (end === start) return hasher.sha256(EMPTY);
  if (end - start === 1) return leafHashes[start]!;
  let width = end - start;
  const level = new Array<Uint8Array>(Math.ceil(width / 2));
  for (let i = 0; i + 1 < width; i += 2) level[i / 2] = hasher.merkleNode(leafHashes[start + i]!, leafHashes[start + i + 1]!);
  if (width % 2 === 1) level[(width - 1) / 2] = leafHashes[end - 1]!;
  width = level.length;
  while (width > 1) {
    let j = 0;
    for (let i = 0; i + 1 < width; i += 2) level[j++] = hasher.merkleNode(level[i]!, level[i + 1]!);
    if (width % 2 === 1) level[j++] = level[width - 1]!;
    width = j;
  }
  return level[0]!;
}

/** Root of the subtree over leafHashes[start, end), RFC 6962 MTH. */
function subtreeRoot(hasher: Hasher, leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  return merkleRootOfRange(hasher, leafHashes, start, end);
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 6962 §2.1.1 PATH(m, D[n]): the audit path of leaf `index`. */
export function inclusionProof(hasher: Hasher, leafHashes: readonly Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isInteger(index) || index < 0 || index >= leafHashes.length) throw new RangeError(`leaf ${index} is outside a tree of ${leafHashes.length}`);
  const path: Uint8Array[] = [];
  let start = 0;
  let end = leafHashes.length;
  let m = index;
  // Walk down from the root, recording the sibling subtree at each split; the path is leaf-to-root order.
  while (end - start > 1) {
    const k = largestPowerOfTwoBelow(end - start);
    if (m < k) {
      path.push(subtreeRoot(hasher, leafHashes, start + k, end));
      end = start + k;
    } else {
      path.push(subtreeRoot(hasher, leafHashes, start, start + k));
      start += k;
      m -= k;
    }
  }
  return path.reverse();
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]): proves the tree of the first `oldSize` leaves is a prefix of the whole. */
export function consistencyProof(hasher: Hasher, leafHashes: readonly Uint8Array[], oldSize: number): Uint8Array[] {
  const n = leafHashes.length;
  if (!Number.isInteger(oldSize) || oldSize < 0 || oldSize > n) throw new RangeError(`size ${oldSize} is outside a tree of ${n}`);
  if (oldSize === 0 || oldSize === n) return [];
  const proof: Uint8Array[] = [];
  let start = 0;
  let end = n;
  let m = oldSize;
  let complete = true; // SUBPROOF's b: true while the old tree is exactly the current subtree's left part
  while (true) {
    const size = end - start;
    if (m === size) {
      if (!complete) proof.push(subtreeRoot(hasher, leafHashes, start, end));
      break;
    }
    const k = largestPowerOfTwoBelow(size);
    if (m <= k) {
      proof.push(subtreeRoot(hasher, leafHashes, start + k, end));
      end = start + k;
    } else {
      proof.push(subtreeRoot(hasher, leafHashes, start, start + k));
      start += k;
      m -= k;
      complete = false;
    }
  }
  return proof.reverse();
}

export type ProofCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const OK: ProofCheck = { ok: true };
const fail = (reason: string): ProofCheck => ({ ok: false, reason });

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

/** RFC 9162 §2.1.3.2: does `proof` show `leafHash` at `leafIndex` in the tree of `treeSize` with `root`? */
export function verifyInclusion(hasher: Hasher, leafIndex: number, treeSize: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): ProofCheck {
  if (!isHash(root)) return fail('every hash must be 32 bytes');
  const computed = rootFromInclusionProof(hasher, leafIndex, treeSize, leafHash, proof);
  if (!computed.ok) return computed;
  return bytesEqual(computed.root, root) ? OK : fail('recomputed root differs from the expected root');
}

/** The root an inclusion proof implies (RFC 9162 §2.1.3.2 without the final comparison), e.g. to check a signature over it. */
export function rootFromInclusionProof(hasher: Hasher, leafIndex: number, treeSize: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): { readonly ok: true; readonly root: Uint8Array } | { readonly ok: false; readonly reason: string } {
  if (!isSize(leafIndex) || !isSize(treeSize)) return { ok: false, reason: 'index and size must be non-negative integers' };
  if (leafIndex >= treeSize) return { ok: false, reason: `leaf index ${leafIndex} is not below tree size ${treeSize}` };
  if (proof.length > MERKLE_PROOF_HASHES_MAX) return { ok: false, reason: `proof has ${proof.length} hashes; at most ${MERKLE_PROOF_HASHES_MAX}` };
  if (!proof.every(isHash) || !isHash(leafHash)) return { ok: false, reason: 'every hash must be 32 bytes' };
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return { ok: false, reason: 'proof is longer than the tree is deep' };
    if (isOdd(fn) || fn === sn) {
      r = hasher.merkleNode(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = hasher.merkleNode(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return { ok: false, reason: 'proof is shorter than the tree is deep' };
  return { ok: true, root: r };
}

/** RFC 9162 §2.1.4.2: is the tree (oldSize, oldRoot) a prefix of (newSize, newRoot)? */
export function verifyConsistency(hasher: Hasher, oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: readonly Uint8Array[]): ProofCheck {
  if (!isSize(oldSize) || !isSize(newSize)) return fail('sizes must be non-negative integers');
  if (oldSize > newSize) return fail(`old size ${oldSize} exceeds new size ${newSize}`);
  if (proof.length > MERKLE_PROOF_HASHES_MAX) return fail(`proof has ${proof.length} hashes; at most ${MERKLE_PROOF_HASHES_MAX}`);
  if (!proof.every(isHash)) return fail('every hash must be 32 bytes');
  // As in transparency-dev/merkle: everything extends the empty tree, so such a "proof" proves nothing
  // and a caller asking for one has a bug; reject it rather than return a vacuous yes.
  if (oldSize === 0) return fail('a consistency proof from the empty tree proves nothing; start from size 1');
  if (oldSize === newSize) {
    if (proof.length !== 0) return fail('equal sizes need an empty proof');
    return bytesEqual(oldRoot, newRoot) ? OK : fail('equal sizes but different roots');
  }
  if (!isHash(oldRoot) || !isHash(newRoot)) return fail('roots must be 32 bytes');
  if (proof.length === 0) return fail('empty proof');
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return fail('proof is longer than needed');
    if (isOdd(fn) || fn === sn) {
      fr = hasher.merkleNode(c, fr);
      sr = hasher.merkleNode(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = hasher.merkleNode(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('proof is shorter than needed');
  if (!bytesEqual(fr, oldRoot)) return fail('proof does not reproduce the old root');
  return bytesEqual(sr, newRoot) ? OK : fail('proof does not reproduce the new root');
}

function isSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function isHash(h: Uint8Array): boolean {
  return h.length === 32;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
