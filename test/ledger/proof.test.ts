// Goal: `entente proof` produces a self-contained proof that checks offline — with node:crypto and with
// the browser back ends (@noble) — and every altered field is rejected; block-log consistency proofs
// between two heights verify. Method: a signed 4-node test ledger on disk, the CLI in-process, then
// field-by-field corruption of the JSON proof.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../gateway/cli/main.ts';
import { ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { browserEd25519Verifier } from '../../ledger/crypto/ed25519-browser.ts';
import { browserHasher } from '../../ledger/crypto/sha256-browser.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { fromHex, toHex } from '../../ledger/encoding/hex.ts';
import { blockLogConsistency } from '../../ledger/ledger-queries.ts';
import { verifyConsistency } from '../../ledger/merkle.ts';
import { checkTransactionProof, type TransactionProofJson } from '../../ledger/proof.ts';
import { SegmentBlockStore } from '../../ledger/store/segment-store.ts';
import { writeTestLedger, type TestLedger } from '../../ledger/testing/test-network.ts';
import { transactionId } from '../../ledger/transaction.ts';

let dir: string;
let ledger: TestLedger;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-proof-'));
  ledger = await writeTestLedger(dir, { nodes: 4, blocks: 6, txPerBlock: 7 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cli(): { io: { stdout: (t: string) => void; stderr: (t: string) => void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t) }, out, err };
}

describe('transaction proofs', () => {
  it('prints a proof with the CLI and checks it offline with both back ends', async () => {
    const txId = toHex(transactionId(nodeHasher, ledger.blocks[4]!.transactionBytes[5]!));
    const make = cli();
    expect(await main(['proof', txId, '--data', dir], make.io)).toBe(0);
    const proof = JSON.parse(make.out.join('')) as TransactionProofJson;
    expect(proof.block.height).toBe(5);
    expect(proof.transaction.id).toBe(txId);
    const file = join(dir, 'proof.json');
    await writeFile(file, JSON.stringify(proof));
    const check = cli();
    expect(await main(['proof', '--check', file], check.io)).toBe(0);
    expect(check.out.join('')).toMatch(new RegExp(`proof OK: transaction ${txId}[\\s\\S]*height 5[\\s\\S]*partner-0, partner-1, partner-2`));
    const browser = checkTransactionProof(browserHasher, browserEd25519Verifier, proof);
    expect(browser).toEqual(checkTransactionProof(nodeHasher, ed25519Verifier, proof));
    expect(browser.owner).toBe(ledger.blocks[4]!.transactions[5]!.owner);
  });

  it('rejects every altered field', async () => {
    const txId = toHex(transactionId(nodeHasher, ledger.blocks[2]!.transactionBytes[3]!));
    const make = cli();
    await main(['proof', txId, '--data', dir], make.io);
    const proof = JSON.parse(make.out.join('')) as TransactionProofJson;
    const flip = (hex: string, at = 10): string => {
      const bytes = fromHex(hex);
      bytes[at % bytes.length]! ^= 1;
      return toHex(bytes);
    };
    const variants: TransactionProofJson[] = [
      { ...proof, transaction: { ...proof.transaction, bytes: flip(proof.transaction.bytes, 40) } },
      { ...proof, transaction: { ...proof.transaction, id: flip(proof.transaction.id) } },
      { ...proof, batch: { ...proof.batch, signature: flip(proof.batch.signature) } },
      { ...proof, batch: { ...proof.batch, signer: (proof.batch.signer + 1) % 4 } },
      { ...proof, batch: { ...proof.batch, index: proof.batch.index + 1 } },
      { ...proof, batch: { ...proof.batch, path: proof.batch.path.map((h) => flip(h)) } },
      { ...proof, block: { ...proof.block, header: flip(proof.block.header, 30) } },
      { ...proof, block: { ...proof.block, index: (proof.block.index + 1) % 7 } },
      { ...proof, block: { ...proof.block, path: [...proof.block.path.slice(1)] } },
      { ...proof, block: { ...proof.block, height: proof.block.height + 1 } },
      { ...proof, certificate: { ...proof.certificate, signatures: proof.certificate.signatures.slice(0, 2) } },
      { ...proof, certificate: { ...proof.certificate, signatures: [proof.certificate.signatures[0]!, proof.certificate.signatures[0]!, proof.certificate.signatures[1]!] } },
      { ...proof, certificate: { ...proof.certificate, signatures: proof.certificate.signatures.map((s, i) => (i === 1 ? { ...s, signature: flip(s.signature, 50) } : s)) } },
      { ...proof, certificate: { ...proof.certificate, round: proof.certificate.round + 1 } },
      { ...proof, genesisHash: flip(proof.genesisHash) },
      { ...proof, membership: flip(proof.membership, 40) },
      { ...proof, format: 'entente-proof/0' },
    ];
    for (const variant of variants) {
      expect(() => checkTransactionProof(nodeHasher, ed25519Verifier, variant)).toThrow(/proof/);
      expect(() => checkTransactionProof(browserHasher, browserEd25519Verifier, variant)).toThrow(/proof/);
    }
    const file = join(dir, 'bad-proof.json');
    await writeFile(file, JSON.stringify(variants[2]));
    const check = cli();
    expect(await main(['proof', '--check', file], check.io)).toBe(1);
    expect(check.err.join('')).toMatch(/batch signature of partner-\d does not verify/);
  });

  it('reports an unknown transaction id as not found', async () => {
    const run = cli();
    expect(await main(['proof', '00'.repeat(32), '--data', dir], run.io)).toBe(1);
    expect(run.err.join('')).toMatch(/is not in the ledger/);
  });
});

describe('block-log consistency', () => {
  it('proves every earlier height is a prefix of the head', async () => {
    const store = await SegmentBlockStore.open(dir, { readOnly: true });
    try {
      for (let m = 1; m <= 6; m++) {
        const c = await blockLogConsistency(store, m, 6);
        expect(verifyConsistency(nodeHasher, m, 6, fromHex(c.oldRoot), fromHex(c.newRoot), c.proof.map(fromHex)).ok).toBe(true);
        if (m < 6) expect(verifyConsistency(nodeHasher, m, 6, fromHex(c.newRoot), fromHex(c.newRoot), c.proof.map(fromHex)).ok).toBe(false);
      }
    } finally {
      await store.close();
    }
  });
});
