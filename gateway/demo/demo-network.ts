// `entente demo` (npm start): the supply-chain network on one machine — one gateway per partner, each
// with its own embedded database (seeded on first start), data folder, log file and port, all serving
// the API composed from `network/<partner>.graphql`. Gateways log JSON to `<data>/<partner>/gateway.log`
// so the terminal stays readable; progress goes through `progress`.
//
// Each partner has a node key (`<data>/<partner>/node.key`, made on first start) and the network a
// genesis (`<data>/genesis.json`) enrolling the four keys and the ownership of every shared type. Once
// all four gateways listen, each dials the others and the ledger runs: every change (through the API
// or straight into a partner's database) is ordered by consensus and applied to the partners' replicas.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { GENESIS_FILE, readGenesisFile, writeGenesisFile, type Genesis } from '../../ledger/genesis.ts';
import { createMembership } from '../../ledger/membership.ts';
import { createNodeKey, readNodeKeyFile, writeNodeKeyFile, type NodeKey } from '../../ledger/node/node-key.ts';
import type { UnifiedSchema } from '../../schema/policy.ts';
import { Lifecycle } from '../node/lifecycle.ts';
import { createLogger } from '../server/logger.ts';
import { prepareDataDir, type DemoDataDir } from './data-dir.ts';
import { loadDemoUnifiedSchema, startPartnerGateway, type PartnerGateway } from './partner-gateway.ts';
import { defaultBasePort, demoPartners, type DemoPartner } from './partners.ts';

const nodeKeyFileName = 'node.key';

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
  const keys = await demoNodeKeys(dataDir);
  const genesis = await demoGenesis(dataDir, unified, keys);
  const starts = demoPartners.map(async (partner): Promise<RunningPartner> => {
    const started = performance.now();
    const gateway = await startPartner(unified, partner, options, dataDir, lifecycle, genesis, keys.get(partner.name)!.secretKey);
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
  const peers = running.map(({ gateway }) => ({ partner: gateway.partner, url: gateway.url.replace(/\/graphql$/, ''), consensusUrl: gateway.consensusUrl }));
  for (const { gateway } of running) gateway.join(peers.filter((peer) => peer.partner !== gateway.partner));
  options.progress('Partners joined: consensus is running and each gateway replicates the shared data it may read');
  return { partners: running, dataDir, close: () => lifecycle.close(rootLogger) };
}

async function startPartner(unified: UnifiedSchema, partner: DemoPartner, options: DemoOptions, dataDir: DemoDataDir, lifecycle: Lifecycle, genesis: Genesis, secretKey: Uint8Array): Promise<PartnerGateway> {
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
      ledgerDir: dataDir.ledgerDir(partner.name),
      port: options.basePort === 0 ? 0 : options.basePort + partner.portOffset,
      consensusPort: options.basePort === 0 ? 0 : options.basePort + consensusPortOffset + partner.portOffset,
      genesis,
      secretKey,
      host: options.host ?? '127.0.0.1',
      logDestination: destination,
      ...(options.postgresUrl === undefined ? {} : { postgresUrl: options.postgresUrl, freshDatabase: options.fresh }),
    },
    lifecycle,
  );
}

export { defaultBasePort };

/** Consensus endpoints listen at base + 100 + the partner's offset (4101…4104 by default). */
const consensusPortOffset = 100;

async function demoNodeKeys(dataDir: DemoDataDir): Promise<Map<string, NodeKey>> {
  const keys = new Map<string, NodeKey>();
  for (const partner of demoPartners) {
    const path = join(dataDir.partnerDir(partner.name), nodeKeyFileName);
    if (!existsSync(path)) writeNodeKeyFile(path, createNodeKey(partner.name));
    keys.set(partner.name, readNodeKeyFile(path));
  }
  return keys;
}

/** The network's genesis: written on first start, read afterwards (the chain depends on it). */
async function demoGenesis(dataDir: DemoDataDir, unified: UnifiedSchema, keys: ReadonlyMap<string, NodeKey>): Promise<Genesis> {
  const path = join(dataDir.root, GENESIS_FILE);
  if (existsSync(path)) return readGenesisFile(path);
  const genesis: Genesis = {
    network: 'entente-demo',
    timeMs: Date.parse(dataDir.createdAt),
    schemaVersion: 1,
    membership: createMembership(demoPartners.map((partner) => ({ partner: partner.name, publicKey: keys.get(partner.name)!.publicKey }))),
    ownership: new Map(unified.types.map((type) => [type.name, type.owner])),
  };
  await writeGenesisFile(path, genesis);
  return genesis;
}
