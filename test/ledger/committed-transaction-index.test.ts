// The persistent committed-transaction index answers exactly as a Map of every committed id would, from
// its recent table and its sealed run files alike, across reopening; a run that is damaged, left over
// from a crash or beyond the stored head is dropped and rebuilt from the blocks, never trusted.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTransactionIndex, PersistentTransactionIndex, type TransactionLocation } from '../../ledger/store/committed-transaction-index.ts';
import { ENTRY_WORDS, sortedOrder } from '../../ledger/store/transaction-run-file.ts';

const randomId = (): string => randomBytes(32).toString('hex');

/** A chain's worth of ids: block h holds (h % 7) ids (some blocks none). */
function chainOfIds(blocks: number): string[][] {
  return Array.from({ length: blocks }, (_, i) => Array.from({ length: (i + 1) % 7 }, randomId));
}

function expectExact(index: { locate(id: string): TransactionLocation | null; get(id: string): number | undefined }, chain: readonly string[][]): void {
  chain.forEach((ids, i) => ids.forEach((id, position) => {
    expect(index.locate(id)).toEqual({ height: i + 1, index: position });
    expect(index.get(Buffer.from(id, 'hex') as unknown as string)).toBe(i + 1);
  }));
}

const directories: string[] = [];
function freshDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'entente-txindex-'));
  directories.push(directory);
  return directory;
}
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** A stand-in for block hashes: the same for the same chain name and height. */
const hashAt = (height: number, chainName = 'main'): Uint8Array => createHash('sha256').update(`${chainName}:${height}`).digest();

function openAndReplay(directory: string, chain: readonly string[][], runEntries: number, dropped: string[] = [], chainName = 'main'): PersistentTransactionIndex {
  const index = PersistentTransactionIndex.open(directory, { headHeight: chain.length, blockHash: (height) => hashAt(height, chainName), runEntries, onDroppedRun: (file, reason) => dropped.push(`${file}: ${reason}`) });
  chain.forEach((ids, i) => index.add(i + 1, ids, hashAt(i + 1, chainName))); // what LedgerChain.open does: every stored block
  return index;
}

describe('PersistentTransactionIndex', () => {
  it('answers exactly for present and absent ids from runs and the recent table, and again after reopening', async () => {
    const directory = freshDirectory();
    const chain = chainOfIds(3_000); // 8,998 ids
    const total = chain.flat().length;
    const index = openAndReplay(directory, chain, 500);
    expect(index.size).toBe(total);
    expect(index.runCount).toBe(17); // a run is sealed after the block that brings the table to 500 ids
    expect(index.flushedHeight).toBeGreaterThan(2_800);
    const sealed = index.size - chain.slice(index.flushedHeight).flat().length;
    expectExact(index, chain);
    for (let i = 0; i < 20_000; i++) expect(index.has(randomId())).toBe(false);
    // Not transaction ids at all: no answer, no throw.
    expect(index.locate('not an id')).toBeNull();
    expect(index.locate('A'.repeat(64))).toBeNull();
    await index.close();

    const reopened = PersistentTransactionIndex.open(directory, { headHeight: chain.length, blockHash: hashAt, runEntries: 500 });
    expect(reopened.runCount).toBe(17);
    expect(reopened.size).toBe(sealed); // the runs; the replay below adds the rest
    chain.forEach((ids, i) => reopened.add(i + 1, ids, hashAt(i + 1)));
    expect(reopened.size).toBe(total);
    expectExact(reopened, chain);
    await reopened.close();
  });

  /** A chain indexed in runs of 500, then closed as a node's stop closes it: its recent ids in a short run. */
  async function stoppedWithShortRun(chain: readonly string[][]): Promise<{ directory: string; fullRuns: number; recentIds: number }> {
    const directory = freshDirectory();
    const first = openAndReplay(directory, chain, 500);
    const stopped = { directory, fullRuns: first.runCount, recentIds: first.recentSize };
    await first.close({ keepRecent: true });
    return stopped;
  }

  it('keeps the ids a stop held in memory in a short run, which the next open takes back (their blocks are not read again) and removes', async () => {
    const chain = chainOfIds(1_000);
    const { directory, fullRuns, recentIds } = await stoppedWithShortRun(chain);
    expect(recentIds).toBeGreaterThan(0);
    expect(readdirSync(directory)).toHaveLength(fullRuns + 1);

    const options = { headHeight: chain.length, blockHash: (height: number) => hashAt(height), runEntries: 500 };
    const reopened = PersistentTransactionIndex.open(directory, options);
    expect(reopened.openedHeight).toBe(chain.length);
    expect(reopened.runCount).toBe(fullRuns);
    expect(reopened.recentSize).toBe(recentIds);
    // Taken back: it would otherwise stay a short run in front of every later one.
    expect(readdirSync(directory)).toHaveLength(fullRuns);
    expectExact(reopened, chain);
    // Blocks at or below openedHeight are not added again (LedgerChain.open starts above it; a replay from genesis is ignored there).
    chain.forEach((ids, i) => reopened.add(i + 1, ids, hashAt(i + 1)));
    expect(reopened.size).toBe(chain.flat().length);
    // The chain goes on: full runs follow from where the last one ended, and a restart after them still answers exactly.
    const longer = [...chain, ...chainOfIds(600)];
    longer.slice(chain.length).forEach((ids, i) => reopened.add(chain.length + i + 1, ids, hashAt(chain.length + i + 1)));
    expect(reopened.runCount).toBeGreaterThan(fullRuns);
    await reopened.close({ keepRecent: true });
    const third = PersistentTransactionIndex.open(directory, { ...options, headHeight: longer.length });
    expect(third.openedHeight).toBe(longer.length);
    expectExact(third, longer);
    expect(third.has(randomId())).toBe(false);
    await third.close();
    // A stop without keepRecent (a crash, say) leaves only the full runs: their blocks are indexed again.
    const fourth = PersistentTransactionIndex.open(directory, { ...options, headHeight: longer.length });
    expect(fourth.openedHeight).toBe(fourth.flushedHeight);
    expect(fourth.openedHeight).toBeLessThan(longer.length);
    longer.forEach((ids, i) => fourth.add(i + 1, ids, hashAt(i + 1)));
    expectExact(fourth, longer);
    await fourth.close();
  });

  it('indexes the blocks of a stop\'s short run again when a page of it is damaged', async () => {
    const chain = chainOfIds(1_000);
    const { directory, fullRuns } = await stoppedWithShortRun(chain);
    const short = readdirSync(directory).sort().at(-1)!;
    const path = join(directory, short);
    const bytes = readFileSync(path);
    bytes[bytes.length - 10]! ^= 0xff; // inside the last page
    writeFileSync(path, bytes);
    const dropped: string[] = [];
    const index = PersistentTransactionIndex.open(directory, { headHeight: chain.length, blockHash: (height) => hashAt(height), runEntries: 500, onDroppedRun: (file, reason) => dropped.push(`${file}: ${reason}`) });
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatch(new RegExp(`^${short}: page \\d+ of the transaction index run .* is damaged`));
    expect(index.openedHeight).toBe(index.flushedHeight);
    expect(index.recentSize).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(index.runCount).toBe(fullRuns);
    chain.forEach((ids, i) => index.add(i + 1, ids, hashAt(i + 1)));
    expectExact(index, chain);
    await index.close();
  });

  it('drops a damaged run and every later one, and the replay rebuilds them', async () => {
    const directory = freshDirectory();
    const chain = chainOfIds(1_000);
    await openAndReplay(directory, chain, 400).close();
    const runs = readdirSync(directory).sort();
    expect(runs.length).toBe(7);
    const damaged = join(directory, runs[2]!);
    const bytes = readFileSync(damaged);
    bytes[100]! ^= 0xff; // inside the Bloom filter (after the 96-byte header), which its CRC covers
    writeFileSync(damaged, bytes);
    writeFileSync(join(directory, `${runs[6]}.tmp`), 'a run whose write was interrupted');

    const dropped: string[] = [];
    const index = openAndReplay(directory, chain, 400, dropped);
    expect(dropped).toEqual([`${runs[2]}: filter checksum mismatch`, ...runs.slice(3).map((name) => `${name}: follows the dropped run ${runs[2]}`)]);
    expect(readdirSync(directory).some((name) => name.endsWith('.tmp'))).toBe(false);
    expect(index.runCount).toBe(7);
    expectExact(index, chain);
    await index.close();
  });

  it('drops runs beyond the stored head (a store that lost blocks) and answers only for the blocks it holds', async () => {
    const directory = freshDirectory();
    const chain = chainOfIds(600);
    await openAndReplay(directory, chain, 300).close();
    const dropped: string[] = [];
    const shorter = chain.slice(0, 250);
    const index = openAndReplay(directory, shorter, 300, dropped);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped[0]).toMatch(/above the stored head 250/);
    expectExact(index, shorter);
    for (const ids of chain.slice(250)) for (const id of ids) expect(index.has(id)).toBe(false);
    await index.close();
  });

  it('drops runs written for another chain (the blocks of another network beside them), and rebuilds them from these blocks', async () => {
    const directory = freshDirectory();
    const chain = chainOfIds(600);
    await openAndReplay(directory, chain, 300).close();
    const runs = readdirSync(directory).sort();
    const dropped: string[] = [];
    const other = chainOfIds(600);
    const index = openAndReplay(directory, other, 300, dropped, 'other');
    expect(dropped[0]).toBe(`${runs[0]}: it was written for another chain: block ${runs[0]!.slice(17, 29).replace(/^0+/, '')}'s hash differs`);
    expect(dropped).toHaveLength(runs.length);
    expectExact(index, other);
    for (const ids of chain) for (const id of ids) expect(index.has(id)).toBe(false);
    await index.close();
  });

  it('says which file to delete when a page of a run is damaged', async () => {
    const directory = freshDirectory();
    const chain = chainOfIds(200);
    await openAndReplay(directory, chain, 10_000).close(); // nothing sealed yet (fewer ids than a run)
    expect(readdirSync(directory)).toEqual([]);
    const sealing = openAndReplay(directory, chain, 100);
    await sealing.close();
    const run = readdirSync(directory).sort()[0]!;
    const path = join(directory, run);
    const bytes = readFileSync(path);
    bytes[bytes.length - 10]! ^= 0xff; // inside the last page
    writeFileSync(path, bytes);
    const index = PersistentTransactionIndex.open(directory, { headHeight: chain.length, blockHash: hashAt, runEntries: 100 });
    const probeAll = (): void => {
      for (const ids of chain) for (const id of ids) index.has(id);
    };
    expect(probeAll).toThrow(new RegExp(`transaction index run .*${run} is damaged; stop the gateway and delete that file`));
    await index.close();
    expect(existsSync(path)).toBe(true);
  });

  it('writes runs off the event loop once serving, answering their ids from memory meanwhile; a failed write loses nothing and is retried later', async () => {
    const directory = freshDirectory();
    const failures: string[] = [];
    const index = PersistentTransactionIndex.open(directory, { headHeight: 0, blockHash: hashAt, runEntries: 100, onSealFailed: (file, reason) => failures.push(`${file}: ${reason}`) });
    index.serving();
    const chain = chainOfIds(120); // 357 ids
    let height = 0;
    const addBlocks = (count: number): void => {
      for (let n = 0; n < count; n++, height++) index.add(height + 1, chain[height]!, hashAt(height + 1));
    };
    addBlocks(35); // past 100 ids: a run is being written
    expect(index.runCount).toBe(0);
    expectExact(index, chain.slice(0, height));
    await index.idle();
    expect(index.runCount).toBe(1);
    expectExact(index, chain.slice(0, height));

    rmSync(directory, { recursive: true }); // the next write fails
    addBlocks(35);
    await index.idle();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/ENOENT/);
    expect(index.runCount).toBe(1);
    expectExact(index, chain.slice(0, height)); // nothing lost
    mkdirSync(directory);
    addBlocks(50); // another run's worth later, the write is tried again and holds everything since the last run
    await index.idle();
    expect(index.runCount).toBe(2);
    expect(failures).toHaveLength(1);
    expectExact(index, chain.slice(0, height));
    await index.close();
    expect(readdirSync(directory).filter((name) => name.endsWith('.txr'))).toHaveLength(1);
  });

  it('sorts ids exactly as a comparison sort does, ties of the bucket word included', () => {
    const count = 5_000;
    const packed = new Uint32Array(count * ENTRY_WORDS).map(() => Math.floor(Math.random() * 2 ** 32));
    for (let i = 0; i < 200; i++) packed[i * ENTRY_WORDS] = 0xabcd0000 + (i % 3); // one crowded bucket
    const order = Array.from(sortedOrder(packed, count));
    const expected = Array.from({ length: count }, (_, i) => i).sort((a, b) => {
      for (let w = 0; w < 8; w++) if (packed[a * ENTRY_WORDS + w] !== packed[b * ENTRY_WORDS + w]) return packed[a * ENTRY_WORDS + w]! - packed[b * ENTRY_WORDS + w]!;
      return 0;
    });
    expect(order).toEqual(expected);
  });
});

describe('MemoryTransactionIndex', () => {
  it('refuses, before the block is stored, more ids than its cap', () => {
    const index = new MemoryTransactionIndex(10);
    index.add(1, [randomId(), randomId()]);
    expect(() => index.reserve(8)).not.toThrow();
    expect(() => index.reserve(9)).toThrow(/more than 10 committed transactions in the in-memory index/);
  });
});
