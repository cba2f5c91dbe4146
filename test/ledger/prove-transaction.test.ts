// Goal: `entente proof --data` (proveTransaction) costs what the proof needs, not the chain's length, and
// stays right across a membership change. Before, it read every stored block into an in-memory index of
// every transaction, then every block below the transaction again for membership changes. Method: a
// signed 4-node ledger on disk whose block 3 removes a member, so block 4 is certified by the other
// three. Proven with nothing but the blocks (every block is read), then with the node's index runs and a
// chain checkpoint at height 3 (one block read), then with a checkpoint of another chain (ignored: the
// blocks are read again). Every proof must check offline.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { blockHash, type Block } from '../../ledger/block.ts';
import { ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { fromHex, toHex } from '../../ledger/encoding/hex.ts';
import { GENESIS_FILE, writeGenesisFile } from '../../ledger/genesis.ts';
import { proveTransaction } from '../../ledger/ledger-queries.ts';
import { createMembership, decodeMembership, encodeMembership, type Membership } from '../../ledger/membership.ts';
import { checkTransactionProof } from '../../ledger/proof.ts';
import { writeCheckpointFile } from '../../ledger/store/chain-checkpoint.ts';
import { PersistentTransactionIndex, TRANSACTION_INDEX_DIRECTORY } from '../../ledger/store/committed-transaction-index.ts';
import { SegmentBlockStore } from '../../ledger/store/segment-store.ts';
import { createTestNetwork, TestChainBuilder } from '../../ledger/testing/test-network.ts';
import { createPayload, PUBLIC_AUDIENCE, transactionId } from '../../ledger/transaction.ts';

let dir: string;
let blocks: Block[];
let genesisMembership: Membership;
let threeMembers: Membership;
const idsOf = (block: Block): string[] => block.transactionBytes.map((bytes) => toHex(transactionId(nodeHasher, bytes)));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-prove-'));
  const network = createTestNetwork({ nodes: 4 });
  await writeGenesisFile(join(dir, GENESIS_FILE), network.genesis);
  genesisMembership = network.genesis.membership;
  threeMembers = createMembership(network.genesis.membership.nodes.slice(0, 3));
  const builder = new TestChainBuilder(network);
  blocks = [
    builder.nextBlock([{ owner: 0 }, { owner: 3 }]),
    builder.nextBlock([{ owner: 1 }]),
    builder.nextBlock([{ owner: 2, operation: 'membership-change', payloads: [createPayload(PUBLIC_AUDIENCE, encodeMembership(threeMembers))] }]),
    builder.nextBlock([{ owner: 0 }, { owner: 1 }, { owner: 2 }]),
  ];
  const store = await SegmentBlockStore.open(dir);
  for (const block of blocks) await store.append(block, blockHash(nodeHasher, block.headerBytes));
  await store.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function proveAll(): Promise<{ blockReads: number; signers: number[] }> {
  const reads = vi.spyOn(SegmentBlockStore.prototype, 'readBlock');
  const wholeChainIndex = vi.spyOn(SegmentBlockStore.prototype, 'locateTransaction');
  try {
    const signers: number[] = [];
    let lastReads = 0;
    for (const [height, block] of blocks.entries()) {
      for (const id of idsOf(block)) {
        reads.mockClear();
        const proof = await proveTransaction(dir, id);
        expect(checkTransactionProof(nodeHasher, ed25519Verifier, proof).txId).toBe(id);
        if (height === 3) signers.push(decodeMembership(fromHex(proof.membership)).nodes.length);
        lastReads = reads.mock.calls.length;
      }
    }
    expect(wholeChainIndex).not.toHaveBeenCalled();
    return { blockReads: lastReads, signers };
  } finally {
    reads.mockRestore();
    wholeChainIndex.mockRestore();
  }
}

describe('proveTransaction', () => {
  it('proves from the blocks alone, with the membership in force after the change', async () => {
    const { blockReads, signers } = await proveAll();
    // The last transaction of block 4: the scan reads blocks 1-4, the membership walk blocks 1-3, then block 4.
    expect(blockReads).toBe(4 + 3 + 1);
    expect(signers).toEqual([3, 3, 3]);
  });

  it('with the index runs and a checkpoint at height 3, reads only the block it proves', async () => {
    const index = PersistentTransactionIndex.open(join(dir, TRANSACTION_INDEX_DIRECTORY), { headHeight: 4, blockHash: (height) => blockHash(nodeHasher, blocks[height - 1]!.headerBytes), runEntries: 1 });
    blocks.forEach((block, i) => index.add(i + 1, idsOf(block), blockHash(nodeHasher, block.headerBytes)));
    await index.close();
    const memberships = [{ from: 1, membership: genesisMembership }, { from: 4, membership: threeMembers }];
    await writeCheckpointFile(dir, { height: 3, headHash: blockHash(nodeHasher, blocks[2]!.headerBytes), chain: { memberships }, node: {} });
    const { blockReads, signers } = await proveAll();
    expect(blockReads).toBe(1);
    expect(signers).toEqual([3, 3, 3]);
  });

  it('ignores a checkpoint of another chain and reads the blocks for the membership', async () => {
    const memberships = [{ from: 1, membership: genesisMembership }];
    await writeCheckpointFile(dir, { height: 3, headHash: new Uint8Array(32).fill(7), chain: { memberships }, node: {} });
    const { blockReads, signers } = await proveAll();
    expect(blockReads).toBe(3 + 1);
    expect(signers).toEqual([3, 3, 3]);
  });
});
