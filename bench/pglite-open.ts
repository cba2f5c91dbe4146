// `npm run bench:pglite-open`: what opening a PGlite database costs, the embedded default's share of a
// gateway's start (connectors/postgres/pglite-open.ts). Side by side, alternating round by round:
//   - a new database made by initdb (what every new database cost before the template);
//   - a new database loaded from the cached template of an empty one;
//   - reopening an existing database from its directory, with Entente's settings and, as the baseline,
//     with PGlite's defaults (shared_buffers 128 MB, which PGlite sets up at every start);
// each on disk (a gateway's `pglite:<dir>`) and the first two in memory (`pglite:memory`, the tests'),
// until the first query answers. One warm-up open first, so module loading is in no figure. The template
// lives in a temporary cache directory of the run's own. BENCH_ROUNDS (default 5).
// Writes bench/results/pglite-open-<date>.{json,md}.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { openPglite, type PgliteOrigin } from '../connectors/postgres/pglite-open.ts';
import { machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { percentiles, round } from './support/stats.ts';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);

interface Variant {
  readonly name: string;
  /** 'pglite defaults': PGlite.create as it comes, not openPglite. */
  readonly expected: PgliteOrigin | 'pglite defaults';
  /** The directory to open (null: in memory) and the cache to use, for this round. */
  readonly target: (folder: string, round: number) => { directory: string | null; cacheDirectory: string | null };
}

const variants: readonly Variant[] = [
  { name: 'new, initdb, on disk', expected: 'initdb', target: (folder, r) => ({ directory: join(folder, `initdb-${r}`), cacheDirectory: null }) },
  { name: 'new, from the template, on disk', expected: 'template', target: (folder, r) => ({ directory: join(folder, `template-${r}`), cacheDirectory: join(folder, 'cache') }) },
  { name: 'existing, reopened from disk', expected: 'existing', target: (folder, r) => ({ directory: join(folder, `template-${r}`), cacheDirectory: join(folder, 'cache') }) },
  { name: "existing, reopened from disk, PGlite's default settings", expected: 'pglite defaults', target: (folder, r) => ({ directory: join(folder, `template-${r}`), cacheDirectory: null }) },
  { name: 'new, initdb, in memory', expected: 'initdb', target: () => ({ directory: null, cacheDirectory: null }) },
  { name: 'new, from the template, in memory', expected: 'template', target: (folder) => ({ directory: null, cacheDirectory: join(folder, 'cache') }) },
];

async function timeOpen(directory: string | null, cacheDirectory: string | null, expected: Variant['expected']): Promise<number> {
  const started = performance.now();
  const { db, origin } =
    expected === 'pglite defaults' ? { db: await PGlite.create(directory ?? undefined), origin: expected } : await openPglite(directory, { cacheDirectory });
  await db.query('select 1');
  const elapsed = performance.now() - started;
  await db.close();
  if (origin !== expected) throw new Error(`expected a database opened by ${expected}, got ${origin}`);
  return elapsed;
}

async function main(): Promise<void> {
  const machine = machineFacts();
  const folder = await mkdtemp(join(tmpdir(), 'entente-bench-pglite-'));
  try {
    // Warm-up, which also writes the template the template variants load.
    await timeOpen(null, join(folder, 'cache'), 'initdb');
    const samples = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
    for (let r = 0; r < rounds; r += 1) {
      for (const variant of variants) {
        const { directory, cacheDirectory } = variant.target(folder, r);
        samples.get(variant.name)!.push(round(await timeOpen(directory, cacheDirectory, variant.expected)));
      }
      console.log(`round ${r + 1}: ${variants.map((variant) => `${variant.name} ${samples.get(variant.name)!.at(-1)} ms`).join('; ')}`);
    }
    const figures = variants.map((variant) => ({ variant: variant.name, ms: percentiles(samples.get(variant.name)!), samples: samples.get(variant.name)! }));
    const p50 = (name: string): number => figures.find((figure) => figure.variant === name)!.ms.p50;
    const ratios = {
      onDisk: round(p50('new, initdb, on disk') / p50('new, from the template, on disk')),
      inMemory: round(p50('new, initdb, in memory') / p50('new, from the template, in memory')),
      reopenSettings: round(p50("existing, reopened from disk, PGlite's default settings") / p50('existing, reopened from disk')),
    };
    const table = figures.map((figure) => `| ${figure.variant} | ${Math.min(...figure.samples)} / ${figure.ms.p50} / ${figure.ms.max} | ${figure.samples.join(', ')} |`);
    const summary = `A new database from the template opens ${ratios.onDisk}× as fast as by initdb on disk, ${ratios.inMemory}× in memory; an existing one ${ratios.reopenSettings}× as fast with Entente's settings as with PGlite's defaults (p50).`;
    console.log(summary);
    const markdown = [
      `# bench:pglite-open — ${new Date().toISOString()}`,
      '',
      machineLine(machine),
      '',
      `Opening a PGlite database until its first query answers, ${rounds} alternating rounds (ms).`,
      '',
      '| variant | min / p50 / max | samples |',
      '|---|---|---|',
      ...table,
      '',
      summary,
    ].join('\n');
    writeResultFiles('pglite-open', new Date().toISOString(), { machine, rounds, figures, ratios }, markdown);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

await main();
