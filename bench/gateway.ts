// `npm run bench:gateway`: the gateway's figures (issue #7, acceptance 4), all in one run, on a network
// of three gateways, each its own `entente node` process (acme on PostgreSQL, cargo on PostgreSQL, bolt
// on PGlite; bench/support/bench-network.ts). acme owns orders; bolt and cargo hold replicas.
//   1. Baselines in the same run: an empty GraphQL request (`{ __typename }`) and a mutation that waits
//      only for acme's own database (syncMode: DATABASE), so the ledger's share shows as a ratio.
//   2. Query throughput: by key and a list of 20, on acme's own table (PostgreSQL) and on bolt's replica
//      (PGlite).
//   3. Mutation → commit (syncMode: LEDGER, the default: the block holding it is stored on acme after
//      BFT consensus of the three): latency p50/p99 at a fixed offered load of 500 mutations/s, and
//      throughput at saturation (closed loop, many clients). Also ALL_PARTNERS (applied on every
//      gateway's replica) at the same fixed load.
//   4. Subscription delivery latency with 1,000 subscribers on bolt (10 connections × 100), each round
//      one mutation on acme: from sending it to each subscriber's event, p50/p99 over all deliveries.
//   5. RSS per gateway, idle and at the peak under load; CPU time per mutation in each gateway process and
//      in the PostgreSQL backends serving acme's and cargo's databases, in the DATABASE, paced LEDGER and
//      saturated LEDGER phases (figures the shared machine's load disturbs less than throughput).
//   6. Where the time of a mutation at 500/s goes: the gateways run with ENTENTE_TRACE_WRITES=1
//      (gateway/ledger/write-trace.ts) and acme's per-stage timings of the paced LEDGER phase are
//      summarised (BENCH_TRACE=0 turns this off).
// Goals: p50 mutation-to-commit ≤ 20 ms at 500 mutations/s; ≥ 2,000 committed mutations/s at saturation.
// Writes bench/results/gateway-<date>.{json,md}. BENCH_SECONDS sets each phase's length (default 5).
import { describeThroughput, paced, saturate, type Throughput } from './support/load.ts';
import { benchCapture, benchPartners, cpuSecondsBetween, sampleRss, startBenchNetwork, type BenchNetwork, type BenchPartner, type TraceWindow } from './support/bench-network.ts';
import { postGraphql } from './support/http-client.ts';
import { loadAverageNow, machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { measureDelivery } from './support/subscriptions.ts';

const phaseSeconds = Number(process.env['BENCH_SECONDS'] ?? 5);
const queryClients = 16;
const saturationClients = Number(process.env['BENCH_WRITE_CLIENTS'] ?? 256);
const offeredRate = 500;
const subscribers = 1_000;
const subscriptionsPerConnection = 100;
const deliveryRounds = 20;
const seedOrders = 1_000;
const traceWrites = process.env['BENCH_TRACE'] !== '0';
/** CPU figures per mutation: the three gateway processes and the PostgreSQL backends of acme's and cargo's databases. */
const cpuParts = [...benchPartners, 'acme PostgreSQL', 'cargo PostgreSQL'] as const;
type CpuPart = (typeof cpuParts)[number];

const mutation = (syncMode: 'DATABASE' | 'LEDGER' | 'ALL_PARTNERS'): string =>
  `mutation($customer: String!) { createOrder(input: { customer: $customer, status: "shipped", total: "10.00" }, syncMode: ${syncMode}) { order { id } ledgerHeight } }`;

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const loadAtStart = loadAverageNow();
  console.log(`bench:gateway — 3 gateway processes; PostgreSQL capture: ${benchCapture} (BENCH_CAPTURE); ${phaseSeconds} s per phase; load average at start ${loadAtStart.join(' ')}`);
  const network = await startBenchNetwork({ seedOrders, traceWrites });
  try {
    const acme = network.graphqlUrl('acme');
    const bolt = network.graphqlUrl('bolt');
    const idleRss = Object.fromEntries(benchPartners.map((p) => [p, network.rssMiB(p)])) as Record<BenchPartner, number>;
    console.log(`RSS idle    ${benchPartners.map((p) => `${p} ${idleRss[p]} MiB`).join('  ')}`);
    const samplers = benchPartners.map((p) => [p, sampleRss(network.pids[p])] as const);

    const byKey = (index: number): string => `{ order(id: ${1 + (index % seedOrders)}) { id customer status total } }`;
    const list = '{ orders(first: 20, orderBy: [{ field: id, direction: DESC }]) { nodes { id customer status total } } }';
    for (let index = 0; index < 200; index += 1) await postGraphql(acme, byKey(index)); // warm caches and JIT
    for (let index = 0; index < 200; index += 1) await postGraphql(acme, mutation('LEDGER'), { customer: `warm ${index}` });

    const emptyRequest = await saturate('empty', queryClients, phaseSeconds, () => postGraphql(acme, '{ __typename }'));
    console.log(`baseline  empty GraphQL request (acme)       ${describeThroughput(emptyRequest)}`);
    const acmeByKey = await saturate('acme by key', queryClients, phaseSeconds, (i) => postGraphql(acme, byKey(i)));
    console.log(`query     by key, acme (PostgreSQL)          ${describeThroughput(acmeByKey)}`);
    const acmeList = await saturate('acme list', queryClients, phaseSeconds, () => postGraphql(acme, list));
    console.log(`query     list of 20, acme (PostgreSQL)      ${describeThroughput(acmeList)}`);
    const boltByKey = await saturate('bolt by key', queryClients, phaseSeconds, (i) => postGraphql(bolt, byKey(i)));
    console.log(`query     by key, bolt replica (PGlite)      ${describeThroughput(boltByKey)}`);
    const boltList = await saturate('bolt list', queryClients, phaseSeconds, () => postGraphql(bolt, list));
    console.log(`query     list of 20, bolt replica (PGlite)  ${describeThroughput(boltList)}`);

    // The saturated phases hold 256 connections. The first burst of that many new connections stalls some
    // of them for seconds (the gateway accepts slowly while its event loop is busy; gateway/README.md,
    // "Cold bursts"), which would land in whichever phase came first: the DATABASE baseline. Open them in
    // a phase of their own, printed, so the baseline measures mutations and the stall stays in view.
    const connectionWarmUp = await saturate('connection warm-up', saturationClients, 2, () => postGraphql(acme, '{ __typename }'));
    console.log(`warm-up   ${saturationClients} new connections, empty requests (acme)  ${describeThroughput(connectionWarmUp)}`);
    const databaseCpu = await cpuMeter(network);
    const databaseSaturated = await saturate('mutation database', saturationClients, phaseSeconds, (i) => postGraphql(acme, mutation('DATABASE'), { customer: `db ${i}` }));
    const databaseCpuMs = await databaseCpu(databaseSaturated.operations);
    console.log(`baseline  mutation → acme's database, saturated (${saturationClients} clients)  ${describeThroughput(databaseSaturated)}`);
    console.log(`  CPU per mutation: ${describeCpu(databaseCpuMs)}`);
    await drain(acme);
    network.takeWriteTrace('acme');
    const pacedCpu = await cpuMeter(network);
    const ledgerPaced = await paced('mutation ledger paced', offeredRate, phaseSeconds, (i) => postGraphql(acme, mutation('LEDGER'), { customer: `paced ${i}` }));
    const pacedCpuMs = await pacedCpu(ledgerPaced.operations);
    if (traceWrites) await new Promise((resolve) => setTimeout(resolve, 2_100)); // the trace's last window of the phase
    const pacedStages = summariseTrace(network.takeWriteTrace('acme'));
    console.log(`mutation  → committed (LEDGER) @ ${offeredRate}/s offered        ${describeThroughput(ledgerPaced)}`);
    console.log(`  CPU per mutation: ${describeCpu(pacedCpuMs)}`);
    if (pacedStages !== null) console.log(`  where the time goes (acme, p50 of 2-s windows, ms): ${describeStages(pacedStages)}`);
    const saturatedCpu = await cpuMeter(network);
    const ledgerSaturated = await saturate('mutation ledger saturated', saturationClients, phaseSeconds, (i) => postGraphql(acme, mutation('LEDGER'), { customer: `sat ${i}` }));
    const cpuMsPerMutation = await saturatedCpu(ledgerSaturated.operations);
    console.log(`mutation  → committed (LEDGER), saturated (${saturationClients} clients)   ${describeThroughput(ledgerSaturated)}`);
    console.log(`  CPU per mutation: ${describeCpu(cpuMsPerMutation)}`);
    await drain(acme);
    const allPartnersPaced = await paced('mutation all-partners paced', offeredRate, phaseSeconds, (i) => postGraphql(acme, mutation('ALL_PARTNERS'), { customer: `all ${i}` }));
    console.log(`mutation  → applied on all 3 (ALL_PARTNERS) @ ${offeredRate}/s   ${describeThroughput(allPartnersPaced)}`);
    const peakRss = Object.fromEntries(samplers.map(([p, sampler]) => [p, sampler.stop()])) as Record<BenchPartner, number>;
    console.log(`RSS peak    ${benchPartners.map((p) => `${p} ${peakRss[p]} MiB`).join('  ')}`);

    const delivery = await measureDelivery({
      graphqlUrl: bolt, subscribers, perConnection: subscriptionsPerConnection, rounds: deliveryRounds,
      query: 'subscription { orderChanged { operation node { id customer } } }',
      trigger: (round) => postGraphql(acme, mutation('LEDGER'), { customer: `delivery ${round}` }),
    });
    console.log(`subscription delivery, ${subscribers} subscribers on bolt, mutation on acme  p50 ${delivery.latencyMs.p50} ms  p99 ${delivery.latencyMs.p99} ms  max ${delivery.latencyMs.max} ms  (${delivery.deliveries} of ${delivery.expected} deliveries)`);

    const machine = machineFacts();
    const goals = {
      p50CommitAt500PerSecondMs: { goal: 20, measured: ledgerPaced.latencyMs.p50, met: ledgerPaced.latencyMs.p50 <= 20 && ledgerPaced.operationsPerSecond >= offeredRate * 0.95 },
      committedPerSecondAtSaturation: { goal: 2_000, measured: ledgerSaturated.operationsPerSecond, met: ledgerSaturated.operationsPerSecond >= 2_000 },
    };
    const results = {
      bench: 'gateway',
      date,
      machine: { ...machine, loadAverageAtStart: loadAtStart, loadAverageAtEnd: machine.loadAverage },
      note: 'Three gateway processes (acme: PostgreSQL, cargo: PostgreSQL, bolt: PGlite), the load generator and PostgreSQL all on the same 2-core machine (a VM whose host may be shared; see the load averages). "Committed" = syncMode LEDGER: the block holding the change is decided by BFT consensus of the three gateways and stored on acme.',
      settings: { capture: benchCapture, phaseSeconds, queryClients, saturationClients, offeredRate, subscribers, subscriptionsPerConnection, deliveryRounds, seedOrders },
      goals,
      baselines: { emptyRequest, connectionWarmUp, mutationToDatabaseSaturated: databaseSaturated },
      queries: { acmeByKey, acmeList, boltReplicaByKey: boltByKey, boltReplicaList: boltList },
      mutations: {
        ledgerPaced, ledgerSaturated, allPartnersPaced, cpuMsPerCommittedMutation: cpuMsPerMutation, ledgerToDatabaseThroughputRatio: round2(ledgerSaturated.operationsPerSecond / databaseSaturated.operationsPerSecond),
        cpuMsPerMutationByPhase: { databaseSaturated: databaseCpuMs, ledgerPaced: pacedCpuMs, ledgerSaturated: cpuMsPerMutation },
        ledgerPacedStagesMs: pacedStages,
      },
      subscriptions: { subscribers, ...delivery },
      memoryMiB: { idle: idleRss, peakUnderLoad: peakRss },
    };
    const row = (name: string, t: Throughput): string => `| ${name} | ${t.operationsPerSecond} | ${t.latencyMs.p50} | ${t.latencyMs.p99} | ${t.errors} |`;
    const markdown = [
      `# bench:gateway — ${date}`,
      '',
      machineLine(machine),
      `Load average at start: ${loadAtStart.join(' / ')}.`,
      '',
      results.note,
      '',
      `Goals: p50 mutation-to-commit ≤ 20 ms at ${offeredRate}/s — measured ${goals.p50CommitAt500PerSecondMs.measured} ms (${goals.p50CommitAt500PerSecondMs.met ? 'met' : 'NOT met'}); ≥ 2,000 committed mutations/s at saturation — measured ${goals.committedPerSecondAtSaturation.measured}/s (${goals.committedPerSecondAtSaturation.met ? 'met' : 'NOT met'}).`,
      '',
      '| phase | ops/s | p50 ms | p99 ms | errors |',
      '|---|---|---|---|---|',
      row('baseline: empty GraphQL request (acme)', emptyRequest),
      row('query by key, acme (PostgreSQL)', acmeByKey),
      row('query list of 20, acme (PostgreSQL)', acmeList),
      row('query by key, bolt replica (PGlite)', boltByKey),
      row('query list of 20, bolt replica (PGlite)', boltList),
      row(`warm-up: ${saturationClients} new connections, empty requests (acme)`, connectionWarmUp),
      row(`baseline: mutation → acme's database (DATABASE), saturated`, databaseSaturated),
      row(`mutation → committed (LEDGER), ${offeredRate}/s offered`, ledgerPaced),
      row(`mutation → committed (LEDGER), saturated, ${saturationClients} clients`, ledgerSaturated),
      row(`mutation → applied on all 3 (ALL_PARTNERS), ${offeredRate}/s offered`, allPartnersPaced),
      '',
      `Subscription delivery to ${subscribers} subscribers on bolt (mutation on acme): p50 ${delivery.latencyMs.p50} ms, p99 ${delivery.latencyMs.p99} ms, max ${delivery.latencyMs.max} ms; ${delivery.deliveries} of ${delivery.expected} deliveries.`,
      '',
      `CPU time per mutation (ms) in each gateway process and in the PostgreSQL backends of acme's and cargo's databases (the load generator's and other processes' work not included):`,
      '',
      `| phase | ${cpuParts.join(' | ')} | total |`,
      `|---|${cpuParts.map(() => '---|').join('')}---|`,
      cpuRow(`DATABASE, saturated`, databaseCpuMs),
      cpuRow(`LEDGER, ${offeredRate}/s offered`, pacedCpuMs),
      cpuRow(`LEDGER, saturated`, cpuMsPerMutation),
      '',
      pacedStages === null ? 'No write-path trace (BENCH_TRACE=0).' : `Where a mutation's time goes at ${offeredRate}/s offered (acme's write-path trace, gateway/ledger/write-trace.ts; p50 per stage over 2-s windows, weighted by mutations, ms): ${describeStages(pacedStages)}.`,
      '',
      `RSS per gateway (MiB), idle → peak under load: ${benchPartners.map((p) => `${p} ${idleRss[p]} → ${peakRss[p]}`).join(', ')}.`,
    ].join('\n');
    writeResultFiles('gateway', date, results, markdown);
  } finally {
    await network.stop();
  }
}

/** Starts counting CPU; the returned function gives ms per operation for each part since the start. */
async function cpuMeter(network: BenchNetwork): Promise<(operations: number) => Promise<Record<CpuPart | 'total', number>>> {
  const gateways = benchPartners.map((p) => network.cpuSeconds(p));
  const acmeDb = await network.databaseCpu('acme');
  const cargoDb = await network.databaseCpu('cargo');
  return async (operations) => {
    const seconds: Record<CpuPart, number> = {
      acme: network.cpuSeconds('acme') - gateways[0]!,
      bolt: network.cpuSeconds('bolt') - gateways[1]!,
      cargo: network.cpuSeconds('cargo') - gateways[2]!,
      'acme PostgreSQL': cpuSecondsBetween(acmeDb, await network.databaseCpu('acme')),
      'cargo PostgreSQL': cpuSecondsBetween(cargoDb, await network.databaseCpu('cargo')),
    };
    const perOperation = (value: number): number => round2((value * 1000) / Math.max(1, operations));
    const out = Object.fromEntries(cpuParts.map((part) => [part, perOperation(seconds[part])])) as Record<CpuPart | 'total', number>;
    out.total = round2(cpuParts.reduce((sum, part) => sum + out[part], 0));
    return out;
  };
}

function describeCpu(cpu: Record<CpuPart | 'total', number>): string {
  return `${cpuParts.map((part) => `${part} ${cpu[part]} ms`).join('  ')}  (total ${cpu.total} ms)`;
}

function cpuRow(name: string, cpu: Record<CpuPart | 'total', number>): string {
  return `| ${name} | ${cpuParts.map((part) => cpu[part]).join(' | ')} | ${cpu.total} |`;
}

interface StageSummary {
  readonly mutations: number;
  readonly mutationsPerBlock: number;
  readonly mutationsPerRead: number;
  readonly p50Ms: Record<string, number>;
}

/**
 * One figure per stage from the gateway's 2-s windows: each window's p50, weighted by its mutations
 * (an approximation of the phase's p50 that stays exact when the windows agree).
 */
function summariseTrace(windows: readonly TraceWindow[]): StageSummary | null {
  const mutations = windows.reduce((sum, w) => sum + w.samples, 0);
  if (mutations === 0) return null;
  const weighted = (value: (w: TraceWindow) => number | undefined): number => {
    const points = windows.map((w) => ({ value: value(w), weight: w.samples })).filter((p): p is { value: number; weight: number } => p.value !== undefined).sort((a, b) => a.value - b.value);
    const total = points.reduce((sum, p) => sum + p.weight, 0);
    let seen = 0;
    for (const point of points) {
      seen += point.weight;
      if (seen >= total / 2) return point.value;
    }
    return Number.NaN;
  };
  const names = [...new Set(windows.flatMap((w) => Object.keys(w.stages)))];
  const p50Ms = Object.fromEntries(names.map((name) => [name, weighted((w) => w.stages[name]?.p50)]));
  const mean = (value: (w: TraceWindow) => number): number => round2(windows.reduce((sum, w) => sum + value(w) * w.samples, 0) / mutations);
  return { mutations, mutationsPerBlock: mean((w) => w.mutationsPerBlock), mutationsPerRead: mean((w) => w.mutationsPerRead), p50Ms };
}

function describeStages(summary: StageSummary): string {
  return `${Object.entries(summary.p50Ms).map(([name, ms]) => `${name} ${ms}`).join(', ')}; ${summary.mutationsPerRead} mutations per capture read, ${summary.mutationsPerBlock} per block`;
}

/** Waits until acme's ledger has caught up with what a phase left in flight, so phases do not overlap. */
async function drain(url: string): Promise<void> {
  await postGraphql(url, mutation('ALL_PARTNERS'), { customer: 'drain' });
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

await main();
