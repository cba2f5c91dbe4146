// Goal: the Merkle code conforms to RFC 6962 / RFC 9162. Method: the published transparency-dev vectors in
// ../shared/testdata/rfc6962 — tree roots for 0..8 leaves, and every inclusion and consistency case,
// happy paths accepted and every `wantErr` corruption rejected — with both hash back ends; then our own
// proof generators are cross-checked against our verifiers for every (index, size) up to 70 leaves.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { browserHasher } from '../../ledger/crypto/sha256-browser.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { fromHex, toHex } from '../../ledger/encoding/hex.ts';
import { consistencyProof, inclusionProof, merkleRoot, verifyConsistency, verifyInclusion } from '../../ledger/merkle.ts';

const root = fileURLToPath(new URL('../../../shared/testdata/rfc6962/', import.meta.url));

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? jsonFiles(path) : name.endsWith('.json') ? [path] : [];
  });
}

const b64 = (s: string | null): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64'));
const b64List = (l: string[] | null): Uint8Array[] => (l ?? []).map(b64);

interface InclusionCase { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; desc: string; wantErr: boolean }
interface ConsistencyCase { size1: number; size2: number; root1: string; root2: string; proof: string[] | null; desc: string; wantErr: boolean }

describe.each([nodeHasher, browserHasher])('RFC 6962 vectors with $name', (hasher) => {
  it('reproduces the tree roots of 0..8 leaves', () => {
    const trees = JSON.parse(readFileSync(join(root, 'trees.json'), 'utf8')) as { leafInputsHex: string[]; rootsHex: string[]; emptyRootHex: string };
    expect(toHex(merkleRoot(hasher, []))).toBe(trees.emptyRootHex);
    const leaves = trees.leafInputsHex.map((h) => hasher.merkleLeaf(fromHex(h)));
    trees.rootsHex.forEach((expected, i) => expect(toHex(merkleRoot(hasher, leaves.slice(0, i + 1)))).toBe(expected));
  });

  it('accepts every inclusion happy path and rejects every wantErr case', () => {
    const files = jsonFiles(join(root, 'inclusion'));
    expect(files.length).toBeGreaterThan(80);
    let rejected = 0;
    for (const file of files) {
      const c = JSON.parse(readFileSync(file, 'utf8')) as InclusionCase;
      const result = verifyInclusion(hasher, c.leafIdx, c.treeSize, b64(c.leafHash), b64List(c.proof), b64(c.root));
      expect({ file, ok: result.ok }).toEqual({ file, ok: !c.wantErr });
      if (c.wantErr) rejected++;
    }
    expect(rejected).toBeGreaterThan(60);
  });

  it('accepts every consistency happy path and rejects every wantErr case', () => {
    const files = jsonFiles(join(root, 'consistency'));
    expect(files.length).toBeGreaterThan(60);
    for (const file of files) {
      const c = JSON.parse(readFileSync(file, 'utf8')) as ConsistencyCase;
      const result = verifyConsistency(hasher, c.size1, c.size2, b64(c.root1), b64(c.root2), b64List(c.proof));
      expect({ file, ok: result.ok }).toEqual({ file, ok: !c.wantErr });
    }
  });
});

describe('generated proofs', () => {
  it('every inclusion and consistency proof up to 70 leaves verifies, and fails for the wrong position', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => nodeHasher.merkleLeaf(Uint8Array.of(i, i >> 8)));
    const roots = [merkleRoot(nodeHasher, [])];
    for (let n = 1; n <= leaves.length; n++) roots.push(merkleRoot(nodeHasher, leaves.slice(0, n)));
    for (let n = 1; n <= leaves.length; n++) {
      const tree = leaves.slice(0, n);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(nodeHasher, tree, i);
        expect(verifyInclusion(nodeHasher, i, n, tree[i]!, proof, roots[n]!).ok).toBe(true);
        if (n > 1) expect(verifyInclusion(nodeHasher, (i + 1) % n, n, tree[i]!, proof, roots[n]!).ok).toBe(false);
      }
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(nodeHasher, tree, m);
        expect(verifyConsistency(nodeHasher, m, n, roots[m]!, roots[n]!, proof).ok).toBe(true);
        if (m > 0 && m < n) expect(verifyConsistency(nodeHasher, m, n, roots[m - 1]!, roots[n]!, proof).ok).toBe(false);
      }
    }
  });
});
