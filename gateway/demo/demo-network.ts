// `entente demo` (npm start): the supply-chain network on one machine — one gateway per partner, each
// with its own data folder, log file and port. Gateways log JSON to `<data>/<partner>/gateway.log` so
// the terminal stays readable; progress goes through `progress`.
//
// Stage of integration (see issue #8): each partner's gateway, API, health/ready/metrics and status are
// real; the shared data, consensus and replicas join as the connector, schema and consensus layers
// land — `describeStage` says exactly what is running, so the demo never pretends.
import { join } from 'node:path';
import { pino } from 'pino';
import type { Authenticator } from '../auth/caller.ts';
import { Lifecycle } from '../node/lifecycle.ts';
import { statusOnlySchema } from '../node/status-schema.ts';
import { createGatewayServer } from '../server/gateway-server.ts';
import { defaultLimits } from '../server/limits.ts';
import { createLogger, type Logger } from '../server/logger.ts';
import { createGatewayMetrics } from '../server/metrics.ts';
import { SchemaHolder } from '../server/schema-holder.ts';
import { prepareDataDir, type DemoDataDir } from './data-dir.ts';
import { defaultBasePort, demoPartners, type DemoPartner } from './partners.ts';

export interface DemoOptions {
  readonly dataDir: string;
  readonly fresh: boolean;
  /** Partner i listens on basePort + i; 0 picks free ports (tests). */
  readonly basePort: number;
  readonly host?: string;
  readonly progress: (line: string) => void;
}

export interface RunningPartner {
  readonly partner: DemoPartner;
  readonly graphqlUrl: string;
  readonly port: number;
  readonly dataDir: string;
}

export interface DemoNetwork {
  readonly partners: readonly RunningPartner[];
  readonly dataDir: DemoDataDir;
  close(): Promise<void>;
}

export async function startDemoNetwork(options: DemoOptions): Promise<DemoNetwork> {
  const lifecycle = new Lifecycle();
  const rootLogger = createLogger({ level: 'silent' });
  const dataDir = await prepareDataDir(options.dataDir, demoPartners, options.fresh);
  options.progress(`${dataDir.created ? 'Created' : 'Reusing'} data directory ${options.dataDir}`);
  const running: RunningPartner[] = [];
  try {
    for (const partner of demoPartners) {
      options.progress(`Starting ${partner.name} (${partner.title})…`);
      running.push(await startPartner(partner, options, dataDir, lifecycle));
    }
  } catch (error) {
    await lifecycle.close(rootLogger);
    throw error;
  }
  return { partners: running, dataDir, close: () => lifecycle.close(rootLogger) };
}

async function startPartner(partner: DemoPartner, options: DemoOptions, dataDir: DemoDataDir, lifecycle: Lifecycle): Promise<RunningPartner> {
  const destination = pino.destination({ dest: join(dataDir.partnerDir(partner.name), 'gateway.log'), mkdir: true, sync: false });
  lifecycle.defer(`${partner.name} log`, () => new Promise<void>((resolve) => {
    destination.flushSync();
    destination.end();
    resolve();
  }));
  const logger: Logger = createLogger({ level: 'info', destination, bindings: { partner: partner.name } });
  const metrics = createGatewayMetrics({ partner: partner.name }, { processMetrics: false });
  const peers = demoPartners.filter((other) => other.name !== partner.name);
  metrics.peersConfigured.set(peers.length);
  const holder: SchemaHolder = new SchemaHolder(
    statusOnlySchema({
      partner: partner.name,
      peers: () => peers.map((peer) => ({ partner: peer.name, connected: false })),
      ledgerHeight: async () => 0,
      ledgerHead: async () => null,
      schemaVersion: () => holder.current().version,
    }),
  );
  const server = createGatewayServer({
    partner: partner.name,
    schema: holder,
    authenticator: demoAuthenticator(partner.name),
    createContext: (base) => base,
    logger,
    metrics,
    limits: defaultLimits,
    anonymousAllowed: true,
    readiness: [{ name: 'gateway', check: async () => ({ ok: true }) }],
  });
  const port = options.basePort === 0 ? 0 : options.basePort + partner.portOffset;
  const listening = await server.listen({ port, host: options.host ?? '127.0.0.1' });
  lifecycle.defer(`${partner.name} gateway`, () => server.close());
  return { partner, graphqlUrl: listening.url, port: listening.port, dataDir: dataDir.partnerDir(partner.name) };
}

/** The demo listens on localhost only and lets every local caller in as the partner's own user. */
function demoAuthenticator(partner: string): Authenticator {
  return { authenticate: async () => ({ kind: 'anonymous', partner, roles: ['demo'] }) };
}

export { defaultBasePort };
