// Goal: the node runner's two files survive crashes as promised. The block log keeps every whole record
// and cuts off a torn tail (an append a kill interrupted); the consensus snapshot slots fall back to the
// previous write when the newest one is torn. Method: write real files in a temporary directory, damage
// them the way a crash would (truncate mid-record, corrupt the newest slot), reopen and compare.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEd25519Signer } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { createMembership } from '../../ledger/membership.ts';
import { RunnerChain, type RunnerBlock } from '../../ledger/node/runner-chain.ts';
import { SlotFile } from '../../ledger/node/slot-file.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'entente-runner-'));
  dirs.push(dir);
  return dir;
}

const membership = createMembership([{ partner: 'p0', publicKey: createEd25519Signer(new Uint8Array(32).fill(1)).publicKey }]);
const genesisId = 'ab'.repeat(32);

function chainIn(dir: string): RunnerChain {
  return new RunnerChain({ dataDirectory: dir, hasher: nodeHasher, genesisId, membership });
}

function appendBlocks(chain: RunnerChain, count: number): void {
  for (let i = 0; i < count; i++) {
    const height = chain.headHeight() + 1;
    const block: RunnerBlock = { height, parent: chain.headId(), proposer: 0, timeMs: height, txs: [new TextEncoder().encode(`tx ${height}`)] };
    expect(chain.isValidBlock(block, height, chain.headId())).toBe(true);
    chain.commitBlock(height, block, { height, round: 0, valueId: chain.blockId(block), votes: [] });
  }
}

describe('runner block log', () => {
  it('reopens with every whole block and truncates a torn tail', () => {
    const dir = tempDir();
    const chain = chainIn(dir);
    appendBlocks(chain, 5);
    const head = chain.headId();
    chain.close();
    const file = join(dir, 'blocks.log');
    const whole = statSync(file).size;
    appendFileSync(file, Buffer.from([0, 0, 1, 0, 9, 9, 9])); // a record header whose body never made it
    const reopened = chainIn(dir);
    expect(reopened.headHeight()).toBe(5);
    expect(reopened.headId()).toBe(head);
    expect(statSync(file).size).toBe(whole);
    expect(reopened.storedBlock(3)?.block.txs[0]).toEqual(new TextEncoder().encode('tx 3'));
    // A transaction already committed is refused in a later block (no duplicates across restarts).
    const dup: RunnerBlock = { height: 6, parent: reopened.headId(), proposer: 0, timeMs: 6, txs: [new TextEncoder().encode('tx 2')] };
    expect(reopened.isValidBlock(dup, 6, reopened.headId())).toBe(false);
    reopened.close();
  });

  it('stops at a block cut in the middle and keeps the ones before it', () => {
    const dir = tempDir();
    const chain = chainIn(dir);
    appendBlocks(chain, 4);
    chain.close();
    const file = join(dir, 'blocks.log');
    truncateSync(file, statSync(file).size - 5);
    const reopened = chainIn(dir);
    expect(reopened.headHeight()).toBe(3);
    appendBlocks(reopened, 2);
    reopened.close();
    expect(chainIn(dir).headHeight()).toBe(5);
  });
});

describe('consensus snapshot slots', () => {
  it('returns the newest intact write, and the previous one when the newest is torn', () => {
    const dir = tempDir();
    const slots = new SlotFile(dir, 'state');
    expect(slots.read()).toBeNull();
    slots.write(new TextEncoder().encode('first'));
    slots.write(new TextEncoder().encode('second'));
    slots.write(new TextEncoder().encode('third'));
    slots.close();
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('third');
    // 'third' went to slot 1 (seq 3 is odd); tear it.
    const newest = join(dir, 'state.1');
    const bytes = readFileSync(newest);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(newest, bytes);
    const reread = new SlotFile(dir, 'state');
    expect(new TextDecoder().decode(reread.read()!)).toBe('second');
    // The next write must not overwrite the intact 'second' (it goes to the torn slot's turn after seq 2).
    reread.write(new TextEncoder().encode('fourth'));
    expect(new TextDecoder().decode(new SlotFile(dir, 'state').read()!)).toBe('fourth');
  });

  it('discards the newest write on request: the one before it is read, and the next write replaces the discarded one', () => {
    const dir = tempDir();
    const slots = new SlotFile(dir, 'state');
    slots.write(new TextEncoder().encode('h4 precommit'));
    slots.write(new TextEncoder().encode('h5 propose')); // durable beside block 4, which a crash lost
    slots.close();
    const reopened = new SlotFile(dir, 'state');
    expect(reopened.readIntact().map((b) => new TextDecoder().decode(b))).toEqual(['h5 propose', 'h4 precommit']);
    reopened.discardNewest();
    expect(reopened.readIntact().map((b) => new TextDecoder().decode(b))).toEqual(['h4 precommit']);
    reopened.write(new TextEncoder().encode('h4 precommit, again'));
    // The write took the discarded slot's place: the restored record is still there beside it.
    expect(new SlotFile(dir, 'state').readIntact().map((b) => new TextDecoder().decode(b))).toEqual(['h4 precommit, again', 'h4 precommit']);
  });
});
