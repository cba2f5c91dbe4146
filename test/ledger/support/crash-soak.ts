// Soak for the block store's crash safety: the CI crash test's kill cycles, for as long as you like.
// Usage: npm run soak:ledger-crash -- [kills=2000] [lanes=2] [seed]
import { prepareCrashFixture, runKillLane, sourceBodyReader } from './crash-harness.ts';

const kills = Number(process.argv[2] ?? 2000);
const lanes = Number(process.argv[3] ?? 2);
const seed = Number(process.argv[4] ?? Date.now() % 100_000);
const fixture = await prepareCrashFixture(800, seed);
const source = await sourceBodyReader(fixture);
const started = performance.now();
try {
  const results = await Promise.all(Array.from({ length: lanes }, (_, lane) => runKillLane(fixture, lane, Math.ceil(kills / lanes), seed * 31 + lane, source.read)));
  const sum = (pick: (r: (typeof results)[number]) => number): number => results.reduce((total, r) => total + pick(r), 0);
  process.stdout.write(`soak passed (seed ${seed}): ${sum((r) => r.kills)} kills, ${sum((r) => r.ackedBlocks)} acknowledged appends kept, ${sum((r) => r.tornTails)} torn tails recovered, ${sum((r) => r.resets)} store resets, ${Math.round((performance.now() - started) / 1000)} s\n`);
} finally {
  await source.close();
  await fixture.cleanup();
}
