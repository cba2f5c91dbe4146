// The gateway's Prometheus metrics, one registry per gateway (several gateways share a process in the
// demo and in tests). Names follow Prometheus conventions: base units (seconds), `_total` on counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly commits: Counter<'origin'>;
  readonly commitLatencySeconds: Histogram<'origin'>;
  readonly captureLagSeconds: Gauge;
  readonly ledgerHeight: Gauge;
  readonly peersConnected: Gauge;
  readonly peersConfigured: Gauge;
  readonly subscriptionsActive: Gauge;
  readonly subscribersDisconnectedSlow: Counter;
  readonly httpRequests: Counter<'route' | 'status'>;
  readonly httpRequestSeconds: Histogram<'route'>;
  readonly graphqlErrors: Counter<'code'>;
  readonly tlsCertificateExpiry: Gauge;
  /** Where the gauges that are read at scrape time get their values (the ledger runtime provides them). */
  observe(sources: MetricSources): void;
}

/** Read on every scrape of /metrics; a gauge whose source is not set keeps its last value (0 at first). */
export interface MetricSources {
  readonly ledgerHeight?: () => number;
  readonly peersConnected?: () => number;
  readonly captureLagSeconds?: () => number;
}

/** Commit latencies are milliseconds to seconds: fine buckets where the goals are (≤ 20 ms p50). */
const commitBucketsSeconds = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createGatewayMetrics(labels: Readonly<Record<string, string>>, options: { readonly processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ ...labels });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'entente_' });
  const registers = [registry];
  let sources: MetricSources = {};
  const readAtScrape = (read: (s: MetricSources) => (() => number) | undefined) => function (this: Gauge): void {
    const source = read(sources);
    if (source !== undefined) this.set(source());
  };
  return {
    registry,
    commits: new Counter({ name: 'entente_commits_total', help: 'Ledger transactions committed by consensus, by origin (mutation or capture).', labelNames: ['origin'], registers }),
    commitLatencySeconds: new Histogram({
      name: 'entente_commit_latency_seconds',
      help: 'To a change\'s ledger transaction being committed on this gateway: for a mutation from its arrival (mutations that wait for the ledger), for a captured change from its commit in the database when the capture reports it, else from when it was read.',
      labelNames: ['origin'],
      buckets: commitBucketsSeconds,
      registers,
    }),
    captureLagSeconds: new Gauge({ name: 'entente_capture_lag_seconds', help: 'Age of the oldest captured change not yet on the ledger (0 when caught up), from its commit in the database when the capture reports it, else from when it was read.', registers, collect: readAtScrape((s) => s.captureLagSeconds) }),
    ledgerHeight: new Gauge({ name: 'entente_ledger_height', help: 'Height of the newest block this gateway has verified and stored.', registers, collect: readAtScrape((s) => s.ledgerHeight) }),
    peersConnected: new Gauge({ name: 'entente_peers_connected', help: 'Peers (other gateways) heard from in the last 5 s over authenticated consensus connections.', registers, collect: readAtScrape((s) => s.peersConnected) }),
    peersConfigured: new Gauge({ name: 'entente_peers_configured', help: 'Peers named in the genesis file, not counting this gateway.', registers }),
    subscriptionsActive: new Gauge({ name: 'entente_subscriptions_active', help: 'GraphQL subscriptions currently open.', registers }),
    subscribersDisconnectedSlow: new Counter({ name: 'entente_subscribers_disconnected_slow_total', help: 'Subscribers disconnected because their event queue overflowed.', registers }),
    httpRequests: new Counter({ name: 'entente_http_requests_total', help: 'HTTP requests by route and status.', labelNames: ['route', 'status'], registers }),
    httpRequestSeconds: new Histogram({ name: 'entente_http_request_seconds', help: 'HTTP request duration by route.', labelNames: ['route'], registers }),
    graphqlErrors: new Counter({ name: 'entente_graphql_errors_total', help: 'GraphQL errors returned to clients, by code.', labelNames: ['code'], registers }),
    // Alert on this well before it passes (renew, then SIGHUP the gateway); absent when serving plain http://.
    tlsCertificateExpiry: new Gauge({ name: 'entente_tls_certificate_expiry_timestamp_seconds', help: 'When the TLS certificate this gateway now serves expires, in Unix seconds.', registers }),
    observe(next) {
      sources = { ...sources, ...next };
    },
  };
}
