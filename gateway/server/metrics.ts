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
}

/** Commit latencies are milliseconds to seconds: fine buckets where the goals are (≤ 20 ms p50). */
const commitBucketsSeconds = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createGatewayMetrics(labels: Readonly<Record<string, string>>, options: { readonly processMetrics?: boolean } = {}): GatewayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ ...labels });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'entente_' });
  const registers = [registry];
  return {
    registry,
    commits: new Counter({ name: 'entente_commits_total', help: 'Ledger transactions committed by consensus, by origin (mutation or capture).', labelNames: ['origin'], registers }),
    commitLatencySeconds: new Histogram({
      name: 'entente_commit_latency_seconds',
      help: 'From a change entering the write path to its transaction being committed on the ledger.',
      labelNames: ['origin'],
      buckets: commitBucketsSeconds,
      registers,
    }),
    captureLagSeconds: new Gauge({ name: 'entente_capture_lag_seconds', help: 'Age of the oldest captured change not yet on the ledger (0 when caught up).', registers }),
    ledgerHeight: new Gauge({ name: 'entente_ledger_height', help: 'Height of the newest block this gateway has verified and stored.', registers }),
    peersConnected: new Gauge({ name: 'entente_peers_connected', help: 'Peers (other gateways) currently connected and authenticated.', registers }),
    peersConfigured: new Gauge({ name: 'entente_peers_configured', help: 'Peers named in the genesis file, not counting this gateway.', registers }),
    subscriptionsActive: new Gauge({ name: 'entente_subscriptions_active', help: 'GraphQL subscriptions currently open.', registers }),
    subscribersDisconnectedSlow: new Counter({ name: 'entente_subscribers_disconnected_slow_total', help: 'Subscribers disconnected because their event queue overflowed.', registers }),
    httpRequests: new Counter({ name: 'entente_http_requests_total', help: 'HTTP requests by route and status.', labelNames: ['route', 'status'], registers }),
    httpRequestSeconds: new Histogram({ name: 'entente_http_request_seconds', help: 'HTTP request duration by route.', labelNames: ['route'], registers }),
    graphqlErrors: new Counter({ name: 'entente_graphql_errors_total', help: 'GraphQL errors returned to clients, by code.', labelNames: ['code'], registers }),
    // Alert on this well before it passes (renew, then SIGHUP the gateway); absent when serving plain http://.
    tlsCertificateExpiry: new Gauge({ name: 'entente_tls_certificate_expiry_timestamp_seconds', help: 'When the TLS certificate this gateway now serves expires, in Unix seconds.', registers }),
  };
}
