// `npm run bench:memory`: does each gateway's memory level off under steady load, or keep growing? The
// network of bench:gateway (acme on PostgreSQL, cargo on PostgreSQL, bolt on PGlite) takes mutations on
// acme at a fixed rate (syncMode LEDGER) for a few minutes. The gateways run with `node --trace-gc`, and
// each full (mark-compact) collection reports the heap it left: what was live then (heap in use read at
// other times also holds old-generation garbage waiting for the next full collection). The growth is the
// least-squares slope of the live heap over the full collections after the warm-up, in MiB per hour and
// in bytes per committed mutation, over the whole run and over its second half (lower when caches have
// reached their caps). Each gateway's resident set is sampled too.
//
// What grew (heap snapshots, 2026-11-29): the index of every committed transaction id on every gateway
// (ledger/node/ledger-chain.ts, committedTxs), then a typed-array table outside the V8 heap, since
// 2026-11-29 recent ids only, older ones in run files (ledger/store/committed-transaction-index.ts),
// the owner's index of its own committed origins (ledger/node/ledger-node.ts, now the newest 65,536
// capture origins only), and until their caps the verified batch seals (VERIFIED_SEALS_MAX) and recent
// write answers. The figure to watch is how it moves between commits: BENCH_BASELINE=<git ref> runs
// that commit first, in the same run, and prints both. BENCH_RATE (default 200 mutations/s),
// BENCH_MINUTES per variant (default 3). Writes bench/results/memory-<date>.{json,md}.
import { baselineTree } from './support/baseline-tree.ts';
import { benchCapture, benchPartners, startBenchNetwork, type BenchPartner, type MajorCollection } from './support/bench-network.ts';
import { checkoutLabel } from './support/checkout.ts';
import { postGraphql } from './support/http-client.ts';
import { paced } from './support/load.ts';
import { loadAverageNow, machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { round } from './support/stats.ts';

const rate = Number(process.env['BENCH_RATE'] ?? 200);
const minutes = Number(process.env['BENCH_MINUTES'] ?? 3);
const baselineRef = process.env['BENCH_BASELINE'];
/** Failed mutations tolerated, as a share of those made (an 8-minute run at 400/s once lost 13 of 192,000 to ECONNRESET). */
const ERRORS_SHARE_MAX = 0.001;
const SAMPLE_MS = 5_000;
/** The first minute is left out of the slope: V8 compiles, pools and caches fill, the snapshot settles. */
const WARM_UP_MS = 60_000;
const MiB = 2 ** 20;

const mutation = 'mutation($customer: String!) { createOrder(input: { customer: $customer, status: "shipped", total: "10.00" }, syncMode: LEDGER) { order { id } ledgerHeight } }';

interface Sample {
  readonly atMs: number;
  readonly rssMiB: number;
}

interface GatewayGrowth {
  /** Full collections after the warm-up, and the live heap the first and the last of them left. */
  readonly fullCollections: number;
  readonly liveHeapFirstMiB: number;
  readonly liveHeapLastMiB: number;
  readonly heapGrowthMiBPerHour: number;
  readonly heapGrowthBytesPerMutation: number;
  /** The same slope over the second half of the measured time only: lower when caches reached their caps. */
  readonly secondHalfBytesPerMutation: number;
  /** Every full collection after the warm-up: [seconds since the load started, live heap MiB]. */
  readonly liveHeapMiB: readonly (readonly [number, number])[];
  readonly rssFirstMiB: number;
  readonly rssLastMiB: number;
}

interface VariantResult {
  readonly variant: string;
  readonly label: string;
  readonly mutations: number;
  readonly mutationsPerSecond: number;
  readonly p50Ms: number;
  readonly gateways: Readonly<Record<BenchPartner, GatewayGrowth>>;
}

/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  const covariance = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const variance = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return variance === 0 ? 0 : covariance / variance;
}

function growthOf(collections: readonly MajorCollection[], samples: readonly Sample[], startedAt: number, mutationsPerSecond: number): GatewayGrowth {
  const points = collections.filter((c) => c.atMs - startedAt >= WARM_UP_MS).map((c) => [c.atMs - startedAt, c.heapAfterMiB * MiB] as const);
  if (points.length < 3) throw new Error(`${points.length} full collections after the warm-up, too few for a slope: raise BENCH_MINUTES`);
  const bytesPerMs = slope(points);
  const middle = (points[0]![0] + points.at(-1)![0]) / 2;
  const secondHalf = points.filter(([atMs]) => atMs >= middle);
  const steady = samples.filter((s) => s.atMs >= WARM_UP_MS);
  return {
    fullCollections: points.length,
    liveHeapFirstMiB: round(points[0]![1] / MiB, 1),
    liveHeapLastMiB: round(points.at(-1)![1] / MiB, 1),
    heapGrowthMiBPerHour: round((bytesPerMs * 3_600_000) / MiB, 1),
    heapGrowthBytesPerMutation: round((bytesPerMs * 1000) / mutationsPerSecond, 1),
    secondHalfBytesPerMutation: secondHalf.length < 3 ? Number.NaN : round((slope(secondHalf) * 1000) / mutationsPerSecond, 1),
    liveHeapMiB: points.map(([atMs, bytes]) => [round(atMs / 1000, 1), round(bytes / MiB, 2)] as const),
    rssFirstMiB: round(steady[0]!.rssMiB, 1),
    rssLastMiB: round(steady.at(-1)!.rssMiB, 1),
  };
}

async function runVariant(variant: string, label: string, gatewayRoot: string | undefined): Promise<VariantResult> {
  const network = await startBenchNetwork({ seedOrders: 100, traceGc: true, ...(gatewayRoot === undefined ? {} : { gatewayRoot }) });
  try {
    const acme = network.graphqlUrl('acme');
    const samples = new Map<BenchPartner, Sample[]>(benchPartners.map((partner) => [partner, []]));
    const startedAt = performance.now();
    const takeSample = (): void => {
      for (const partner of benchPartners) samples.get(partner)!.push({ atMs: performance.now() - startedAt, rssMiB: network.rssMiB(partner) });
    };
    const sampler = setInterval(takeSample, SAMPLE_MS);
    const load = await paced(`${variant} ${rate}/s`, rate, minutes * 60, (i) => postGraphql(acme, mutation, { customer: `steady ${i}` }));
    clearInterval(sampler);
    takeSample();
    const gateways = Object.fromEntries(benchPartners.map((partner) => [partner, growthOf(network.takeMajorCollections(partner), samples.get(partner)!, startedAt, load.operationsPerSecond)])) as Record<BenchPartner, GatewayGrowth>;
    const result: VariantResult = { variant, label, mutations: load.operations, mutationsPerSecond: load.operationsPerSecond, p50Ms: load.latencyMs.p50, gateways };
    console.log(`${variant.padEnd(9)} ${load.operations} mutations at ${load.operationsPerSecond}/s, p50 ${load.latencyMs.p50} ms, ${load.errors} errors`);
    for (const partner of benchPartners) {
      const g = gateways[partner];
      console.log(`  ${partner.padEnd(6)} live heap ${g.liveHeapFirstMiB} → ${g.liveHeapLastMiB} MiB over ${g.fullCollections} full collections: ${g.heapGrowthMiBPerHour} MiB/h, ${g.heapGrowthBytesPerMutation} B per mutation (second half ${g.secondHalfBytesPerMutation}); RSS ${g.rssFirstMiB} → ${g.rssLastMiB} MiB`);
    }
    // A handful of refused requests (a reset connection) leave the heap figures as they are; more would not.
    if (load.errors > load.operations * ERRORS_SHARE_MAX) throw new Error(`${load.errors} mutations failed: the figures would not be comparable`);
    return result;
  } finally {
    await network.stop();
  }
}

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const loadAtStart = loadAverageNow();
  const current = checkoutLabel();
  console.log(`bench:memory — ${rate} mutations/s on acme for ${minutes} min per variant; capture ${benchCapture}; load ${loadAtStart.join(' ')}`);
  const baseline = baselineRef === undefined ? null : baselineTree(baselineRef);
  const results: VariantResult[] = [];
  try {
    if (baseline !== null) results.push(await runVariant('baseline', `baseline (${baseline.commit})`, baseline.root));
    results.push(await runVariant('current', `current (${current})`, undefined));
  } finally {
    baseline?.remove();
  }
  const machine = machineFacts();
  const header = `| variant | gateway | full collections | live heap, first → last, MiB | heap growth MiB/h | heap growth B per mutation | of it, second half | RSS after warm-up → end, MiB |`;
  const rows = results.flatMap((r) => benchPartners.map((partner) => {
    const g = r.gateways[partner];
    return `| ${r.label} | ${partner} | ${g.fullCollections} | ${g.liveHeapFirstMiB} → ${g.liveHeapLastMiB} | ${g.heapGrowthMiBPerHour} | ${g.heapGrowthBytesPerMutation} | ${g.secondHalfBytesPerMutation} | ${g.rssFirstMiB} → ${g.rssLastMiB} |`;
  }));
  const markdown = [
    `# bench:memory — ${date}`,
    '',
    machineLine(machine),
    `Load average at start: ${loadAtStart.join(' / ')}.`,
    '',
    `Three gateway processes (acme: PostgreSQL, cargo: PostgreSQL, bolt: PGlite), PostgreSQL and the load generator on one machine; ${rate} mutations/s on acme (syncMode LEDGER) for ${minutes} min per variant${baseline === null ? '' : ', the baseline first'}. Capture: ${benchCapture}. Gateways run with \`node --trace-gc\`; live heap = the V8 heap a full (mark-compact) collection left; growth = least-squares slope of the live heap over the full collections after the first ${WARM_UP_MS / 1000} s. RSS of each gateway process, every ${SAMPLE_MS / 1000} s.`,
    '',
    ...results.map((r) => `- ${r.label}: ${r.mutations} mutations at ${r.mutationsPerSecond}/s, p50 ${r.p50Ms} ms.`),
    '',
    header,
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  console.log(['', header, ...rows].join('\n'));
  writeResultFiles('memory', date, { bench: 'memory', date, machine: { ...machine, loadAverageAtStart: loadAtStart }, settings: { rate, minutes, sampleMs: SAMPLE_MS, warmUpMs: WARM_UP_MS, capture: benchCapture, current, baseline: baseline?.commit ?? null }, results }, markdown);
}

await main();
