// Goal: `verifyLedger` follows governance across heights (schema version bump, a membership change
// whose new membership certifies later blocks) and reports what it cannot accept at the tail. Method: a
// real chain with a schema change and a membership change (partner-3 leaves), stored and verified from
// genesis; then an interrupted append is simulated and must be reported, naming the next height.
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENESIS_FILE, writeGenesisFile } from '../../ledger/genesis.ts';
import { createMembership, encodeMembership } from '../../ledger/membership.ts';
import { SEGMENT_FILE } from '../../ledger/store/segment-file.ts';
import { SegmentBlockStore } from '../../ledger/store/segment-store.ts';
import { createTestNetwork, TestChainBuilder } from '../../ledger/testing/test-network.ts';
import { createPayload, PUBLIC_AUDIENCE } from '../../ledger/transaction.ts';
import { verifyLedger } from '../../ledger/verify-ledger.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-verify-'));
  const network = createTestNetwork({ nodes: 4 });
  await writeGenesisFile(join(dir, GENESIS_FILE), network.genesis);
  const builder = new TestChainBuilder(network);
  const threeMembers = createMembership(network.genesis.membership.nodes.slice(0, 3));
  const blocks = [
    builder.nextBlock([{ owner: 0 }, { owner: 3 }]),
    builder.nextBlock([{ owner: 1, operation: 'schema-change' }]),
    builder.nextBlock([{ owner: 2, operation: 'membership-change', payloads: [createPayload(PUBLIC_AUDIENCE, encodeMembership(threeMembers))] }]),
    builder.nextBlock([{ owner: 0 }, { owner: 1 }, { owner: 2 }]),
  ];
  const store = await SegmentBlockStore.open(dir);
  for (const block of blocks) await store.append(block, network.hasher.sha256(block.headerBytes));
  await store.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verifyLedger', () => {
  it('verifies across a schema change and a membership change', async () => {
    const report = await verifyLedger(dir);
    expect(report).toMatchObject({ ok: true, height: 4, blocks: 4, transactions: 7 });
    // Certificates of 3 (quorum of 4) then, for block 4, 2 (quorum of the 3 remaining members); one signature per batch.
    expect(report.signatures).toBe(3 + 2 + (3 + 1) + (3 + 1) + (2 + 3));
  });

  it('reports an interrupted append at the tail, naming the next height', async () => {
    await appendFile(join(dir, SEGMENT_FILE), Buffer.from('ENTB\x00\x00\x10\x00partial', 'latin1'));
    const report = await verifyLedger(dir);
    expect(report.ok).toBe(false);
    expect(report.height).toBe(4);
    expect(report.violation).toMatchObject({ height: 5, rule: 'record-checksum' });
  });
});
