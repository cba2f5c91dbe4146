// Four in-process ledger nodes on the ledger's own block format: owners publish signed batches, every
// node stores the same verified chain, and each partner holds only the payloads it may read.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { toHex } from '../../ledger/encoding/hex.ts';
import { LedgerNode } from '../../ledger/node/ledger-node.ts';
import { TRANSACTION_INDEX_DIRECTORY } from '../../ledger/store/committed-transaction-index.ts';
import { SegmentBlockStore } from '../../ledger/store/segment-store.ts';
import { proveTransaction } from '../../ledger/ledger-queries.ts';
import { checkTransactionProof } from '../../ledger/proof.ts';
import { partnerName, createTestNetwork, type TestNetwork } from '../../ledger/testing/test-network.ts';
import { commitPayloads, createPayload, type Payload, type Transaction } from '../../ledger/transaction.ts';
import { verifyLedger } from '../../ledger/verify-ledger.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { createSchemaJudge, genesisSchemaState } from '../../schema/evolution/schema-judge.ts';
import { schemaLedgerTransaction, schemaProposalHash } from '../../schema/evolution/schema-transactions.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { until } from '../support/eventually.ts';
import { tempFolder } from '../support/temp-folder.ts';

const root = tempFolder('entente-ledger-node-');

async function startNetwork(network: TestNetwork, name: string): Promise<LedgerNode[]> {
  const nodes = network.secretKeys.map((secretKey, i) => new LedgerNode({ genesis: network.genesis, secretKey, ledgerDirectory: join(root(), name, partnerName(i)), listenHost: '127.0.0.1', listenPort: 0, emptyBlockDelayMs: 200 }));
  const ports = await Promise.all(nodes.map((node) => node.start()));
  const urls = Object.fromEntries(ports.map((port, i) => [partnerName(i), `ws://127.0.0.1:${port}`]));
  for (const node of nodes) node.connectPeers(urls);
  return nodes;
}

function change(owner: number, key: string, readers: readonly number[]): { tx: Transaction; payloads: Payload[] } {
  const payloads = readers.map((reader) => createPayload(partnerName(reader), new TextEncoder().encode(JSON.stringify({ key, for: partnerName(reader) }))));
  const tx: Transaction = { operation: 'create', entityType: `Type${owner}`, key, owner: partnerName(owner), origin: `test:${key}`, commitments: commitPayloads(nodeHasher, payloads) };
  return { tx, payloads };
}

describe('LedgerNode', () => {
  it('commits owners\' batches on every node, stores a chain `entente verify` accepts, and gives each partner only its payloads', async () => {
    const network = createTestNetwork({ nodes: 4 });
    const nodes = await startNetwork(network, 'four');
    try {
      // partner-0 shares with partner-1 only; partner-2 shares with everyone else.
      const a = change(0, 'a1', [1]);
      const b = change(2, 'b1', [0, 1, 3]);
      const [commitA, commitB] = await Promise.all([nodes[0]!.publish([a.tx], [a.payloads]), nodes[2]!.publish([b.tx], [b.payloads])]);
      const top = Math.max(commitA.height, commitB.height);
      await Promise.all(nodes.map((node) => until(() => node.height >= top)));
      const heads = nodes.map((node) => node.blockStore.readBlockSync(top)!);
      expect(new Set(heads.map((block) => toHex(block.headerBytes))).size).toBe(1);
      const audiencesAt = (node: number, txId: string): string[] => {
        const block = nodes[node]!.blockStore.readBlockSync(txId === commitA.transactionIds[0] ? commitA.height : commitB.height)!;
        const index = block.transactionBytes.findIndex((bytes) => toHex(nodeHasher.merkleLeaf(bytes)) === txId);
        return block.payloads.filter((p) => p.txIndex === index).map((p) => p.audience).sort();
      };
      const txA = commitA.transactionIds[0]!;
      expect(audiencesAt(0, txA)).toEqual(['partner-1']); // the owner keeps every audience's payload
      expect(audiencesAt(1, txA)).toEqual(['partner-1']);
      expect(audiencesAt(2, txA)).toEqual([]);
      expect(audiencesAt(3, txA)).toEqual([]);
      expect(audiencesAt(3, commitB.transactionIds[0]!)).toEqual(['partner-3']);
      for (const i of [0, 3]) {
        const report = await verifyLedger(join(root(), 'four', partnerName(i)));
        expect(report.violation).toBeUndefined();
        expect(report.height).toBeGreaterThanOrEqual(top);
      }
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 30_000);

  it('checks a batch seal once per peer, on arrival: neither the owner nor a judge of the proposal verifies it again', async () => {
    const network = createTestNetwork({ nodes: 4 });
    const nodes = await startNetwork(network, 'seal-once');
    const verify = vi.spyOn(ed25519Verifier, 'verify');
    try {
      const d = change(2, 'd1', [0, 1, 3]);
      const commit = await nodes[2]!.publish([d.tx], [d.payloads]);
      await Promise.all(nodes.map((node) => until(() => node.height >= commit.height)));
      const block = nodes[2]!.blockStore.readBlockSync(commit.height)!;
      const seal = block.batches.find((batch) => batch.signer === 2)!;
      const checks = verify.mock.calls.filter(([, , signature]) => toHex(signature) === toHex(seal.signature));
      // One per peer (receiving the gossip); the owner signed it, and every later check is a cache hit.
      expect(checks).toHaveLength(3);
    } finally {
      verify.mockRestore();
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 30_000);

  it('a node restarted after missing gossip syncs the blocks and fetches its payloads from the owner', async () => {
    const network = createTestNetwork({ nodes: 4 });
    const nodes = await startNetwork(network, 'restart');
    try {
      await nodes[3]!.stop();
      const c = change(1, 'c1', [3]);
      const commit = await nodes[1]!.publish([c.tx], [c.payloads]);
      // Same port as before, so the peers' reconnecting dialers find it again.
      const restarted = new LedgerNode({ genesis: network.genesis, secretKey: network.secretKeys[3]!, ledgerDirectory: join(root(), 'restart', partnerName(3)), listenHost: '127.0.0.1', listenPort: nodes[3]!.port, emptyBlockDelayMs: 200 });
      await restarted.start();
      nodes[3] = restarted;
      restarted.connectPeers(Object.fromEntries([0, 1, 2].map((i) => [partnerName(i), `ws://127.0.0.1:${nodes[i]!.port}`])));
      await until(() => restarted.height >= commit.height, 20_000);
      const block = restarted.blockStore.readBlockSync(commit.height)!;
      const index = block.transactionBytes.findIndex((bytes) => toHex(nodeHasher.merkleLeaf(bytes)) === commit.transactionIds[0]);
      // Whether the queued gossip or the synced block came first, the owner answers the payload request
      // with exactly what partner-3 may read.
      expect(block.payloads.filter((p) => p.txIndex === index).map((p) => p.audience)).toEqual(expect.arrayContaining([]));
      // The owner finds the transaction in its committed index, not in an index of every stored
      // transaction held in memory (the store's, built on first use and growing with the chain).
      const storeIndex = vi.spyOn(nodes[1]!.blockStore, 'locateTransaction');
      const fetched = await restarted.fetchPayloads(commit.height, [index]);
      expect(fetched.get(index)?.map((p) => p.audience)).toEqual(['partner-3']);
      expect(new TextDecoder().decode(fetched.get(index)![0]!.data)).toContain('c1');
      expect(storeIndex).not.toHaveBeenCalled();
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 40_000);
});

describe('LedgerNode committed-transaction index', () => {
  it('seals committed ids into run files beside the blocks, and after a restart still knows every one: a republish is answered, not committed twice', async () => {
    const network = createTestNetwork({ nodes: 3 });
    const directory = (i: number): string => join(root(), 'tx-runs', partnerName(i));
    const start = (i: number, port = 0): LedgerNode => new LedgerNode({ genesis: network.genesis, secretKey: network.secretKeys[i]!, ledgerDirectory: directory(i), listenHost: '127.0.0.1', listenPort: port, emptyBlockDelayMs: 200, transactionRunEntries: 4 });
    const nodes = [0, 1, 2].map((i) => start(i));
    const ports = await Promise.all(nodes.map((node) => node.start()));
    const urls = Object.fromEntries(ports.map((port, i) => [partnerName(i), `ws://127.0.0.1:${port}`]));
    for (const node of nodes) node.connectPeers(urls);
    try {
      const published: { tx: Transaction; payloads: Payload[]; height: number; id: string }[] = [];
      for (let round = 0; round < 6; round++) {
        const changes = [change(0, `r${round}a`, [1]), change(0, `r${round}b`, [2])];
        const commit = await nodes[0]!.publish(changes.map((c) => c.tx), changes.map((c) => c.payloads));
        changes.forEach((c, i) => published.push({ ...c, height: commit.height, id: commit.transactionIds[i]! }));
      }
      const top = Math.max(...published.map((p) => p.height));
      await Promise.all(nodes.map((node) => until(() => node.height >= top)));
      for (let i = 0; i < 3; i++) expect(readdirSync(join(directory(i), TRANSACTION_INDEX_DIRECTORY)).filter((name) => name.endsWith('.txr')).length).toBeGreaterThanOrEqual(2);

      await nodes[0]!.stop();
      nodes[0] = start(0, ports[0]);
      await nodes[0].start();
      nodes[0].connectPeers(urls);
      for (const p of published) {
        expect(nodes[0].committedTransaction(p.id)).toBe(p.height);
        expect(nodes[0].locateTransaction(p.id)?.height).toBe(p.height);
      }
      // The oldest change, now only in a run file, published again: answered with its block.
      const first = published[0]!;
      const again = await nodes[0].publish([first.tx], [first.payloads]);
      expect(again.height).toBe(first.height);
      expect(again.transactionIds).toEqual([first.id]);

      // `entente proof --data` beside the running node: the ids come from its runs (or the few blocks
      // above them), the membership from the checkpoint it wrote at stop, so proving the oldest change
      // reads one block, not the chain, and builds no index of every stored transaction.
      const wholeChainIndex = vi.spyOn(SegmentBlockStore.prototype, 'locateTransaction');
      const blockReads = vi.spyOn(SegmentBlockStore.prototype, 'readBlock');
      try {
        for (const p of published) {
          blockReads.mockClear();
          const proof = await proveTransaction(directory(0), p.id);
          expect(checkTransactionProof(nodeHasher, ed25519Verifier, proof).txId).toBe(p.id);
          if (p === first) expect(blockReads).toHaveBeenCalledTimes(1);
        }
        expect(wholeChainIndex).not.toHaveBeenCalled();
      } finally {
        wholeChainIndex.mockRestore();
        blockReads.mockRestore();
      }
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 40_000);
});

describe('LedgerNode with the schema in the genesis', () => {
  it('consensus refuses a schema activation governance does not allow: the batch is dropped, the chain goes on, verify agrees', async () => {
    const base = createTestNetwork({ nodes: 3 });
    const owner = partnerName(0);
    const orderV1 = `type Order @key(fields: "id") @table(name: "orders") @grant(partners: ["${partnerName(1)}"], operations: [READ]) {\n  id: BigInt! @column(name: "id", type: "bigint")\n  status: String! @column(name: "status", type: "text")\n}\n`;
    const genesis: Genesis = { ...base.genesis, ownership: new Map([['Order', owner], ['Type1', partnerName(1)]]), governance: { breaking: 'all-affected' }, schema: [{ partner: owner, source: orderV1 }] };
    const initial = genesisSchemaState(nodeHasher, genesis)!;
    const nodes = base.secretKeys.map((secretKey, i) => new LedgerNode({ genesis, secretKey, ledgerDirectory: join(root(), 'judge', partnerName(i)), listenHost: '127.0.0.1', listenPort: 0, schemaJudge: createSchemaJudge(nodeHasher, initial) }));
    const ports = await Promise.all(nodes.map((node) => node.start()));
    for (const node of nodes) node.connectPeers(Object.fromEntries(ports.map((port, i) => [partnerName(i), `ws://127.0.0.1:${port}`])));
    try {
      // A breaking change (status removed) proposed and activated at once, without partner-1's approval.
      const proposal = { version: 2, previousHash: initial.contentHash, files: [{ partner: owner, source: orderV1.replace(/ {2}status:.*\n/, '') }] };
      const proposed = schemaLedgerTransaction(nodeHasher, { kind: 'proposal', proposal }, owner, 'test:proposal');
      const committed = await nodes[0]!.publish([proposed.transaction], [[proposed.payload]]);
      const forced = schemaLedgerTransaction(nodeHasher, { kind: 'activation', activation: { version: 2, proposalHash: schemaProposalHash(nodeHasher, proposal) } }, owner, 'test:activation');
      await expect(nodes[0]!.publish([forced.transaction], [[forced.payload]])).rejects.toThrow(/refused by the ledger's rules \(governance: schema activation refused: .*partner-1/);
      // The network is not stuck: partner-1's ordinary change still commits, and the version never moved.
      const other = change(1, 'after', [0]);
      const after = await nodes[1]!.publish([other.tx], [other.payloads]);
      expect(after.height).toBeGreaterThan(committed.height);
      await until(() => nodes[2]!.height >= after.height);
      expect(nodes[2]!.blockStore.readBlockSync(after.height)!.header.schemaVersion).toBe(1);
      const report = await verifyLedger(join(root(), 'judge', partnerName(2)), { schemaJudgeFor: (g, hasher) => createSchemaJudge(hasher, genesisSchemaState(hasher, g)!) });
      expect(report.violation).toBeUndefined();
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 40_000);
});

describe('payload recovery by the owner', () => {
  it('an owner that lost a committed transaction\'s payloads rebuilds them and serves them to the partner that missed the gossip', async () => {
    const network = createTestNetwork({ nodes: 3 });
    const nodes = await startNetwork(network, 'recover');
    try {
      // The commitment names partner-2, but no payload travels (as when the owner crashed before storing it).
      const lost = change(0, 'lost', [2]);
      const commit = await nodes[0]!.publish([lost.tx], [[]]);
      await until(() => nodes[2]!.height >= commit.height);
      expect((await nodes[2]!.fetchPayloads(commit.height, [0])).size).toBe(0);
      // It answers with the ids the transactions were committed under (a retried mutation names them).
      expect(nodes[0]!.recoverPayloads([lost.tx], [lost.payloads])).toEqual(commit.transactionIds);
      const fetched = await nodes[2]!.fetchPayloads(commit.height, [0]);
      expect(fetched.get(0)?.map((p) => p.audience)).toEqual(['partner-2']);
      // A forged "recovery" whose payload does not match the commitment is ignored.
      const forged = createPayload('partner-1', new TextEncoder().encode('forged'));
      nodes[0]!.recoverPayloads([lost.tx], [[forged]]);
      expect((await nodes[1]!.fetchPayloads(commit.height, [0])).size).toBe(0);
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 30_000);
});
