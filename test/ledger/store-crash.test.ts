// Goal: an acknowledged block survives kill -9 at any moment, and the store always reopens as a valid
// prefix of what was appended, never corrupt. Method: 4 lanes in parallel, 50 cycles each (200 SIGKILLs):
// a bundled child process appends blocks of 1..60 transactions (records up to ~350 KB, so kills land in
// the middle of writes) and prints "ack h" after each durable append; the parent kills it after a random
// 15..215 ms, reopens the store, requires every acknowledged height to be present and every stored block
// to be byte-identical to the source; at the end each lane's store is opened read-write and verified from
// genesis with the validity rules. `npm run soak:ledger-crash` runs many more cycles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { SegmentBlockStore } from '../../ledger/store/segment-store.ts';
import { checkBlock, genesisState } from '../../ledger/validity.ts';
import { prepareCrashFixture, runKillLane, sourceBodyReader, type CrashFixture } from './support/crash-harness.ts';
import { join } from 'node:path';

const LANES = 4;
const KILLS_PER_LANE = 50;

describe('segment block store under SIGKILL', () => {
  let fixture: CrashFixture;
  beforeAll(async () => {
    const started = performance.now();
    fixture = await prepareCrashFixture(350, 7);
    console.log(`crash test: source chain built in ${Math.round(performance.now() - started)} ms`);
  }, 60_000);
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it(`keeps every acknowledged block through ${LANES * KILLS_PER_LANE} kills`, async () => {
    const source = await sourceBodyReader(fixture);
    try {
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: LANES }, (_, lane) => runKillLane(fixture, lane, KILLS_PER_LANE, 1000 + lane, source.read)));
      const kills = results.reduce((sum, r) => sum + r.kills, 0);
      const acked = results.reduce((sum, r) => sum + r.ackedBlocks, 0);
      const torn = results.reduce((sum, r) => sum + r.tornTails, 0);
      console.log(`crash test: ${kills} kills in ${Math.round(performance.now() - started)} ms, ${acked} acknowledged appends, ${torn} kills left a torn tail (recovered)`);
      expect(kills).toBeGreaterThanOrEqual(200);
      expect(acked).toBeGreaterThan(kills / 2);
      for (let lane = 0; lane < LANES; lane++) {
        const store = await SegmentBlockStore.open(join(fixture.workDir, `target-${lane}`));
        try {
          let state = genesisState(nodeHasher, fixture.network.genesis);
          for (let h = 1; h <= store.head().height; h++) {
            const result = checkBlock({ hasher: nodeHasher, verifier: ed25519Verifier }, state, (await store.readBlock(h))!);
            expect(result.ok).toBe(true);
            if (result.ok) state = result.state;
          }
          expect(store.tail.kind).not.toBe('torn-present');
        } finally {
          await store.close();
        }
      }
    } finally {
      await source.close();
    }
  }, 120_000);
});
