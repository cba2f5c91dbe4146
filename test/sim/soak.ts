// The simulator soak: `npm run sim -- --seeds N [--seed-start S] [--mix NAME] [--plant BUG] [--verbose]`
// runs seeds S…S+N-1 (each seed picks its fault mix, see fault-mixes.ts), prints a line per failure with
// the replay command, and a summary. Exit code 1 when any seed fails.
// `--crash-all-after-precommit MS [--lose-valid-block]` adds the whole-network crash of simulation.ts
// (WholeNetworkCrash) to every seed.
import { FAULT_MIXES, mixForSeed } from './fault-mixes.ts';
import { replayCommand, simulate, type PlantedBug } from './simulation.ts';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? undefined : process.argv[index + 1];
}

const seeds = Number(option('seeds') ?? '1000');
const seedStart = Number(option('seed-start') ?? '1');
const mixName = option('mix');
const plantedBug = option('plant') as PlantedBug | undefined;
const verbose = process.argv.includes('--verbose');
const crashAfter = option('crash-all-after-precommit');
const wholeNetworkCrash = crashAfter === undefined ? undefined : { afterMs: Number(crashAfter), loseValidBlock: process.argv.includes('--lose-valid-block') };
const mixes = mixName === undefined ? FAULT_MIXES : FAULT_MIXES.filter((m) => m.name === mixName);
if (!Number.isSafeInteger(seeds) || seeds < 1 || !Number.isSafeInteger(seedStart) || mixes.length === 0 || (wholeNetworkCrash !== undefined && !(wholeNetworkCrash.afterMs >= 0))) {
  process.stderr.write(`usage: npm run sim -- --seeds N [--seed-start S] [--mix ${FAULT_MIXES.map((m) => m.name).join('|')}] [--plant skip-lock-check|send-before-persist] [--crash-all-after-precommit MS [--lose-valid-block]] [--verbose]\n`);
  process.exit(2);
}

const started = performance.now();
let failures = 0;
let heights = 0;
let txs = 0;
for (let seed = seedStart; seed < seedStart + seeds; seed++) {
  const result = simulate({ seed, mix: mixForSeed(seed, mixes), ...(plantedBug === undefined ? {} : { plantedBug }), ...(wholeNetworkCrash === undefined ? {} : { wholeNetworkCrash }) });
  heights += result.heights;
  txs += result.committedTxs;
  if (verbose || !result.ok) {
    process.stdout.write(`${result.ok ? 'ok  ' : 'FAIL'} seed ${seed} ${result.mix}: heights ${result.heights}, txs ${result.committedTxs}, events ${result.events}, virtual ${(result.virtualMs / 1000).toFixed(1)} s, crashes ${result.crashes}, evidence ${result.evidence}, rejected ${result.rejected}${result.ok ? '' : `\n     ${result.failure}\n     replay: ${replayCommand(seed, plantedBug, wholeNetworkCrash)}${mixName === undefined ? '' : ` --mix ${mixName}`}`}\n`);
  }
  if (!result.ok) failures += 1;
  if ((seed - seedStart + 1) % 1000 === 0) process.stdout.write(`… ${seed - seedStart + 1} seeds, ${failures} failed, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${seeds - failures} passed, ${failures} failed: seeds ${seedStart}…${seedStart + seeds - 1}, ${heights} heights and ${txs} transactions committed in ${seconds.toFixed(1)} s\n`);
process.exit(failures === 0 ? 0 : 1);
