// Goal: safety and liveness of the consensus hold on a 7-node network under every fault mix: loss, delay,
// duplication, reordering, partitions, crashes with lost unsynced writes, clock skew and f Byzantine nodes.
// Method: the deterministic simulator (test/sim/simulation.ts) runs the real host and core for 300 (4 nodes) or 200 (7 nodes) seeds,
// cycling through the 7-node fault mixes; its checkers (agreement, validity, chain integrity, durability,
// evidence, liveness after heal) run after every step. A failure names the seed and the replay command.
import { describe, expect, it } from 'vitest';
import { FAULT_MIXES } from './fault-mixes.ts';
import { runSeeds } from './run-seeds.ts';

const SEEDS = 200;

describe('simulator, 7 nodes', () => {
  it(`passes ${SEEDS} seeds across the fault mixes`, () => {
    const mixes = FAULT_MIXES.filter((mix) => mix.nodes === 7);
    const { results, failures } = runSeeds(1, SEEDS, mixes);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(results).toHaveLength(SEEDS);
    // Every mix ran, and the network did real work (not a vacuous pass).
    expect(new Set(results.map((r) => r.mix)).size).toBe(mixes.length);
    expect(results.reduce((sum, r) => sum + r.committedTxs, 0)).toBeGreaterThan(SEEDS * 10);
    expect(results.filter((r) => r.crashes > 0).length).toBeGreaterThan(0);
    expect(results.filter((r) => r.evidence > 0).length).toBeGreaterThan(0);
    expect(results.filter((r) => r.rejected > 0).length).toBeGreaterThan(0);
  }, 240_000);
});
