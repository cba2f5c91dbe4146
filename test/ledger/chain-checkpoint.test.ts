// The chain checkpoint (ledger/store/chain-checkpoint.ts): a start from a checkpoint must end in exactly the
// state a replay from genesis reaches, replay only the blocks after it, and fall back to the full replay
// whenever the checkpoint does not fit (damaged, another chain, above the stored head).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v8 from 'node:v8';
import { describe, expect, it, vi } from 'vitest';
import { blockHash, type Block } from '../../ledger/block.ts';
import { ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { genesisHash } from '../../ledger/genesis.ts';
import { LedgerChain } from '../../ledger/node/ledger-chain.ts';
import { LedgerNode, type LedgerNodeEvent } from '../../ledger/node/ledger-node.ts';
import { CHECKPOINT_FILE, decodeCheckpoint, encodeCheckpoint, readCheckpointFile, writeCheckpointFile, type ChainCheckpoint } from '../../ledger/store/chain-checkpoint.ts';
import { PersistentTransactionIndex, type CommittedTransactionIndex } from '../../ledger/store/committed-transaction-index.ts';
import { SegmentBlockStore } from '../../ledger/store/segment-store.ts';
import { createTestNetwork, partnerName, TestChainBuilder, type TestNetwork } from '../../ledger/testing/test-network.ts';
import { commitPayloads, createPayload, type Payload, type Transaction } from '../../ledger/transaction.ts';
import { verifyLedger } from '../../ledger/verify-ledger.ts';
import { tempFolder } from '../support/temp-folder.ts';

const root = tempFolder('entente-chain-checkpoint-');
let dirs = 0;
const freshDir = (): string => join(root(), `d${++dirs}`);

async function storeOf(network: TestNetwork, directory: string): Promise<SegmentBlockStore> {
  return SegmentBlockStore.open(directory, { genesisHash: genesisHash(network.hasher, network.genesis), hasher: network.hasher });
}

async function append(store: SegmentBlockStore, blocks: readonly Block[]): Promise<void> {
  for (const block of blocks) store.appendSync(block, blockHash(nodeHasher, block.headerBytes));
}

function openChain(network: TestNetwork, store: SegmentBlockStore, extra: { checkpoint?: ChainCheckpoint; transactionIndex?: CommittedTransactionIndex } = {}) {
  const refused: string[] = [];
  let replayed = 0;
  const chain = LedgerChain.open({
    genesis: network.genesis, store, hasher: nodeHasher, verifier: ed25519Verifier, payloads: () => undefined,
    replayed: () => replayed++, checkpointRefused: (reason) => refused.push(reason), ...extra,
  });
  return { chain, refused, replayed };
}

function checkpointOf(chain: LedgerChain): ChainCheckpoint {
  return { height: chain.headHeight(), headHash: chain.state.headHash, chain: chain.checkpointState(), node: {} };
}

/** Everything of a chain a block's check depends on, as comparable data. */
function stateOf(chain: LedgerChain): unknown {
  const { schemaState: _judged, ...state } = chain.state;
  return { state: v8.deserialize(v8.serialize(state)), memberships: chain.membershipAt(chain.headHeight()), latest: chain.latestMembership() };
}

function idsOf(blocks: readonly Block[]): string[] {
  return blocks.flatMap((block) => block.transactionBytes.map((bytes) => toHex(nodeHasher.merkleLeaf(bytes))));
}

describe('LedgerChain from a checkpoint', () => {
  it('reaches the state a replay from genesis reaches, replaying only the blocks after the checkpoint', async () => {
    const network = createTestNetwork({ nodes: 4 });
    const builder = new TestChainBuilder(network);
    const early = builder.blocks(30, 7);
    const late = builder.blocks(12, 5);
    const directory = freshDir();
    const store = await storeOf(network, directory);
    await append(store, early);
    const atCheckpoint = openChain(network, store).chain;
    await writeCheckpointFile(directory, checkpointOf(atCheckpoint));
    await append(store, late);

    const full = openChain(network, store);
    const read = readCheckpointFile(directory);
    expect(read?.ok).toBe(true);
    const resumed = openChain(network, store, { checkpoint: (read as { checkpoint: ChainCheckpoint }).checkpoint });
    expect(resumed.refused).toEqual([]);
    expect(resumed.chain.resumedFrom).toBe(30);
    expect(resumed.replayed).toBe(12);
    expect(full.replayed).toBe(42);
    expect(stateOf(resumed.chain)).toEqual(stateOf(full.chain));
    // Ids below the checkpoint were indexed without the rules; every id of the chain is known, at its height.
    for (const id of idsOf([...early, ...late])) expect(resumed.chain.committedTxs.get(id)).toBe(full.chain.committedTxs.get(id));
    expect(resumed.chain.committedTxs.size).toBe(30 * 7 + 12 * 5);
    // And it goes on like the other: the next block is valid on both.
    const next = builder.nextBlock([{ owner: 2 }, { owner: 3 }]);
    expect(resumed.chain.proposalProblem(next)).toBeNull();
    expect(full.chain.proposalProblem(next)).toBeNull();
    await store.close();
  });

  it('indexes only the ids its persistent index does not hold yet', async () => {
    const network = createTestNetwork({ nodes: 4 });
    const builder = new TestChainBuilder(network);
    const blocks = builder.blocks(40, 6);
    const directory = freshDir();
    const store = await storeOf(network, directory);
    await append(store, blocks);
    const indexOptions = { headHeight: 40, blockHash: (height: number) => blockHash(nodeHasher, store.readBlockSync(height)!.headerBytes), runEntries: 50 };
    // A first start seals runs of 50 ids (9 blocks each); the last blocks stay in memory only.
    const first = PersistentTransactionIndex.open(join(directory, 'transactions'), indexOptions);
    const opened = openChain(network, store, { transactionIndex: first });
    await writeCheckpointFile(directory, checkpointOf(opened.chain));
    await first.idle();
    await first.close();

    const again = PersistentTransactionIndex.open(join(directory, 'transactions'), indexOptions);
    expect(again.flushedHeight).toBeGreaterThan(0);
    expect(again.flushedHeight).toBeLessThan(40);
    const resumed = openChain(network, store, { transactionIndex: again, checkpoint: (readCheckpointFile(directory) as { checkpoint: ChainCheckpoint }).checkpoint });
    expect(resumed.chain.resumedFrom).toBe(40);
    expect(resumed.replayed).toBe(0);
    for (const [i, id] of idsOf(blocks).entries()) expect(again.locate(id)).toEqual({ height: Math.floor(i / 6) + 1, index: i % 6 });
    expect(again.size).toBe(240);
    // A node's stop keeps what is only in memory in a short run: the next start reads no block to index it.
    await again.close({ keepRecent: true });
    const third = PersistentTransactionIndex.open(join(directory, 'transactions'), indexOptions);
    expect(third.openedHeight).toBe(40);
    const reads = vi.spyOn(store, 'readBlockSync');
    const restarted = openChain(network, store, { transactionIndex: third, checkpoint: (readCheckpointFile(directory) as { checkpoint: ChainCheckpoint }).checkpoint });
    expect(restarted.chain.resumedFrom).toBe(40);
    // Only the checkpoint's own block, to check it is the stored one (before: also every block above the full runs).
    expect(reads.mock.calls).toEqual([[40]]);
    reads.mockRestore();
    for (const [i, id] of idsOf(blocks).entries()) expect(third.locate(id)).toEqual({ height: Math.floor(i / 6) + 1, index: i % 6 });
    expect(third.size).toBe(240);
    await third.close();
    await store.close();
  });

  it('refuses a checkpoint that does not fit, says why, and replays the whole chain instead', async () => {
    const network = createTestNetwork({ nodes: 4 });
    const builder = new TestChainBuilder(network);
    const blocks = builder.blocks(10, 3);
    const store = await storeOf(network, freshDir());
    await append(store, blocks.slice(0, 6));
    const good = checkpointOf(openChain(network, store).chain);
    await append(store, blocks.slice(6));
    const tenth = checkpointOf(openChain(network, store).chain);

    const other = createTestNetwork({ nodes: 4 });
    const otherStore = await storeOf(other, freshDir());
    await append(otherStore, new TestChainBuilder(other).blocks(6, 3));
    const foreign = checkpointOf(openChain(other, otherStore).chain);

    const shorter = await storeOf(network, freshDir());
    await append(shorter, blocks.slice(0, 8));
    const cases: [SegmentBlockStore, ChainCheckpoint, RegExp][] = [
      [shorter, tenth, /at height 10, above the stored head 8/],
      [store, foreign, /not the one it was written at/],
      [store, { ...good, chain: null }, /chain state is missing/],
      [store, { ...good, chain: { ...(good.chain as object), judged: true } }, /written with a schema judge/],
    ];
    for (const [target, checkpoint, reason] of cases) {
      const opened = openChain(network, target, { checkpoint });
      expect(opened.refused).toHaveLength(1);
      expect(opened.refused[0]).toMatch(reason);
      expect(opened.chain.resumedFrom).toBe(0);
      expect(opened.replayed).toBe(target.head().height);
    }
    await Promise.all([store.close(), otherStore.close(), shorter.close()]);
  });

  it('reads back what it wrote, and refuses a damaged, truncated or foreign file', () => {
    const checkpoint: ChainCheckpoint = { height: 3, headHash: new Uint8Array(32).fill(7), chain: { a: new Map([['x', 1]]) }, node: { b: [1, 2] } };
    const bytes = encodeCheckpoint(checkpoint);
    const read = decodeCheckpoint(bytes);
    expect(read.ok && read.checkpoint).toEqual(checkpoint);
    const flipped = bytes.slice();
    flipped[bytes.length - 5] = flipped[bytes.length - 5]! ^ 0x40;
    expect(decodeCheckpoint(flipped)).toEqual({ ok: false, reason: 'its CRC does not match (damaged)' });
    expect(decodeCheckpoint(bytes.subarray(0, bytes.length - 3))).toMatchObject({ ok: false, reason: expect.stringMatching(/torn write/) });
    expect(decodeCheckpoint(new TextEncoder().encode('something else entirely'))).toMatchObject({ ok: false, reason: expect.stringMatching(/bad magic/) });
  });
});

function change(owner: number, key: string): { tx: Transaction; payloads: Payload[] } {
  const payloads = [createPayload(partnerName(owner), new TextEncoder().encode(JSON.stringify({ key })))];
  return { tx: { operation: 'create', entityType: `Type${owner}`, key, owner: partnerName(owner), origin: `test:${key}`, commitments: commitPayloads(nodeHasher, payloads) }, payloads };
}

describe('LedgerNode and its checkpoint', () => {
  it('restarts from the checkpoint it wrote at stop, knows its committed origins and continues its batch chain', async () => {
    const network = createTestNetwork({ nodes: 1 });
    const directory = freshDir();
    const events: LedgerNodeEvent[] = [];
    const node = (): LedgerNode => new LedgerNode({ genesis: network.genesis, secretKey: network.secretKeys[0]!, ledgerDirectory: directory, listenHost: '127.0.0.1', listenPort: 0, emptyBlockDelayMs: 50, checkpointBlocks: 3, onEvent: (event) => events.push(event) });
    const publish = async (ledger: LedgerNode, keys: readonly string[]): Promise<number> => {
      let height = 0;
      for (const key of keys) {
        const { tx, payloads } = change(0, key);
        height = (await ledger.publish([tx], [payloads])).height;
      }
      return height;
    };
    const opened = (): Extract<LedgerNodeEvent, { kind: 'chain-opened' }> => events.filter((event) => event.kind === 'chain-opened').at(-1) as Extract<LedgerNodeEvent, { kind: 'chain-opened' }>;

    const first = node();
    await first.start();
    const firstHeight = await publish(first, ['a', 'b', 'c', 'd', 'e']);
    await first.stop();
    expect(readCheckpointFile(directory)).toMatchObject({ ok: true, checkpoint: { height: first.height } });

    const second = node();
    await second.start();
    expect(opened()).toMatchObject({ from: first.height, head: first.height });
    expect(second.committedOrigin('test:c')).toBeGreaterThan(0);
    expect(second.committedOrigin('test:e')).toBe(firstHeight);
    // Its next batch must name the last one as previous: with a wrong signer chain it would never commit.
    const secondHeight = await publish(second, ['f', 'g']);
    expect(secondHeight).toBeGreaterThan(firstHeight);
    await second.stop();

    // Without the file, and with a damaged one: the whole chain again, with the same answers.
    let head = second.height;
    for (const damage of ['remove', 'flip'] as const) {
      const path = join(directory, CHECKPOINT_FILE);
      if (damage === 'remove') rmSync(path);
      else {
        const bytes = readFileSync(path);
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
        writeFileSync(path, bytes);
      }
      const third = node();
      await third.start();
      expect(opened()).toMatchObject({ from: 0, head });
      if (damage === 'flip') expect(events.filter((event) => event.kind === 'checkpoint-ignored').at(-1)).toEqual({ kind: 'checkpoint-ignored', reason: 'its CRC does not match (damaged)' });
      expect(third.committedOrigin('test:a')).toBeGreaterThan(0);
      expect(third.committedOrigin('test:g')).toBe(secondHeight);
      await publish(third, [`h-${damage}`]);
      await third.stop();
      head = third.height;
      expect(readCheckpointFile(directory)).toMatchObject({ ok: true, checkpoint: { height: head } });
    }
    // A ledger directory copied from another partner: its checkpoint's origin index is not this node's.
    const written = readCheckpointFile(directory);
    if (written === null || !written.ok) throw new Error('no checkpoint after the last stop');
    writeFileSync(join(directory, CHECKPOINT_FILE), encodeCheckpoint({ ...written.checkpoint, node: { ...(written.checkpoint.node as object), partner: 'partner-7' } }));
    const copied = node();
    await copied.start();
    expect(opened()).toMatchObject({ from: 0, head });
    expect(events.filter((event) => event.kind === 'checkpoint-ignored').at(-1)).toEqual({ kind: 'checkpoint-ignored', reason: "it was written by partner-7's node (a ledger directory copied from a partner), not partner-0's" });
    await copied.stop();
    // Nothing committed, but the whole chain was replayed: the stop wrote a checkpoint of its own.
    expect(readCheckpointFile(directory)).toMatchObject({ ok: true, checkpoint: { height: head, node: { partner: 'partner-0' } } });
    expect(events.filter((event) => event.kind === 'checkpoint-write-failed')).toEqual([]);
    expect((await verifyLedger(directory)).violation).toBeUndefined();
  }, 60_000);
});
