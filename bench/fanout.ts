// `npm run bench:fanout` (issue #12): subscription fan-out — 10,000 subscribers on one gateway (bolt, on
// PGlite, 100 graphql-ws connections × 100 subscriptions), each round one mutation on acme that every
// subscriber receives once bolt applied the committed block. Delivery latency from sending the
// mutation to each subscriber's event (p50/p99 over all deliveries), and bolt's memory before the
// subscribers connect, with all of them live, and at the peak while delivering.
// The subscribers run in this process, on the same shared 2-core machine as the three gateways, so the
// figure includes the clients' own time to take in 10,000 WebSocket messages per round.
// Writes bench/results/fanout-<date>.{json,md}. BENCH_FANOUT_SUBSCRIBERS overrides the 10,000.
import { sampleRss, startBenchNetwork } from './support/bench-network.ts';
import { postGraphql } from './support/http-client.ts';
import { loadAverageNow, machineFacts, machineLine, writeResultFiles } from './support/machine.ts';
import { measureDelivery } from './support/subscriptions.ts';

const subscribers = Number(process.env['BENCH_FANOUT_SUBSCRIBERS'] ?? 10_000);
const perConnection = 100;
const rounds = 10;
const mutation = 'mutation($customer: String!) { createOrder(input: { customer: $customer, status: "shipped", total: "10.00" }) { order { id } ledgerHeight } }';

async function main(): Promise<void> {
  const date = new Date().toISOString();
  const loadAtStart = loadAverageNow();
  console.log(`bench:fanout — ${subscribers} subscribers on bolt, ${rounds} rounds; load average at start ${loadAtStart.join(' ')}`);
  const network = await startBenchNetwork({ seedOrders: 10 });
  try {
    const acme = network.graphqlUrl('acme');
    for (let i = 0; i < 20; i += 1) await postGraphql(acme, mutation, { customer: `warm ${i}` });
    const rssBefore = network.rssMiB('bolt');
    let rssLive = Number.NaN;
    let sampler: { stop(): number } | null = null;
    const delivery = await measureDelivery({
      graphqlUrl: network.graphqlUrl('bolt'), subscribers, perConnection, rounds, roundTimeoutMs: 60_000,
      query: 'subscription { orderChanged { operation node { id customer } } }',
      trigger: (round) => postGraphql(acme, mutation, { customer: `fanout ${round}` }),
      onLive: () => {
        rssLive = network.rssMiB('bolt');
        sampler = sampleRss(network.pids.bolt, 100);
      },
    });
    const rssPeak = (sampler as { stop(): number } | null)?.stop() ?? Number.NaN;
    console.log(`delivery to ${subscribers} subscribers: p50 ${delivery.latencyMs.p50} ms  p99 ${delivery.latencyMs.p99} ms  max ${delivery.latencyMs.max} ms  (${delivery.deliveries} of ${delivery.expected})`);
    console.log(`bolt RSS: ${rssBefore} MiB before, ${rssLive} MiB with ${subscribers} subscriptions live, ${rssPeak} MiB peak while delivering`);
    const machine = machineFacts();
    const results = {
      bench: 'fanout',
      date,
      machine: { ...machine, loadAverageAtStart: loadAtStart, loadAverageAtEnd: machine.loadAverage },
      note: 'Three gateway processes and the subscribing clients share one 2-core machine (a VM whose host may be shared; see the load averages); latency includes the clients taking in every message.',
      settings: { subscribers, perConnection, connections: Math.ceil(subscribers / perConnection), rounds },
      delivery,
      boltRssMiB: { beforeSubscribers: rssBefore, subscribersLive: rssLive, peakWhileDelivering: rssPeak, perSubscriberKiB: Math.round(((rssLive - rssBefore) * 1024) / subscribers) },
    };
    const markdown = [
      `# bench:fanout — ${date}`,
      '',
      machineLine(machine),
      `Load average at start: ${loadAtStart.join(' / ')}.`,
      '',
      results.note,
      '',
      `${subscribers} subscribers on bolt (${results.settings.connections} graphql-ws connections × ${perConnection}), one mutation on acme per round, ${rounds} rounds:`,
      `delivery p50 ${delivery.latencyMs.p50} ms, p99 ${delivery.latencyMs.p99} ms, max ${delivery.latencyMs.max} ms; ${delivery.deliveries} of ${delivery.expected} deliveries.`,
      '',
      `bolt's RSS: ${rssBefore} MiB before the subscribers, ${rssLive} MiB with all live (≈ ${results.boltRssMiB.perSubscriberKiB} KiB per subscription), ${rssPeak} MiB peak while delivering.`,
    ].join('\n');
    writeResultFiles('fanout', date, results, markdown);
  } finally {
    await network.stop();
  }
}

await main();
