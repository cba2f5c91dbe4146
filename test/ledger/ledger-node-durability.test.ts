// What a gateway's ledger node makes durable per height, counted on real nodes: the consensus record is
// written only when a message waits for it (the prevote, the precommit; a new height's record rides on
// the next one), and the valid block only when its height stays open — except inside a record that holds
// a lock, which carries it (stored-snapshot.ts). Each write here is one fdatasync, and on a shared disk
// every sync a height does not need slows the ones it does need.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LedgerNode } from '../../ledger/node/ledger-node.ts';
import { SlotFile } from '../../ledger/node/slot-file.ts';
import { decodeSnapshot } from '../../ledger/node/stored-snapshot.ts';
import { partnerName, createTestNetwork } from '../../ledger/testing/test-network.ts';
import { commitPayloads, createPayload, type Transaction } from '../../ledger/transaction.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { until } from '../support/eventually.ts';
import { tempFolder } from '../support/temp-folder.ts';

const root = tempFolder('entente-ledger-durability-');
afterEach(() => vi.restoreAllMocks());

/** The node's two slot files (private fields, read here to tell the writes apart). */
function slotsOf(node: LedgerNode): { snapshot: SlotFile; validBlock: SlotFile } {
  const inside = node as unknown as { snapshotSlots: SlotFile; validBlockSlots: SlotFile };
  return { snapshot: inside.snapshotSlots, validBlock: inside.validBlockSlots };
}

describe('LedgerNode durable writes per height', () => {
  it('writes at most two consensus records per height and node, no valid-block file when heights commit promptly, and the block inside every locked record', async () => {
    const network = createTestNetwork({ nodes: 3 });
    // A long delay makes "promptly" certain on a loaded machine; deferred-valid-block.test.ts covers the write after it.
    const nodes = network.secretKeys.map((secretKey, i) => new LedgerNode({ genesis: network.genesis, secretKey, ledgerDirectory: join(root(), partnerName(i)), listenHost: '127.0.0.1', listenPort: 0, emptyBlockDelayMs: 60_000, validBlockWriteDelayMs: 60_000 }));
    try {
      const ports = await Promise.all(nodes.map((node) => node.start()));
      const urls = Object.fromEntries(ports.map((port, i) => [partnerName(i), `ws://127.0.0.1:${port}`]));
      for (const node of nodes) node.connectPeers(urls);
      const publishOne = async (key: string): Promise<number> => {
        const payloads = [createPayload(partnerName(1), new TextEncoder().encode(key))];
        const tx: Transaction = { operation: 'create', entityType: 'Type0', key, owner: partnerName(0), origin: `test:${key}`, commitments: commitPayloads(nodeHasher, payloads) };
        return (await nodes[0]!.publish([tx], [payloads])).height;
      };
      const first = await publishOne('warm'); // connections up, first height done
      await Promise.all(nodes.map((node) => until(() => node.height >= first)));

      const writes = new Map<SlotFile, number>();
      const snapshotSlots = new Set(nodes.map((node) => slotsOf(node).snapshot));
      let lockedRecords = 0;
      const lockedWithoutBlock: string[] = [];
      const original = SlotFile.prototype.writeUnsynced;
      vi.spyOn(SlotFile.prototype, 'writeUnsynced').mockImplementation(function (this: SlotFile, bytes: Uint8Array) {
        writes.set(this, (writes.get(this) ?? 0) + 1);
        if (snapshotSlots.has(this)) {
          const stored = decodeSnapshot(bytes);
          if (stored.record.lockedValue !== null) {
            lockedRecords += 1;
            if (!(stored.lockedBlock instanceof Uint8Array) || stored.lockedBlock.length === 0) lockedWithoutBlock.push(`height ${stored.record.height} round ${stored.record.round}`);
          }
        }
        return original.call(this, bytes);
      });
      let last = first;
      for (let i = 0; i < 12; i += 1) last = await publishOne(`k${i}`); // one batch per height, heights rotate proposers
      await Promise.all(nodes.map((node) => until(() => node.height >= last)));
      const heights = last - first;
      expect(heights).toBeGreaterThanOrEqual(12);
      for (const node of nodes) {
        const { snapshot, validBlock } = slotsOf(node);
        // A prevote and a precommit per height (a proposer's proposal shares its prevote's record); a round
        // change on a slow machine may add one more, hence the slack of two.
        expect(writes.get(snapshot) ?? 0, `consensus records written by ${node.partner} over ${heights} heights`).toBeLessThanOrEqual(2 * heights + 2);
        expect(writes.get(validBlock) ?? 0, `valid blocks written by ${node.partner}`).toBe(0);
      }
      // Every node precommits (and so locks) at every height: a whole-network crash right after must leave
      // each with the block it is locked on.
      expect(lockedRecords).toBeGreaterThanOrEqual(heights);
      expect(lockedWithoutBlock).toEqual([]);
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 60_000);
});
