// `npm run bench`: runs every `bench:*` script in package.json one after another (never concurrently:
// they would measure each other), then gathers the result files they wrote into one dated summary,
// bench/results/<date>.json and .md, with the machine and Node version.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { resultStem } from './support/machine.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = `${root}bench/results`;
const date = new Date().toISOString().slice(0, 10);
const only = process.argv.slice(2);

const scripts = Object.keys((JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts)
  .filter((name) => name.startsWith('bench:'))
  .filter((name) => only.length === 0 || only.includes(name.slice('bench:'.length)))
  .sort();

interface Outcome {
  readonly script: string;
  readonly exitCode: number | null;
  readonly seconds: number;
  readonly result: unknown;
}

const outcomes: Outcome[] = [];
const runStarted = performance.now();
for (const script of scripts) {
  process.stdout.write(`\n=== npm run ${script} ===\n`);
  const started = performance.now();
  const run = spawnSync('npm', ['run', '-s', script], { cwd: root, stdio: 'inherit' });
  const seconds = (performance.now() - started) / 1000;
  const resultFile = `${resultsDir}/${resultStem(script.slice('bench:'.length), date)}.json`;
  const result: unknown = existsSync(resultFile) ? JSON.parse(readFileSync(resultFile, 'utf8')) : null;
  outcomes.push({ script, exitCode: run.status, seconds: Math.round(seconds * 10) / 10, result });
}

const totalMinutes = Math.round((performance.now() - runStarted) / 600) / 100;
/** Issue #12: the whole run must finish within this, so anyone can reproduce every figure in one sitting. */
const GOAL_MINUTES = 15;

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  os: `${platform()} ${release()}`,
  node: process.version,
  date,
};
mkdirSync(resultsDir, { recursive: true });
writeFileSync(`${resultsDir}/${resultStem('', date)}.json`, `${JSON.stringify({ machine, totalMinutes, goalMinutes: GOAL_MINUTES, benchmarks: outcomes }, null, 2)}\n`);
// The summary carries every figure: each benchmark's own markdown (percentiles, ratios, load) follows the table.
const details = outcomes.flatMap((o) => {
  const file = `${resultsDir}/${resultStem(o.script.slice('bench:'.length), date)}.md`;
  return existsSync(file) ? ['', '---', '', readFileSync(file, 'utf8').trim().replace(/^# /, '## ')] : [];
});
const lines = [
  `# Entente benchmarks, ${date}`,
  '',
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}.`,
  '',
  `Whole run: ${totalMinutes} min (goal: under ${GOAL_MINUTES} min — ${totalMinutes < GOAL_MINUTES ? 'met' : 'NOT met'}).`,
  '',
  '| benchmark | exit | seconds | results file |',
  '|---|---|---|---|',
  ...outcomes.map((o) => `| ${o.script} | ${o.exitCode} | ${o.seconds} | ${o.result === null ? '—' : `${resultStem(o.script.slice(6), date)}.json`} |`),
  '',
  'Each benchmark prints its own figures (percentiles, ratios against the baseline it runs in the same process) and',
  'writes them to the results file named above; their reports follow.',
  ...details,
];
writeFileSync(`${resultsDir}/${resultStem('', date)}.md`, `${lines.join('\n')}\n`);
process.stdout.write(`\nwhole run ${totalMinutes} min (goal < ${GOAL_MINUTES} min); wrote bench/results/${resultStem('', date)}.json and .md\n`);
if (outcomes.some((o) => o.exitCode !== 0)) process.exitCode = 1;
process.exitCode = outcomes.some((o) => o.exitCode !== 0) ? 1 : 0;
