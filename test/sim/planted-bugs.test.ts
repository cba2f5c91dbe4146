// Goal: the simulator's checkers are not vacuous: a core that skips the lock check (Algorithm 1, lines
// 23 and 30) breaks agreement on some seed, and a disk that acknowledges writes before they are durable
// makes a restarted node sign conflicting messages on some seed.
// Method: run the same simulator with a planted bug (a wrapped step that forgets locks; a persist that
// acknowledges at once) over a bounded seed range and require a failure of the expected kind; then run
// the same seeds without the bug and require them to pass, so the failure is the bug's doing.
import { describe, expect, it } from 'vitest';
import { FAULT_MIXES } from './fault-mixes.ts';
import { runSeeds } from './run-seeds.ts';

const lockAttack = FAULT_MIXES.filter((mix) => mix.name === 'lock-attack-4');
const crashMixes = FAULT_MIXES.filter((mix) => mix.crashes && mix.nodes === 4);

describe('planted bugs are caught', () => {
  it('skipping the lock check breaks agreement on some seed, and the same seed passes without the bug', () => {
    const buggy = runSeeds(1, 150, lockAttack, 'skip-lock-check', true);
    expect(buggy.failures.length, 'no seed caught the planted bug').toBe(1);
    expect(buggy.failures[0]).toMatch(/agreement/);
    const seed = buggy.results.at(-1)!.seed;
    expect(runSeeds(seed, 1, lockAttack).failures).toEqual([]);
  }, 120_000);

  it('acknowledging a record before it is durable makes a restarted node sign twice on some seed', () => {
    const buggy = runSeeds(1, 150, crashMixes, 'send-before-persist', true);
    expect(buggy.failures.length, 'no seed caught the planted bug').toBe(1);
    expect(buggy.failures[0]).toMatch(/durability: honest node \d+ signed two different/);
    const seed = buggy.results.at(-1)!.seed;
    expect(runSeeds(seed, 1, crashMixes).failures).toEqual([]);
  }, 120_000);
});
