// Goal: the two pieces of the node runner's fast path keep their promises. DurableWrites syncs a consensus
// snapshot beside the blocks written ahead of it, runs "durable" callbacks only after both fdatasyncs and
// never inside the call, answers block waiters only after the block sync, and writes no second snapshot
// while blocks before the first are still unsynced (so at most one snapshot is ever ahead of the blocks).
// CompactProposals lets a peer rebuild the proposer's block from its own mempool, byte for byte (same
// block id), and asks for exactly the transactions it lacks before it delivers anything.
// Method: DurableWrites over a block log whose sync the test completes by hand and real slot files;
// CompactProposals between two real RunnerChains with hand-filled mempools.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../support/eventually.ts';
import { createEd25519Signer } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { createMembership } from '../../ledger/membership.ts';
import { CompactProposals } from '../../ledger/node/compact-proposals.ts';
import type { ConsensusWire } from '../../ledger/node/consensus-wire.ts';
import { DurableWrites } from '../../ledger/node/durable-writes.ts';
import { RunnerChain, type RunnerBlock } from '../../ledger/node/runner-chain.ts';
import { SlotFile } from '../../ledger/node/slot-file.ts';
import { decodePayload, encodePayload } from '../../ledger/transport/peer-frames.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'entente-pipeline-'));
  dirs.push(dir);
  return dir;
}
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('DurableWrites', () => {
  it('syncs blocks and the snapshot that follows them side by side, and calls back only when both are durable', async () => {
    const events: string[] = [];
    let finishSync: (() => void) | null = null;
    const log = {
      unsynced: false,
      sync(): Promise<void> {
        this.unsynced = false;
        events.push('blocks sync started');
        return new Promise<void>((resolve) => {
          finishSync = () => {
            events.push('blocks synced');
            resolve();
          };
        });
      },
    };
    const dir = tempDir();
    const snapshots = new SlotFile(dir, 'state');
    const writes = new DurableWrites(log, snapshots, new SlotFile(dir, 'valid'));
    log.unsynced = true; // a block was written
    writes.afterBlocks(() => events.push('client acknowledged'));
    writes.writeSnapshot(new TextEncoder().encode('h2'), () => events.push('snapshot durable'));
    expect(events).toEqual([]); // nothing runs inside the calls
    await tick();
    expect(events).toEqual(['blocks sync started']);
    expect(new TextDecoder().decode(snapshots.read()!)).toBe('h2'); // written beside the block sync
    // A later snapshot (and a block after it) wait for this pass: it must not replace the older slot
    // while block 1 may still be lost.
    log.unsynced = true;
    writes.writeSnapshot(new TextEncoder().encode('h3'), () => events.push('second snapshot durable'));
    for (let i = 0; i < 5; i++) await tick();
    expect(events).toEqual(['blocks sync started']); // the first snapshot's fdatasync is done, the blocks' is not
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('h2');
    finishSync!();
    // The snapshot's fdatasync is real I/O: wait for it, not for a number of event-loop turns (5 turns
    // were not enough in a loaded CI run).
    await until(() => events.length >= 5, 10_000, 1);
    expect(events.slice(0, 5)).toEqual(['blocks sync started', 'blocks synced', 'client acknowledged', 'snapshot durable', 'blocks sync started']);
    finishSync!();
    await writes.idle();
    expect(events.slice(5)).toEqual(['blocks synced', 'second snapshot durable']);
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('h3');
  });

  it('lets a snapshot join a pass whose block sync is on its way, unless a block was written since it began', async () => {
    const events: string[] = [];
    const finishes: (() => void)[] = [];
    const log = {
      unsynced: false,
      sync(): Promise<void> {
        this.unsynced = false;
        return new Promise<void>((resolve) => finishes.push(resolve));
      },
    };
    const dir = tempDir();
    const writes = new DurableWrites(log, new SlotFile(dir, 'state'), new SlotFile(dir, 'valid'));
    log.unsynced = true; // block 1, with a client waiting for it
    writes.afterBlocks(() => events.push('client acknowledged'));
    await tick();
    expect(finishes).toHaveLength(1);
    writes.writeSnapshot(new TextEncoder().encode('h2 prevote'), () => events.push('h2 prevote durable'));
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('h2 prevote'); // joined at once
    for (let i = 0; i < 5; i++) await tick();
    expect(events).toEqual([]); // its own fdatasync may be done; the block's is not
    log.unsynced = true; // block 2 written while block 1 syncs: a snapshot now may follow it, so it waits
    writes.writeSnapshot(new TextEncoder().encode('h3 prevote'), () => events.push('h3 prevote durable'));
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('h2 prevote');
    finishes[0]!();
    await until(() => finishes.length >= 2 && events.length >= 2, 10_000, 1);
    expect(events).toEqual(['client acknowledged', 'h2 prevote durable']);
    finishes[1]!();
    await writes.idle();
    expect(events).toEqual(['client acknowledged', 'h2 prevote durable', 'h3 prevote durable']);
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('h3 prevote');
  });

  it('covers several snapshots queued during one sync with one write of the newest', async () => {
    const dir = tempDir();
    const writes = new DurableWrites({ unsynced: false, sync: () => Promise.resolve() }, new SlotFile(dir, 'state'), new SlotFile(dir, 'valid'));
    const done: number[] = [];
    for (let i = 1; i <= 5; i++) writes.writeSnapshot(new TextEncoder().encode(`r${i}`), () => done.push(i));
    await writes.idle();
    expect(done).toEqual([1, 2, 3, 4, 5]);
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('r5');
  });
});

describe('DurableWrites, work asked for as a pass ends', () => {
  // A durable callback that settles a promise: the code awaiting it runs before the loop's own promise
  // settles. A snapshot asked for there was once left unwritten (the loop still counted as running, so it
  // was not started again, and it had already decided to stop): a one-node network never committed its
  // second block, and a larger one waited for some other write to start the loop.
  it.each([false, true])('writes a snapshot asked for by code that awaited the previous one (groupTurn %s)', async (groupTurn) => {
    const dir = tempDir();
    const writes = new DurableWrites({ unsynced: false, sync: () => Promise.resolve() }, new SlotFile(dir, 'state'), new SlotFile(dir, 'valid'), { groupTurn });
    let firstDurable!: () => void;
    const first = new Promise<void>((resolve) => (firstDurable = resolve));
    writes.writeSnapshot(new TextEncoder().encode('h1 precommit'), () => firstDurable());
    await first;
    let second = false;
    writes.writeSnapshot(new TextEncoder().encode('h2 proposal'), () => (second = true));
    // Not writes.idle(): it starts the loop itself. The slot's fdatasync takes real time.
    for (let i = 0; i < 200 && !second; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(second).toBe(true);
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('h2 proposal');
  });
});

describe('DurableWrites after a failed sync', () => {
  // A failed fdatasync may have dropped dirty pages: nothing after it may be acknowledged, and the process
  // must end. idle() (a stopping node) once awaited the settled loop in a microtask loop that kept the
  // process from ever reaching the throw that ends it.
  it('acknowledges nothing more, ends the process, and lets idle() answer', async () => {
    const dir = tempDir();
    const fatal: unknown[] = [];
    const failing = { unsynced: true, sync: () => Promise.reject(new Error('EIO: fdatasync failed')) };
    const writes = new DurableWrites(failing, new SlotFile(dir, 'state'), new SlotFile(dir, 'valid'), { fatal: (error) => fatal.push(error) });
    const done: string[] = [];
    writes.writeSnapshot(new TextEncoder().encode('h2 prevote'), () => done.push('h2 prevote'));
    await expect(writes.idle()).rejects.toThrow('EIO: fdatasync failed');
    expect(fatal).toHaveLength(1);
    writes.writeSnapshot(new TextEncoder().encode('h2 precommit'), () => done.push('h2 precommit'));
    writes.afterBlocks(() => done.push('block'));
    for (let i = 0; i < 5; i++) await tick();
    expect(done).toEqual([]);
    expect(fatal).toHaveLength(1);
  });
});

describe('DurableWrites, snapshots nothing waits for', () => {
  it('leaves them for the next awaited snapshot to cover, and writes them when asked to be idle', async () => {
    const dir = tempDir();
    const writes = new DurableWrites({ unsynced: false, sync: () => Promise.resolve() }, new SlotFile(dir, 'state'), new SlotFile(dir, 'valid'));
    const done: string[] = [];
    writes.writeSnapshot(new TextEncoder().encode('h2 start'), () => done.push('h2 start'), false);
    for (let i = 0; i < 5; i++) await tick();
    expect(done).toEqual([]);
    expect(new SlotFile(dir, 'state').read()).toBeNull(); // not written by itself
    writes.writeSnapshot(new TextEncoder().encode('h2 prevote'), () => done.push('h2 prevote'));
    await writes.idle();
    expect(done).toEqual(['h2 start', 'h2 prevote']);
    expect(new SlotFile(dir, 'state').readIntact().map((b) => new TextDecoder().decode(b))).toEqual(['h2 prevote']);
    writes.writeSnapshot(new TextEncoder().encode('h3 start'), () => done.push('h3 start'), false);
    await writes.idle(); // shutting down: written after all
    expect(done).toEqual(['h2 start', 'h2 prevote', 'h3 start']);
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('h3 start');
  });
});

describe('CompactProposals', () => {
  const membership = createMembership([0, 1].map((i) => ({ partner: `p${i}`, publicKey: createEd25519Signer(new Uint8Array(32).fill(i + 1)).publicKey })));
  const genesisId = 'cd'.repeat(32);
  const txs = Array.from({ length: 5 }, (_, i) => new TextEncoder().encode(`tx ${i} ${'x'.repeat(1000)}`));

  it('rebuilds the proposed block from the mempool, asking the proposer for the missing transactions', () => {
    const proposerChain = new RunnerChain({ dataDirectory: tempDir(), hasher: nodeHasher, genesisId, membership });
    const peerChain = new RunnerChain({ dataDirectory: tempDir(), hasher: nodeHasher, genesisId, membership });
    const proposerPool = new Map(txs.map((tx) => [proposerChain.txId(tx), tx]));
    const peerPool = new Map(txs.slice(0, 3).map((tx) => [peerChain.txId(tx), tx.slice()]));
    const toPeer: unknown[] = [];
    const toProposer: unknown[] = [];
    const delivered: ConsensusWire[] = [];
    const proposer = new CompactProposals({ chain: proposerChain, mempool: proposerPool, txsPerMessageMax: 2, send: (_to, value) => toPeer.push(decodePayload(encodePayload(value))), deliver: () => undefined });
    const peer = new CompactProposals({ chain: peerChain, mempool: peerPool, txsPerMessageMax: 2, send: (_to, value) => toProposer.push(decodePayload(encodePayload(value))), deliver: (_from, wire) => delivered.push(wire) });

    const block: RunnerBlock = { height: 1, parent: genesisId, proposer: 0, timeMs: 1, txs: [...proposerPool.values()] };
    proposer.builtBlock(block, [...proposerPool.keys()]);
    const valueId = proposerChain.blockId(block);
    const full: ConsensusWire = { type: 'proposal', message: { kind: 'proposal', height: 1, round: 0, valueId, validRound: -1, sender: 0, signature: 'ef'.repeat(64) }, block: proposerChain.encodeBlock(block), justification: [] };
    const sent = decodePayload(encodePayload(proposer.outgoing(full)));
    expect((sent as { type: string }).type).toBe('compact-proposal');
    expect(encodePayload(sent).length).toBeLessThan(encodePayload(full).length / 2);

    expect(peer.receive(0, sent)).toBe(true);
    expect(delivered).toEqual([]);
    expect(toProposer).toHaveLength(1);
    expect((toProposer[0] as { ids: Uint8Array }).ids.length).toBe(2 * 32); // exactly the two it lacks

    proposer.receive(1, toProposer[0]);
    expect(toPeer).toHaveLength(1); // two transactions, at most two per message
    for (const tx of (toPeer[0] as { txs: Uint8Array[] }).txs) peerPool.set(peerChain.txId(tx), new Uint8Array(tx));
    peer.transactionsArrived();
    expect(delivered).toHaveLength(1);
    const rebuilt = delivered[0]!;
    expect(rebuilt.type).toBe('proposal');
    if (rebuilt.type !== 'proposal') return;
    expect(rebuilt.block).toEqual(full.block);
    const decoded = peerChain.decodeBlock(rebuilt.block)!;
    expect(peerChain.blockId(decoded)).toBe(valueId);
    expect(peerChain.isValidBlock(decoded, 1, genesisId)).toBe(true);
    proposerChain.close();
    peerChain.close();
  });

  it('sends blocks it did not build in full, and drops malformed compact proposals', () => {
    const chain = new RunnerChain({ dataDirectory: tempDir(), hasher: nodeHasher, genesisId, membership });
    const delivered: ConsensusWire[] = [];
    const compact = new CompactProposals({ chain, mempool: new Map(), txsPerMessageMax: 2, send: () => undefined, deliver: (_from, wire) => delivered.push(wire) });
    const wire: ConsensusWire = { type: 'proposal', message: { kind: 'proposal', height: 1, round: 0, valueId: 'ab'.repeat(32), validRound: -1, sender: 1, signature: 'ef'.repeat(64) }, block: Uint8Array.of(1), justification: [] };
    expect(compact.outgoing(wire)).toBe(wire);
    expect(compact.receive(1, { type: 'compact-proposal', height: 1, parent: 'zz', proposer: 0, timeMs: 0, ids: new Uint8Array(31), message: {} })).toBe(true);
    expect(compact.receive(1, { type: 'vote' })).toBe(false);
    expect(delivered).toEqual([]);
    chain.close();
  });
});
