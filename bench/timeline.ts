// `npm run bench:timeline`: where a ledger height's time goes inside consensus, on the gateway network of
// bench:gateway (three `entente node` processes: acme and cargo on PostgreSQL, bolt on PGlite). The
// gateways run with ENTENTE_TRACE_CONSENSUS=1 and write every consensus step they take; at each mutation
// rate this prints, p50 and p90 over the heights of the phase: a proposal's and each vote's hop from the
// node that sent it to one that received it, a proposal's block checks, a snapshot's write until durable,
// proposal → decided on each node, decided → stored, and proposal → stored on the last node. bench:heights
// gives each height's CPU; this gives the order and wait of its steps (e.g. a hop far longer than the
// machine's loopback round trip means the receiving process was busy or not running).
// BENCH_RATES (default 20,100 mutations/s), BENCH_SECONDS per rate (default 6). Writes
// bench/results/timeline-<date>.{json,md}.
import { checkoutLabel } from './support/checkout.ts';
import { paced } from './support/load.ts';
import { benchCapture, benchPartners, startBenchNetwork, type TracedConsensusStep } from './support/bench-network.ts';
import { consensusTimeline, timelineStages, type Timeline, type TimelineStage } from './support/consensus-timeline.ts';
import { postGraphql } from './support/http-client.ts';
import { loadAverageNow, machineFacts, machineLine, writeResultFiles } from './support/machine.ts';

const rates = (process.env['BENCH_RATES'] ?? '20,100').split(',').map(Number);
const phaseSeconds = Number(process.env['BENCH_SECONDS'] ?? 6);
const warmMutations = 300;
const mutation = 'mutation($customer: String!) { createOrder(input: { customer: $customer, status: "shipped", total: "10.00" }, syncMode: LEDGER) { order { id } ledgerHeight } }';

const stageLabels: Record<TimelineStage, string> = {
  proposalHop: 'proposal hop',
  judge: 'proposal judged',
  prevoteHop: 'prevote hop',
  precommitHop: 'precommit hop',
  snapshotDurable: 'snapshot durable',
  proposedToDecided: 'proposed → decided',
  decidedToStored: 'decided → stored',
  height: 'proposed → stored on all',
};

interface PhaseResult {
  readonly rate: number;
  readonly mutationsPerSecond: number;
  readonly mutationP50Ms: number;
  readonly timeline: Timeline;
  readonly loadAverage1m: number;
}

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const loadAtStart = loadAverageNow();
  const commit = checkoutLabel();
  console.log(`bench:timeline (${commit}) — rates ${rates.join(', ')}/s, ${phaseSeconds} s each; capture ${benchCapture}; load ${loadAtStart.join(' ')}`);
  const network = await startBenchNetwork({ seedOrders: 100, traceConsensus: true });
  const results: PhaseResult[] = [];
  try {
    const acme = network.graphqlUrl('acme');
    for (let i = 0; i < warmMutations; i += 1) await postGraphql(acme, mutation, { customer: `warm ${i}` });
    for (const rate of rates) {
      // Steps flush every 200 ms: wait them out, then drop the warm-up's and the last phase's.
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const partner of benchPartners) network.takeConsensusTrace(partner);
      const load = await paced(`${rate}/s`, rate, phaseSeconds, (i) => postGraphql(acme, mutation, { customer: `paced ${i}` }));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const steps: TracedConsensusStep[] = benchPartners.flatMap((partner) => network.takeConsensusTrace(partner));
      const timeline = consensusTimeline(steps, benchPartners.length);
      const result: PhaseResult = { rate, mutationsPerSecond: load.operationsPerSecond, mutationP50Ms: load.latencyMs.p50, timeline, loadAverage1m: loadAverageNow()[0]! };
      results.push(result);
      console.log(`${String(rate).padStart(4)}/s: ${timeline.heights} heights (${timeline.laterRounds} needed a later round), mutation p50 ${load.latencyMs.p50} ms; ${timelineStages.map((stage) => `${stageLabels[stage]} ${timeline.stages[stage].p50}/${timeline.stages[stage].p90}`).join(', ')} (ms, p50/p90)`);
    }
  } finally {
    await network.stop();
  }
  const machine = machineFacts();
  const header = `| rate | heights | mutation p50 ms | ${timelineStages.map((stage) => `${stageLabels[stage]} p50 / p90 ms`).join(' | ')} |`;
  const rows = results.map((r) => `| ${r.rate}/s | ${r.timeline.heights} | ${r.mutationP50Ms} | ${timelineStages.map((stage) => `${r.timeline.stages[stage].p50} / ${r.timeline.stages[stage].p90}`).join(' | ')} |`);
  const markdown = [
    `# bench:timeline — ${date}`,
    '',
    machineLine(machine),
    `Commit: ${commit}. Load average at start: ${loadAtStart.join(' / ')}.`,
    '',
    `Three gateway processes (acme: PostgreSQL, cargo: PostgreSQL, bolt: PGlite), PostgreSQL and the load generator on one machine; mutations on acme at fixed rates (syncMode LEDGER), ${phaseSeconds} s per rate, every gateway tracing its consensus steps (ENTENTE_TRACE_CONSENSUS=1). Hops run from the step of the node that sent a message to the step of each node that received it (signature checked); only heights decided in round 0 and stored by every node count. Capture: ${benchCapture}.`,
    '',
    header,
    `|---|---|---|${timelineStages.map(() => '---|').join('')}`,
    ...rows,
  ].join('\n');
  console.log(['', header, ...rows].join('\n'));
  writeResultFiles('timeline', date, { bench: 'timeline', date, machine: { ...machine, loadAverageAtStart: loadAtStart }, settings: { rates, phaseSeconds, capture: benchCapture, commit }, phases: results }, markdown);
}

await main();
