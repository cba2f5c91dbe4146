// Shared by the simulator's test files: runs a seed range over a set of mixes and turns every failure
// into a line with the seed, the mix, what broke and the command that replays it.
import { mixForSeed, type FaultMix } from './fault-mixes.ts';
import { replayCommand, simulate, type PlantedBug, type SimResult } from './simulation.ts';

export interface SeedRun {
  readonly results: SimResult[];
  readonly failures: string[];
}

export function runSeeds(seedStart: number, count: number, mixes: readonly FaultMix[], plantedBug?: PlantedBug, stopAtFirstFailure = false): SeedRun {
  const results: SimResult[] = [];
  const failures: string[] = [];
  for (let seed = seedStart; seed < seedStart + count; seed++) {
    const result = simulate({ seed, mix: mixForSeed(seed, mixes), ...(plantedBug === undefined ? {} : { plantedBug }) });
    results.push(result);
    if (!result.ok) {
      failures.push(`seed ${seed} (${result.mix}): ${result.failure}\n  replay: ${replayCommand(seed, plantedBug)} --mix ${result.mix}`);
      if (stopAtFirstFailure) break;
    }
  }
  return { results, failures };
}
