// One owner's batches must commit in the order the owner published them, whatever gossip was lost: a
// replica applies full after-images in block order, so a later change committed before an earlier one of
// the same row leaves every replica with the older row. Found by the short chaos run (seed 81607037, an
// owner killed and restarted). Two ways it happened before batches were chained: a peer that had missed
// one batch's gossip proposed the owner's next one (first test); and an owner that restarted republished
// what was left of a batch overtaken by its previous process's batch behind its later batches (second
// test: on the code before the chain it failed 3 runs of 3, d at height 3 after e at 2). Method: real LedgerNodes on
// loopback; the owner's gossip comes from a process holding the owner's key (as a restarted or cut-off
// owner's old batches do), so the test decides which peer receives what.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chainIdOf, signBatch, type SignedBatch } from '../../ledger/block.ts';
import { createEd25519Signer, ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { genesisHash } from '../../ledger/genesis.ts';
import { LedgerNode } from '../../ledger/node/ledger-node.ts';
import { createTestNetwork, partnerName, type TestNetwork } from '../../ledger/testing/test-network.ts';
import type { Transaction } from '../../ledger/transaction.ts';
import { WsTransport } from '../../ledger/transport/ws-transport.ts';
import { verifyLedger } from '../../ledger/verify-ledger.ts';
import { TcpProxy } from '../chaos/tcp-proxy.ts';
import { until } from '../support/eventually.ts';
import { freePort } from '../support/free-port.ts';
import { tempFolder } from '../support/temp-folder.ts';

const root = tempFolder('entente-ledger-order-');

function change(key: string): Transaction {
  return { operation: 'update', entityType: 'Type0', key: 'row-9', owner: partnerName(0), origin: `test:${key}`, commitments: [] };
}

/** Where each transaction (by origin) sits in `node`'s chain: [height, index in block]. */
function positions(node: LedgerNode): Map<string, [number, number]> {
  const found = new Map<string, [number, number]>();
  for (let height = 1; height <= node.height; height++) {
    node.blockStore.readBlockSync(height)!.transactions.forEach((tx, index) => {
      expect(found.has(tx.origin), `${tx.origin} committed twice`).toBe(false);
      found.set(tx.origin, [height, index]);
    });
  }
  return found;
}

function before(a: [number, number] | undefined, b: [number, number] | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

/** A process holding partner 0's key that gossips hand-made batches to chosen peers (by membership index). */
async function ownerImpostor(network: TestNetwork, peers: readonly { index: number; url: string }[]): Promise<{ send(to: number, batch: SignedBatch, seq: number): void; close(): Promise<void> }> {
  const transport = new WsTransport({
    chainId: chainIdOf(genesisHash(nodeHasher, network.genesis)), selfIndex: 0, signer: createEd25519Signer(network.secretKeys[0]!), verifier: ed25519Verifier, hasher: nodeHasher,
    membership: () => network.genesis.membership, listenHost: '127.0.0.1', listenPort: 0, peers, onMessage: () => undefined,
  });
  await transport.start();
  return {
    send: (to, batch, seq) => transport.send(to, { type: 'batch', signature: batch.seal.signature, txs: batch.transactionBytes, payloads: batch.transactionBytes.map(() => []), seq, previous: batch.seal.previous }),
    close: () => transport.close(),
  };
}

describe('LedgerNode: an owner\'s batches commit in publishing order', () => {
  it('a peer that missed the earlier batch does not propose the later one: it waits until the earlier one commits', async () => {
    const network = createTestNetwork({ nodes: 4 });
    // Partners 1–3 run (a quorum); partner 0's own node is down, its batches come from the impostor.
    const nodes = [1, 2, 3].map((i) => new LedgerNode({ genesis: network.genesis, secretKey: network.secretKeys[i]!, ledgerDirectory: join(root(), `missed-${partnerName(i)}`), listenHost: '127.0.0.1', listenPort: 0, emptyBlockDelayMs: 100 }));
    const ports = await Promise.all(nodes.map((node) => node.start()));
    const downPort = await freePort();
    for (const node of nodes) node.connectPeers({ [partnerName(0)]: `ws://127.0.0.1:${downPort}`, ...Object.fromEntries(ports.map((port, i) => [partnerName(i + 1), `ws://127.0.0.1:${port}`])) });
    const owner = await ownerImpostor(network, ports.map((port, i) => ({ index: i + 1, url: `ws://127.0.0.1:${port}` })));
    try {
      const insert = signBatch(nodeHasher, network.signers[0]!, 0, [change('insert 265 open')]);
      const update = signBatch(nodeHasher, network.signers[0]!, 0, [change('update 266 shipped')], [], insert.hash);
      // Every peer gets the update; the insert's gossip was lost on its way to all of them.
      for (const to of [1, 2, 3]) owner.send(to, update, 2);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      for (const node of nodes) expect(positions(node).has('test:update 266 shipped'), 'the update committed before the insert it follows').toBe(false);
      // The insert reaches one peer only: it proposes both, in order, when its turn comes.
      owner.send(2, insert, 1);
      await Promise.all(nodes.map((node) => until(() => positions(node).has('test:update 266 shipped'), 30_000)));
      for (const node of nodes) {
        const at = positions(node);
        expect(before(at.get('test:insert 265 open'), at.get('test:update 266 shipped')), `on ${node.partner}: insert at ${String(at.get('test:insert 265 open'))}, update at ${String(at.get('test:update 266 shipped'))}`).toBe(true);
      }
      expect((await verifyLedger(join(root(), `missed-${partnerName(1)}`))).violation).toBeUndefined();
    } finally {
      await owner.close();
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 60_000);

  it('an owner that published while cut off links its batches again behind what the network committed meanwhile', async () => {
    const network = createTestNetwork({ nodes: 4 });
    const nodes = network.secretKeys.map((secretKey, i) => new LedgerNode({ genesis: network.genesis, secretKey, ledgerDirectory: join(root(), `relink-${partnerName(i)}`), listenHost: '127.0.0.1', listenPort: 0, emptyBlockDelayMs: 100 }));
    const ports = await Promise.all(nodes.map((node) => node.start()));
    // Partner 0 talks to the others only through proxies, cut for now; the others talk directly.
    const proxies = await Promise.all(ports.map(async (port) => {
      const proxy = new TcpProxy(await freePort(), port);
      await proxy.start();
      proxy.cut();
      return proxy;
    }));
    const urlOf = (i: number, from: number): string => `ws://127.0.0.1:${from === 0 || i === 0 ? proxies[i]!.listenPort : ports[i]!}`;
    nodes.forEach((node, from) => node.connectPeers(Object.fromEntries(ports.map((_, i) => [partnerName(i), urlOf(i, from)]))));
    const old = await ownerImpostor(network, [1, 2, 3].map((i) => ({ index: i, url: `ws://127.0.0.1:${ports[i]!}` })));
    try {
      const [a, b, d, e] = [change('a'), change('b'), change('d'), change('e')];
      // The batch partner 0's previous process left with the peers: a and b, first in its chain.
      const previousProcess = signBatch(nodeHasher, network.signers[0]!, 0, [a, b]);
      for (const to of [1, 2, 3]) old.send(to, previousProcess, 1);
      // Meanwhile, cut off, partner 0 publishes a again with d (its first batch, by what it knows), then e.
      // Once it learns {a, b} committed, what is left of its first batch (d) must still go before e: the
      // rest used to be republished behind the pooled e, and committed after it.
      const first = nodes[0]!.publish([a, d], [[], []]);
      const second = nodes[0]!.publish([e], [[]]);
      await Promise.all(nodes.slice(1).map((node) => until(() => positions(node).has('test:b'), 30_000)));
      await old.close();
      for (const proxy of proxies) proxy.heal();
      const [firstCommit, secondCommit] = await Promise.all([first, second]);
      expect(firstCommit.height).toBeLessThanOrEqual(secondCommit.height);
      await Promise.all(nodes.map((node) => until(() => node.height >= secondCommit.height, 30_000)));
      for (const node of nodes) {
        const at = positions(node);
        expect([...at.keys()].sort()).toEqual(['test:a', 'test:b', 'test:d', 'test:e']);
        expect(before(at.get('test:b'), at.get('test:d')), `d at ${String(at.get('test:d'))}`).toBe(true);
        expect(before(at.get('test:d'), at.get('test:e')), `d at ${String(at.get('test:d'))}, e at ${String(at.get('test:e'))}`).toBe(true);
      }
      expect((await verifyLedger(join(root(), `relink-${partnerName(0)}`))).violation).toBeUndefined();
    } finally {
      await old.close().catch(() => undefined);
      await Promise.all(nodes.map((node) => node.stop()));
      await Promise.all(proxies.map((proxy) => proxy.close()));
    }
  }, 60_000);
  it('a batch refused for room is not overtaken by a smaller one published in the same turn', async () => {
    const network = createTestNetwork({ nodes: 4 });
    // Alone (no quorum), so nothing commits and the mempool stays as the test fills it.
    const node = new LedgerNode({ genesis: network.genesis, secretKey: network.secretKeys[0]!, ledgerDirectory: join(root(), `refused-${partnerName(0)}`), listenHost: '127.0.0.1', listenPort: 0, mempoolBytesMax: 2_000 });
    await node.start();
    const outcomes: Promise<unknown>[] = [];
    const publish = (key: string, bytes: number): Promise<unknown> => {
      const outcome = node.publish([{ ...change(key), key: key.padEnd(bytes, '.') }], [[]]);
      outcomes.push(outcome.catch(() => undefined));
      return outcome;
    };
    try {
      void publish('a', 100);
      await expect(publish('b', 5_000)).rejects.toThrow(/mempool is full/);
      // The same turn: c would fit, but it follows b, which the owner publishes again first.
      await expect(publish('c', 100)).rejects.toThrow(/must not overtake/);
      expect(node.mempoolSize).toBe(1);
      await new Promise((resolve) => setImmediate(resolve));
      void publish('d', 100);
      expect(node.mempoolSize).toBe(2);
    } finally {
      await node.stop();
      await Promise.all(outcomes);
    }
  });
});
