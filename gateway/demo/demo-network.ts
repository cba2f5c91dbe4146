// `entente demo` (npm start): the supply-chain network on one machine — one gateway per partner, each
// with its own embedded database (seeded on first start), data folder, log file and port, all serving
// the API composed from `network/<partner>.graphql`. Gateways log JSON to `<data>/<partner>/gateway.log`
// so the terminal stays readable; progress goes through `progress`.
//
// Stage of integration (issue #8): databases, API, writes, subscriptions, health/ready/metrics are
// real per partner; the shared ledger (consensus, replicas filled from committed blocks) joins when the
// consensus node is wired in — until then replicas exist but stay empty, and the ready message says so.
import { join } from 'node:path';
import { pino } from 'pino';
import { Lifecycle } from '../node/lifecycle.ts';
import { createLogger } from '../server/logger.ts';
import { prepareDataDir, type DemoDataDir } from './data-dir.ts';
import { loadDemoUnifiedSchema, startPartnerGateway, type PartnerGateway } from './partner-gateway.ts';
import { defaultBasePort, demoPartners, type DemoPartner } from './partners.ts';

export interface DemoOptions {
  readonly dataDir: string;
  readonly fresh: boolean;
  /** Partner i listens on basePort + i; 0 picks free ports (tests). */
  readonly basePort: number;
  readonly host?: string;
  /** Run the partners on this PostgreSQL server (one database each) instead of embedded PGlite. */
  readonly postgresUrl?: string;
  readonly progress: (line: string) => void;
}

export interface RunningPartner {
  readonly partner: DemoPartner;
  readonly graphqlUrl: string;
  readonly port: number;
  readonly dataDir: string;
  readonly gateway: PartnerGateway;
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
  const unified = await loadDemoUnifiedSchema();
  options.progress(`Composed the shared schema: ${unified.types.map((type) => `${type.name} (${type.owner})`).join(', ')}`);
  // Partners start concurrently: most of a start is opening (or creating) the embedded database.
  options.progress(`Starting ${demoPartners.map((partner) => partner.name).join(', ')}${dataDir.created ? ' (first start: creating and seeding four databases)' : ''}…`);
  const starts = demoPartners.map(async (partner): Promise<RunningPartner> => {
    const started = performance.now();
    const gateway = await startPartner(unified, partner, options, dataDir, lifecycle);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    options.progress(`${partner.name}: ${gateway.seeded ? 'created and seeded its database' : 'opened its database'}, gateway up (${seconds} s)`);
    return { partner, graphqlUrl: gateway.url, port: gateway.port, dataDir: dataDir.partnerDir(partner.name), gateway };
  });
  const outcomes = await Promise.allSettled(starts);
  const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure !== undefined) {
    await lifecycle.close(rootLogger);
    throw failure.reason;
  }
  const running = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<RunningPartner>).value);
  return { partners: running, dataDir, close: () => lifecycle.close(rootLogger) };
}

async function startPartner(unified: Awaited<ReturnType<typeof loadDemoUnifiedSchema>>, partner: DemoPartner, options: DemoOptions, dataDir: DemoDataDir, lifecycle: Lifecycle): Promise<PartnerGateway> {
  const destination = pino.destination({ dest: join(dataDir.partnerDir(partner.name), 'gateway.log'), mkdir: true, sync: false });
  lifecycle.defer(`${partner.name} log`, async () => {
    destination.flushSync();
    destination.end();
  });
  return startPartnerGateway(
    unified,
    {
      partner: partner.name,
      dataDir: dataDir.partnerDir(partner.name),
      port: options.basePort === 0 ? 0 : options.basePort + partner.portOffset,
      host: options.host ?? '127.0.0.1',
      logDestination: destination,
      ...(options.postgresUrl === undefined ? {} : { postgresUrl: options.postgresUrl, freshDatabase: options.fresh }),
    },
    lifecycle,
  );
}

export { defaultBasePort };
