// An owner may publish the same change twice in different batches: after a restart or a failed publish,
// its capture publisher reads again from the last acknowledged position and groups the changes anew, while
// the peers may still hold (and commit) the batch from before. Every publish must still be answered, and
// each change must land exactly once. Found by the short chaos run: a republished batch that shared one
// change with a committed one was never proposed and its waiters waited forever.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { LedgerNode } from '../../ledger/node/ledger-node.ts';
import { createTestNetwork, partnerName } from '../../ledger/testing/test-network.ts';
import { commitPayloads, createPayload, type Payload, type Transaction } from '../../ledger/transaction.ts';
import { verifyLedger } from '../../ledger/verify-ledger.ts';
import { until } from '../support/eventually.ts';
import { tempFolder } from '../support/temp-folder.ts';

const root = tempFolder('entente-ledger-republish-');

function change(key: string): { tx: Transaction; payloads: Payload[] } {
  const payloads = [createPayload(partnerName(1), new TextEncoder().encode(JSON.stringify({ key })))];
  // Reused as is: a republished change is byte-identical (the capture publisher derives its salts).
  const tx: Transaction = { operation: 'create', entityType: 'Type0', key, owner: partnerName(0), origin: `test:${key}`, commitments: commitPayloads(nodeHasher, payloads) };
  return { tx, payloads };
}

describe('LedgerNode: republished changes', () => {
  it('answers overlapping batches of the same changes, commits each change once, and answers a republish of committed changes at once', async () => {
    const network = createTestNetwork({ nodes: 4 });
    const nodes = network.secretKeys.map((secretKey, i) => new LedgerNode({ genesis: network.genesis, secretKey, ledgerDirectory: join(root(), partnerName(i)), listenHost: '127.0.0.1', listenPort: 0, emptyBlockDelayMs: 200 }));
    const ports = await Promise.all(nodes.map((node) => node.start()));
    for (const node of nodes) node.connectPeers(Object.fromEntries(ports.map((port, i) => [partnerName(i), `ws://127.0.0.1:${port}`])));
    try {
      const [a, b, c] = [change('a'), change('b'), change('c')];
      // Published in the same turn: both batches sit in the pool, sharing `a`; no block may hold `a` twice.
      const first = nodes[0]!.publish([a.tx], [a.payloads]);
      const regrouped = nodes[0]!.publish([a.tx, b.tx, c.tx], [a.payloads, b.payloads, c.payloads]);
      const [firstCommit, regroupedCommit] = await Promise.all([first, regrouped]);
      expect(regroupedCommit.transactionIds).toHaveLength(3);
      expect(regroupedCommit.transactionIds[0]).toBe(firstCommit.transactionIds[0]);
      expect(regroupedCommit.height).toBeGreaterThanOrEqual(firstCommit.height);

      // Everything already committed: answered without a new block.
      const heightBefore = nodes[0]!.height;
      const again = await nodes[0]!.publish([b.tx, a.tx], [b.payloads, a.payloads]);
      expect(again.height).toBe(regroupedCommit.height);
      expect(nodes[0]!.height).toBe(heightBefore);

      await Promise.all(nodes.map((node) => until(() => node.height >= regroupedCommit.height)));
      const committedIds: string[] = [];
      for (let height = 1; height <= nodes[1]!.height; height++) {
        for (const bytes of nodes[1]!.blockStore.readBlockSync(height)!.transactionBytes) committedIds.push(toHex(nodeHasher.merkleLeaf(bytes)));
      }
      expect(committedIds.sort()).toEqual([...regroupedCommit.transactionIds].sort());
      const report = await verifyLedger(join(root(), partnerName(1)));
      expect(report.violation).toBeUndefined();
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 60_000);
});
