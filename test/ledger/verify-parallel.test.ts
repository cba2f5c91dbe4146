// Goal: verifying on worker threads reaches exactly the verdict of verifying in order — same height, head
// hash, counts, and the same first violation (block, rule, transaction, message) — including when
// governance changes make the main thread's predicted state wrong for runs already handed out.
// Method: a chain with a schema change and a membership change (partner-3 leaves, so later certificates
// carry fewer signatures) verified in order and with 2 workers, with runs of one block (every run after a
// governance change is mispredicted and must be checked again) and of three; then seeded single-byte
// flips, half with the record checksum fixed up so the validity rules must catch them, and a torn tail,
// each verified both ways and compared.
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleBlock, certificateOf, certifyBlock, signBatch, signCommit, type Block } from '../../ledger/block.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { GENESIS_FILE, writeGenesisFile } from '../../ledger/genesis.ts';
import { createMembership, encodeMembership } from '../../ledger/membership.ts';
import { FRAME_HEADER_BYTES, frameChecksum, SEGMENT_FILE } from '../../ledger/store/segment-file.ts';
import { SegmentBlockStore } from '../../ledger/store/segment-store.ts';
import { createTestNetwork, partnerName, TestChainBuilder } from '../../ledger/testing/test-network.ts';
import { createPayload, PUBLIC_AUDIENCE, type Transaction } from '../../ledger/transaction.ts';
import { verifyLedger, workersForIdleCores, type VerifyOptions, type VerifyReport } from '../../ledger/verify-ledger.ts';
import { seededRandom } from './support/crash-harness.ts';

const ONE_BLOCK_RUNS: VerifyOptions = { workers: 2, parallelLimits: { runBytesTarget: 1, runBlocksMax: 1, inFlightBytesMax: 1 << 30 } };
const THREE_BLOCK_RUNS: VerifyOptions = { workers: 2, parallelLimits: { runBytesTarget: 1 << 30, runBlocksMax: 3, inFlightBytesMax: 1 << 30 } };

let dir: string;
let pristine: Buffer;

/** The report without what legitimately differs between the two ways (time taken, threads used). */
function verdict(report: VerifyReport): Omit<VerifyReport, 'durationMs' | 'workers'> {
  const { durationMs: _durationMs, workers: _workers, ...rest } = report;
  return rest;
}

/** Recomputes the checksum of the frame holding `position`, walking frames from the start of the segment. */
function fixChecksumAround(segment: Buffer, position: number): void {
  let offset = 0;
  while (offset + FRAME_HEADER_BYTES <= segment.length) {
    const end = offset + FRAME_HEADER_BYTES + segment.readUInt32BE(offset + 4);
    if (position < end) {
      const frame = segment.subarray(offset, end);
      frame.writeUInt32BE(frameChecksum(frame.subarray(4, 16), frame.subarray(FRAME_HEADER_BYTES)), 16);
      return;
    }
    offset = end;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-verify-parallel-'));
  const network = createTestNetwork({ nodes: 4 });
  await writeGenesisFile(join(dir, GENESIS_FILE), network.genesis);
  const builder = new TestChainBuilder(network, { payloadBytes: 200 });
  const threeMembers = createMembership(network.genesis.membership.nodes.slice(0, 3));
  const blocks = [
    builder.nextBlock([{ owner: 0 }, { owner: 3 }, { owner: 1 }]),
    builder.nextBlock([{ owner: 1, operation: 'schema-change' }]),
    builder.nextBlock([{ owner: 0 }, { owner: 2 }]),
    builder.nextBlock([{ owner: 2, operation: 'membership-change', payloads: [createPayload(PUBLIC_AUDIENCE, encodeMembership(threeMembers))] }]),
  ];
  for (let i = 0; i < 4; i++) blocks.push(builder.nextBlock([{ owner: 0 }, { owner: 1 }, { owner: 2 }, { owner: i % 3 }]));
  blocks.push(builder.nextBlock([{ owner: 0, operation: 'schema-change' }, { owner: 1 }]));
  for (let i = 0; i < 3; i++) blocks.push(builder.nextBlock([{ owner: 2 }, { owner: 1 }]));
  const store = await SegmentBlockStore.open(dir);
  for (const block of blocks) await store.append(block, network.hasher.sha256(block.headerBytes));
  await store.close();
  pristine = await readFile(join(dir, SEGMENT_FILE));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verifyLedger on worker threads', () => {
  it('reaches the in-order verdict across governance changes, whatever the run size', async () => {
    const inOrder = await verifyLedger(dir, { workers: 0 });
    expect(inOrder).toMatchObject({ ok: true, height: 12, blocks: 12, workers: 0 });
    for (const options of [ONE_BLOCK_RUNS, THREE_BLOCK_RUNS, { workers: 1 }]) {
      const parallel = await verifyLedger(dir, options);
      expect(parallel.workers).toBe(options.workers);
      expect(verdict(parallel)).toEqual(verdict(inOrder));
    }
  }, 60_000);

  it('names the same first violation for seeded byte flips and a torn tail', async () => {
    const random = seededRandom(20261128);
    try {
      for (let c = 0; c < 16; c++) {
        const segment = Buffer.from(pristine);
        const position = Math.floor(random() * segment.length);
        segment[position]! ^= 1 + Math.floor(random() * 255);
        if (c % 2 === 0) fixChecksumAround(segment, position);
        await writeFile(join(dir, SEGMENT_FILE), segment);
        const inOrder = await verifyLedger(dir, { workers: 0 });
        const parallel = await verifyLedger(dir, c % 4 < 2 ? ONE_BLOCK_RUNS : THREE_BLOCK_RUNS);
        expect(verdict(parallel), `flip at byte ${position} (checksum fixed: ${c % 2 === 0})`).toEqual(verdict(inOrder));
      }
      await writeFile(join(dir, SEGMENT_FILE), pristine);
      await appendFile(join(dir, SEGMENT_FILE), Buffer.from('ENTB\x00\x00\x10\x00partial', 'latin1'));
      const inOrder = await verifyLedger(dir, { workers: 0 });
      expect(inOrder.violation).toMatchObject({ height: 13, rule: 'record-checksum' });
      expect(verdict(await verifyLedger(dir, ONE_BLOCK_RUNS))).toEqual(verdict(inOrder));
    } finally {
      await writeFile(join(dir, SEGMENT_FILE), pristine);
    }
  }, 120_000);

  it('names the same batch-order violation as the in-order path: an owner\'s batches committed out of order in certified blocks', async () => {
    const reordered = await mkdtemp(join(tmpdir(), 'entente-verify-order-'));
    try {
      const network = createTestNetwork({ nodes: 4 });
      await writeGenesisFile(join(reordered, GENESIS_FILE), network.genesis);
      const builder = new TestChainBuilder(network);
      const blocks: Block[] = [builder.nextBlock([{ owner: 0 }, { owner: 1 }]), builder.nextBlock([{ owner: 1 }, { owner: 0 }]), builder.nextBlock([{ owner: 2 }])];
      // Partner 0 signed x, then y after it; a proposer committed y first (block 4), then x (block 5).
      const tx = (key: string): Transaction => ({ operation: 'create', entityType: 'Type0', key, owner: partnerName(0), origin: `order:${key}`, commitments: [] });
      const x = signBatch(nodeHasher, network.signers[0]!, 0, [tx('x')], [], builder.state.batchHeads.get(partnerName(0)));
      const y = signBatch(nodeHasher, network.signers[0]!, 0, [tx('y')], [], x.hash);
      let head = { height: builder.state.height, hash: builder.state.headHash, timeMs: builder.state.timeMs };
      for (const batch of [y, x]) {
        const s = builder.state;
        const block = assembleBlock(nodeHasher, { height: head.height + 1, previousHash: head.hash, membershipHash: s.membershipHash, schemaVersion: s.schemaVersion, proposer: 0, timeMs: head.timeMs + 1, batches: [batch] });
        blocks.push(certifyBlock(block, certificateOf(0, [0, 1, 2].map((i) => signCommit(network.signers[i]!, i, s.chainId, block.header.height, 0, block.hash)))));
        head = { height: block.header.height, hash: block.hash, timeMs: block.header.timeMs };
      }
      const store = await SegmentBlockStore.open(reordered);
      for (const block of blocks) await store.append(block, nodeHasher.sha256(block.headerBytes));
      await store.close();
      const inOrder = await verifyLedger(reordered, { workers: 0 });
      expect(inOrder.violation).toMatchObject({ height: 4, rule: 'batch-order', txIndex: 0 });
      for (const options of [ONE_BLOCK_RUNS, THREE_BLOCK_RUNS, { workers: 1 }]) expect(verdict(await verifyLedger(reordered, options))).toEqual(verdict(inOrder));
    } finally {
      await rm(reordered, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses workers with a custom hasher or verifier (workers always use node:crypto)', async () => {
    const { browserHasher } = await import('../../ledger/crypto/sha256-browser.ts');
    await expect(verifyLedger(dir, { workers: 2, hasher: browserHasher })).rejects.toThrow(/workers: 0/);
    expect(await verifyLedger(dir, { hasher: browserHasher })).toMatchObject({ ok: true, workers: 0 });
  });

  it('uses workers by default only on cores that are idle, at least two', () => {
    expect(workersForIdleCores(2, 0.1)).toBe(2);
    expect(workersForIdleCores(2, 0.6)).toBe(0);
    expect(workersForIdleCores(2, 12)).toBe(0);
    expect(workersForIdleCores(8, 3.2)).toBe(5);
    expect(workersForIdleCores(64, 0)).toBe(16);
  });
});
