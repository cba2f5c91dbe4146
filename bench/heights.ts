// `npm run bench:heights`: what one ledger height costs on the gateway network of bench:gateway (three
// `entente node` processes: acme on PostgreSQL, cargo on PostgreSQL, bolt on PGlite), at a few fixed
// mutation rates (issue #7's latency goal). While mutations keep arriving, heights run back to back and
// the gateways spend whatever a height costs as often as the two cores allow, so the per-height CPU of
// each process is the figure that tells a leaner write path from a faster machine. Per rate it prints
// heights per second, mutation → commit (syncMode LEDGER) p50/p99, and CPU ms per height in each gateway
// and in the PostgreSQL backends of acme's and cargo's databases, and all of it per mutation with the
// cores busy. Once the cores are nearly all busy (on a 2-vCPU VM from about 100/s) a cheaper height buys
// more, shorter heights instead of idle CPU, so CPU per height can even rise: compare per mutation and p50
// there (500/s on a 2-vCPU AMD VM, 2026-11-29: 1.67 cores in every round of both variants, 3.34-3.39 ms
// per mutation, while CPU per height ranged over 20.4-27.2 ms). It also prints how much of the gateways'
// CPU went to their helper threads rather than their main threads: mostly V8 compiling hot code, which goes
// on for tens of seconds after a start (measured at 20/s on a 2-vCPU AMD VM after a 50-mutation warm-up:
// 16.4 ms per height over the three gateways in the first 8-s window, 5.7 in the seventh, while their main
// threads went from 51 to 43), so a figure that moves between runs can be told from the write path's own.
//
// BENCH_BASELINE=<git ref> measures that commit too, in the same run: its gateways run from a temporary
// git worktree (sharing this checkout's node_modules), and the two variants alternate round by round, so
// the shared machine's load drifts over both alike; the table then gives each figure's ratio to the
// baseline. The baseline must read the same gateway configuration and genesis files as this checkout.
// BENCH_TLS=ab instead measures what TLS between the gateways costs: this checkout's network plain and
// with TLS (https:// API, wss:// consensus, the test certificates), alternating the same way; BENCH_TLS=1
// runs every variant with TLS.
// BENCH_RATES (default 20,100,200 mutations/s), BENCH_SECONDS per rate (default 8), BENCH_ROUNDS (default
// 3 with two variants, else 1). Writes bench/results/heights-<date>.{json,md}.
import { baselineTree } from './support/baseline-tree.ts';
import { checkoutLabel } from './support/checkout.ts';
import { paced } from './support/load.ts';
import { benchCapture, benchPartners, cpuSecondsBetween, startBenchNetwork, type BenchNetwork } from './support/bench-network.ts';
import { postGraphql } from './support/http-client.ts';
import { loadAverageNow, machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { round } from './support/stats.ts';

const rates = (process.env['BENCH_RATES'] ?? '20,100,200').split(',').map(Number);
const phaseSeconds = Number(process.env['BENCH_SECONDS'] ?? 8);
const baselineRef = process.env['BENCH_BASELINE'];
const tlsMode = process.env['BENCH_TLS'] ?? '0';
const rounds = Number(process.env['BENCH_ROUNDS'] ?? (baselineRef === undefined && tlsMode !== 'ab' ? 1 : 3));
const warmMutations = 300;
const parts = [...benchPartners, 'acme PostgreSQL', 'cargo PostgreSQL'] as const;
type Part = (typeof parts)[number];

const mutation = 'mutation($customer: String!) { createOrder(input: { customer: $customer, status: "shipped", total: "10.00" }, syncMode: LEDGER) { order { id } ledgerHeight } }';

interface PhaseResult {
  readonly variant: string;
  readonly round: number;
  readonly rate: number;
  readonly heights: number;
  readonly heightsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly mutationsPerSecond: number;
  readonly cpuMsPerHeight: Record<Part | 'total', number>;
  /** Of the gateways' CPU, what their helper threads used (V8's compiler and GC, libuv's pool), ms per height. */
  readonly helperThreadsMsPerHeight: number;
  readonly coresUsed: number;
  /** All measured CPU (gateways and both databases) per mutation of the phase, the two mutations bounding it included. */
  readonly cpuMsPerMutation: number;
  readonly loadAverage1m: number;
}

async function ledgerHeightAfterOne(url: string, customer: string): Promise<number> {
  const answer = await postGraphql(url, mutation, { customer });
  return Number((answer.data?.['createOrder'] as { ledgerHeight: string | number }).ledgerHeight);
}

async function measure(network: BenchNetwork, variant: string, roundNumber: number, rate: number): Promise<PhaseResult> {
  const acme = network.graphqlUrl('acme');
  const gateways = benchPartners.map((partner) => network.cpuSeconds(partner));
  const mainThreads = benchPartners.map((partner) => network.mainThreadCpuSeconds(partner));
  const databases = [await network.databaseCpu('acme'), await network.databaseCpu('cargo')] as const;
  const startHeight = await ledgerHeightAfterOne(acme, `start ${rate}`);
  const started = performance.now();
  const load = await paced(`${variant} ${rate}/s`, rate, phaseSeconds, (i) => postGraphql(acme, mutation, { customer: `paced ${i}` }));
  const endHeight = await ledgerHeightAfterOne(acme, `end ${rate}`);
  const elapsedSeconds = (performance.now() - started) / 1000;
  const seconds: Record<Part, number> = {
    acme: network.cpuSeconds('acme') - gateways[0]!,
    bolt: network.cpuSeconds('bolt') - gateways[1]!,
    cargo: network.cpuSeconds('cargo') - gateways[2]!,
    'acme PostgreSQL': cpuSecondsBetween(databases[0], await network.databaseCpu('acme')),
    'cargo PostgreSQL': cpuSecondsBetween(databases[1], await network.databaseCpu('cargo')),
  };
  const heights = endHeight - startHeight;
  const gatewaySeconds = seconds.acme + seconds.bolt + seconds.cargo;
  const mainThreadSeconds = benchPartners.reduce((sum, partner, i) => sum + network.mainThreadCpuSeconds(partner) - mainThreads[i]!, 0);
  const perHeight = (value: number): number => round((value * 1000) / Math.max(1, heights));
  const cpuMsPerHeight = Object.fromEntries(parts.map((part) => [part, perHeight(seconds[part])])) as Record<Part | 'total', number>;
  const totalSeconds = parts.reduce((sum, part) => sum + seconds[part], 0);
  cpuMsPerHeight.total = perHeight(totalSeconds);
  return {
    variant, round: roundNumber, rate, heights, heightsPerSecond: round(heights / elapsedSeconds, 1), p50Ms: load.latencyMs.p50, p99Ms: load.latencyMs.p99,
    mutationsPerSecond: load.operationsPerSecond, cpuMsPerHeight, helperThreadsMsPerHeight: perHeight(gatewaySeconds - mainThreadSeconds), coresUsed: round(totalSeconds / elapsedSeconds),
    cpuMsPerMutation: round((totalSeconds * 1000) / (load.operations + 2)), loadAverage1m: loadAverageNow()[0]!,
  };
}

/** One way of running the network: its name in the results, a label for the table, and how it is started. */
interface Variant {
  readonly name: string;
  readonly label: string;
  readonly gatewayRoot?: string;
  readonly tls: boolean;
}

async function runVariant({ name: variant, gatewayRoot, tls }: Variant, roundNumber: number): Promise<PhaseResult[]> {
  const network = await startBenchNetwork({ seedOrders: 100, tls, ...(gatewayRoot === undefined ? {} : { gatewayRoot }) });
  try {
    const acme = network.graphqlUrl('acme');
    for (let i = 0; i < warmMutations; i += 1) await postGraphql(acme, mutation, { customer: `warm ${i}` });
    const results: PhaseResult[] = [];
    for (const rate of rates) {
      const result = await measure(network, variant, roundNumber, rate);
      console.log(`${variant.padEnd(9)} round ${roundNumber} ${String(rate).padStart(4)}/s: ${result.heightsPerSecond} heights/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms; CPU ms per height ${parts.map((p) => `${p} ${result.cpuMsPerHeight[p]}`).join(', ')} (total ${result.cpuMsPerHeight.total}; gateways' helper threads ${result.helperThreadsMsPerHeight}; ${result.cpuMsPerMutation} ms per mutation; ${result.coresUsed} cores; load ${result.loadAverage1m})`);
      results.push(result);
    }
    return results;
  } finally {
    await network.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : round((sorted[middle - 1]! + sorted[middle]!) / 2);
}

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const loadAtStart = loadAverageNow();
  const current = checkoutLabel();
  if (baselineRef !== undefined && tlsMode === 'ab') throw new Error('BENCH_BASELINE and BENCH_TLS=ab each make a second variant; use one of them');
  const baseline = baselineRef === undefined ? null : baselineTree(baselineRef);
  const allTls = tlsMode === '1';
  const variants: Variant[] = baseline !== null
    ? [{ name: 'baseline', label: `baseline (${baseline.commit})`, gatewayRoot: baseline.root, tls: allTls }, { name: 'current', label: `current (${current})`, tls: allTls }]
    : tlsMode === 'ab'
      ? [{ name: 'plain', label: `plain (${current})`, tls: false }, { name: 'tls', label: `TLS (${current})`, tls: true }]
      : [{ name: 'current', label: `current (${current})${allTls ? ', TLS' : ''}`, tls: allTls }];
  const [reference, compared] = variants;
  console.log(`bench:heights — rates ${rates.join(', ')}/s, ${phaseSeconds} s each, ${rounds} round(s); ${variants.map((v) => v.label).join(' against ')}; capture ${benchCapture}; load ${loadAtStart.join(' ')}`);
  const results: PhaseResult[] = [];
  try {
    for (let r = 1; r <= rounds; r += 1) {
      // Alternate which variant goes first, so neither always meets the machine warmer.
      const order = r % 2 === 1 ? variants : [...variants].reverse();
      for (const variant of order) results.push(...(await runVariant(variant, r)));
    }
  } finally {
    baseline?.remove();
  }

  const summary = rates.flatMap((rate) => variants.map(({ name: variant }) => {
    const of = results.filter((result) => result.rate === rate && result.variant === variant);
    return {
      rate, variant, rounds: of.length,
      heightsPerSecond: median(of.map((x) => x.heightsPerSecond)), p50Ms: median(of.map((x) => x.p50Ms)), p99Ms: median(of.map((x) => x.p99Ms)),
      cpuMsPerHeight: Object.fromEntries([...parts, 'total' as const].map((part) => [part, median(of.map((x) => x.cpuMsPerHeight[part]))])) as Record<Part | 'total', number>,
      helperThreadsMsPerHeight: median(of.map((x) => x.helperThreadsMsPerHeight)),
      cpuMsPerMutation: median(of.map((x) => x.cpuMsPerMutation)), coresUsed: median(of.map((x) => x.coresUsed)),
    };
  }));
  /** The compared variant's figure as a ratio to the reference's, for its row; nothing for the reference. */
  const ratio = (s: (typeof summary)[number], pick: (s: (typeof summary)[number]) => number): string => {
    if (compared === undefined || s.variant !== compared.name) return '';
    const base = summary.find((x) => x.rate === s.rate && x.variant === reference!.name)!;
    return ` (${round(pick(s) / pick(base))}×)`;
  };
  const machine = machineFacts();
  const header = `| rate | variant | heights/s | p50 ms | p99 ms | ${parts.map((p) => `${p} CPU ms/height`).join(' | ')} | total CPU ms/height | of it, gateways' helper threads | total CPU ms/mutation | cores busy |`;
  const labelOf = (name: string): string => variants.find((v) => v.name === name)!.label;
  const rows = summary.map((s) => `| ${s.rate}/s | ${labelOf(s.variant)} | ${s.heightsPerSecond}${ratio(s, (x) => x.heightsPerSecond)} | ${s.p50Ms}${ratio(s, (x) => x.p50Ms)} | ${s.p99Ms} | ${parts.map((p) => s.cpuMsPerHeight[p]).join(' | ')} | ${s.cpuMsPerHeight.total}${ratio(s, (x) => x.cpuMsPerHeight.total)} | ${s.helperThreadsMsPerHeight} | ${s.cpuMsPerMutation}${ratio(s, (x) => x.cpuMsPerMutation)} | ${s.coresUsed} |`);
  const markdown = [
    `# bench:heights — ${date}`,
    '',
    machineLine(machine),
    `Load average at start: ${loadAtStart.join(' / ')}.`,
    '',
    `Three gateway processes (acme: PostgreSQL, cargo: PostgreSQL, bolt: PGlite), PostgreSQL and the load generator on one machine. Mutations on acme at fixed rates, syncMode LEDGER; ${phaseSeconds} s per rate; medians of ${rounds} round(s)${compared === undefined ? '' : `, the two variants alternating round by round; ratios are ${compared.name} / ${reference!.name}`}. Capture: ${benchCapture}. "Of it, gateways' helper threads" is the part of the three gateways' CPU their helper threads used (V8's compiler and GC, libuv's pool) rather than their main threads. When the cores are nearly all busy, heights run as often as the CPU allows and a cheaper height shows as more heights per second (shorter, with fewer mutations each) rather than as less CPU: compare CPU per mutation and p50 then, not CPU per height.`,
    '',
    header,
    `|---|---|---|---|---|${parts.map(() => '---|').join('')}---|---|---|---|`,
    ...rows,
    '',
    'Every round:',
    '',
    ...results.map((x) => `- ${x.variant} round ${x.round}, ${x.rate}/s: ${x.heightsPerSecond} heights/s, p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, total ${x.cpuMsPerHeight.total} CPU ms/height (gateways' helper threads ${x.helperThreadsMsPerHeight}), ${x.cpuMsPerMutation} CPU ms/mutation, ${x.coresUsed} cores, load ${x.loadAverage1m}`),
  ].join('\n');
  console.log(['', header, ...rows].join('\n'));
  writeResultFiles('heights', date, { bench: 'heights', date, machine: { ...machine, loadAverageAtStart: loadAtStart }, settings: { rates, phaseSeconds, rounds, capture: benchCapture, current, baseline: baseline?.commit ?? null, tls: tlsMode }, summary, rounds: results }, markdown);
}

await main();
