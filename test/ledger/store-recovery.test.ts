// Goal: what power loss can leave behind — a partial last record, a zero- or garbage-filled tail, a stale
// or damaged index — reopens as the valid prefix; damage in the middle (later records intact) is refused,
// not silently cut. Method: write a real chain through the store, damage the files the way a crash would,
// reopen, and compare every block with what was appended.
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBlock, type Block } from '../../ledger/block.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { INDEX_FILE, SegmentBlockStore } from '../../ledger/store/segment-store.ts';
import { SEGMENT_FILE } from '../../ledger/store/segment-file.ts';
import { createTestNetwork, TestChainBuilder } from '../../ledger/testing/test-network.ts';
import { transactionId } from '../../ledger/transaction.ts';

let dir: string;
let blocks: Block[];

async function writeChain(count: number): Promise<number[]> {
  const builder = new TestChainBuilder(createTestNetwork({ nodes: 4 }), { payloadBytes: 300 });
  blocks = builder.blocks(count, 5);
  const store = await SegmentBlockStore.open(dir);
  const ends: number[] = [];
  let end = 0;
  for (const block of blocks) {
    await store.append(block, nodeHasher.sha256(block.headerBytes));
    end += 20 + encodeBlock(block).length;
    ends.push(end);
  }
  await store.close();
  return ends;
}

async function expectPrefix(store: SegmentBlockStore, height: number): Promise<void> {
  expect(store.head().height).toBe(height);
  for (let h = 1; h <= height; h++) expect(toHex(encodeBlock((await store.readBlock(h))!))).toBe(toHex(encodeBlock(blocks[h - 1]!)));
  if (height > 0) expect(toHex(store.head().hash)).toBe(toHex(nodeHasher.sha256(blocks[height - 1]!.headerBytes)));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'entente-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('segment store recovery', () => {
  it('cuts a partial last record at any length and keeps appending after it', async () => {
    const ends = await writeChain(12);
    const segment = await readFile(join(dir, SEGMENT_FILE));
    for (const cut of [ends[10]! + 1, ends[10]! + 19, ends[10]! + 20, ends[10]! + 200, ends[11]! - 1]) {
      await writeFile(join(dir, SEGMENT_FILE), segment.subarray(0, cut));
      const readOnly = await SegmentBlockStore.open(dir, { readOnly: true });
      expect(readOnly.tail.kind).toBe('torn-present');
      await readOnly.close();
      const store = await SegmentBlockStore.open(dir);
      expect(store.tail).toEqual({ kind: 'torn-truncated', offset: ends[10], bytes: cut - ends[10]! });
      await expectPrefix(store, 11);
      await store.append(blocks[11]!, nodeHasher.sha256(blocks[11]!.headerBytes));
      await expectPrefix(store, 12);
      await store.close();
    }
  });

  it('cuts a zero-filled or garbage tail left by power loss', async () => {
    await writeChain(6);
    await appendFile(join(dir, SEGMENT_FILE), new Uint8Array(8192));
    let store = await SegmentBlockStore.open(dir);
    expect(store.tail.kind).toBe('torn-truncated');
    await expectPrefix(store, 6);
    await store.close();
    await appendFile(join(dir, SEGMENT_FILE), Uint8Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff));
    store = await SegmentBlockStore.open(dir);
    await expectPrefix(store, 6);
    await store.close();
  });

  it('rebuilds a missing, stale or damaged index from the segment', async () => {
    await writeChain(8);
    const index = await readFile(join(dir, INDEX_FILE));
    for (const damaged of [new Uint8Array(0), index.subarray(0, 40), Buffer.concat([index, new Uint8Array(64).fill(0xab)]), Buffer.from(index).fill(0, 50, 60)]) {
      await writeFile(join(dir, INDEX_FILE), damaged);
      const store = await SegmentBlockStore.open(dir);
      await expectPrefix(store, 8);
      await store.close();
      expect(toHex(await readFile(join(dir, INDEX_FILE)))).toBe(toHex(index));
    }
  });

  it('refuses to open when a middle record is damaged and later records are intact', async () => {
    const ends = await writeChain(8);
    const segment = await readFile(join(dir, SEGMENT_FILE));
    segment[ends[3]! + 100]! ^= 0x01;
    await writeFile(join(dir, SEGMENT_FILE), segment);
    await writeFile(join(dir, INDEX_FILE), new Uint8Array(0));
    await expect(SegmentBlockStore.open(dir)).rejects.toThrow(/block 5 at byte \d+ .* is damaged .*later blocks follow/);
    const readOnly = await SegmentBlockStore.open(dir, { readOnly: true });
    expect(readOnly.head().height).toBe(4);
    expect(readOnly.tail.kind).toBe('torn-present');
    await readOnly.close();
  });

  it('appends and reads synchronously with the same durability and checks', async () => {
    await writeChain(4);
    const store = await SegmentBlockStore.open(dir);
    await store.truncateAfter(2);
    store.appendSync(blocks[2]!, nodeHasher.sha256(blocks[2]!.headerBytes));
    expect(() => store.appendSync(blocks[2]!, new Uint8Array(32))).toThrow(/head is 3/);
    expect(toHex(encodeBlock(store.readBlockSync(3)!))).toBe(toHex(encodeBlock(blocks[2]!)));
    expect(store.readBlockSync(4)).toBeNull();
    await store.close();
    const reopened = await SegmentBlockStore.open(dir);
    await expectPrefix(reopened, 3);
    await reopened.close();
  });

  it('locates transactions, truncates above a height and rejects out-of-order appends', async () => {
    await writeChain(5);
    const store = await SegmentBlockStore.open(dir);
    const id = transactionId(nodeHasher, blocks[3]!.transactionBytes[2]!);
    expect(await store.locateTransaction(id)).toEqual({ height: 4, index: 2 });
    expect(await store.locateTransaction(new Uint8Array(32))).toBeNull();
    await expect(store.append(blocks[1]!, new Uint8Array(32))).rejects.toThrow(/head is 5/);
    await store.truncateAfter(2);
    await expectPrefix(store, 2);
    expect(await store.locateTransaction(id)).toBeNull();
    await store.close();
    const reopened = await SegmentBlockStore.open(dir);
    await expectPrefix(reopened, 2);
    await reopened.close();
  });
});
