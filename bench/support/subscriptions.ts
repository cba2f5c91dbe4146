// Subscription delivery latency: `subscribers` graphql-ws subscriptions (spread over connections of
// `perConnection` each) on one gateway; each round fires one change (`trigger`) and measures, for every
// subscriber, the time from the trigger's start to its event. The first events are warm-ups that prove
// every subscription is live (subscriptions become live asynchronously).
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { sleep } from './bench-network.ts';
import { percentiles, type Percentiles } from './stats.ts';

export interface DeliveryOptions {
  readonly graphqlUrl: string;
  readonly subscribers: number;
  readonly perConnection: number;
  readonly query: string;
  readonly rounds: number;
  /** Makes one change every subscriber will see; `round` < 0 for warm-ups. */
  readonly trigger: (round: number) => Promise<unknown>;
  /** How long one round may wait for all its deliveries before it is counted short. */
  readonly roundTimeoutMs?: number;
  /** Called once every subscription is live (e.g. to sample memory). */
  readonly onLive?: () => void;
}

export interface DeliveryResult {
  readonly latencyMs: Percentiles;
  readonly deliveries: number;
  readonly expected: number;
  readonly rounds: number;
}

export async function measureDelivery(options: DeliveryOptions): Promise<DeliveryResult> {
  const { subscribers, perConnection } = options;
  const connections = Math.ceil(subscribers / perConnection);
  const clients: Client[] = Array.from({ length: connections }, () => createClient({ url: options.graphqlUrl.replace('http://', 'ws://'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false }));
  const latencies: number[] = [];
  let sentAt = 0;
  let measuring = false;
  let receivedThisRound = 0;
  let onRoundComplete: () => void = () => undefined;
  const disposers: (() => void)[] = [];
  let live = 0;
  let errors = 0;
  let resolveLive: () => void = () => undefined;
  const allLive = new Promise<void>((resolve) => (resolveLive = resolve));
  try {
    for (let n = 0; n < subscribers; n += 1) {
      let warm = false;
      disposers.push(
        clients[Math.floor(n / perConnection)]!.subscribe({ query: options.query }, {
          next: () => {
            if (!warm) {
              warm = true;
              if (++live === subscribers) resolveLive();
              return;
            }
            if (!measuring) return;
            latencies.push(performance.now() - sentAt);
            if (++receivedThisRound === subscribers) onRoundComplete();
          },
          error: (error) => {
            if (errors++ === 0) console.error('subscription error', error);
          },
          complete: () => undefined,
        }),
      );
    }
    for (let warmup = 0; live < subscribers && warmup < 60; warmup += 1) {
      await options.trigger(-1 - warmup);
      await Promise.race([allLive, sleep(500)]);
    }
    if (live < subscribers) throw new Error(`only ${live} of ${subscribers} subscriptions became live (${errors} errors)`);
    options.onLive?.();
    await sleep(1000); // let stray warm-up events drain
    measuring = true;
    for (let round = 0; round < options.rounds; round += 1) {
      receivedThisRound = 0;
      const done = new Promise<void>((resolve) => (onRoundComplete = resolve));
      sentAt = performance.now();
      await options.trigger(round);
      await Promise.race([done, sleep(options.roundTimeoutMs ?? 30_000)]);
    }
    measuring = false;
    return { latencyMs: percentiles(latencies), deliveries: latencies.length, expected: subscribers * options.rounds, rounds: options.rounds };
  } finally {
    for (const dispose of disposers) dispose();
    await Promise.all(clients.map((client) => client.dispose()));
  }
}
