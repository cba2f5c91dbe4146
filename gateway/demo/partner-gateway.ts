// One demo partner: its database (connector), the unified API built for it, and its gateway server.
// Until consensus is wired in, writes commit on the owner's database only (schema/api's direct write
// path) and subscriptions fire on this gateway's own changes; replicas of other partners' types exist
// (created empty) and fill once committed blocks are applied.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import type { Connector } from '../../connectors/connector.ts';
import { buildExecutableSchema } from '../../schema/api/build-schema.ts';
import { directWritePath, emptyLedger, InMemoryChangeFeed, type SchemaContext } from '../../schema/api/context.ts';
import { composeSchemas } from '../../schema/compose.ts';
import type { UnifiedSchema } from '../../schema/policy.ts';
import { replicaTablesFor } from '../../schema/replica.ts';
import { loadPartnerSchemaFiles } from '../../schema/schema-files.ts';
import type { Authenticator } from '../auth/caller.ts';
import type { Lifecycle } from '../node/lifecycle.ts';
import { explorerRoute } from '../explorer/explorer-route.ts';
import { createGatewayServer, type GatewayServer } from '../server/gateway-server.ts';
import { defaultLimits } from '../server/limits.ts';
import { createLogger } from '../server/logger.ts';
import { createGatewayMetrics, type GatewayMetrics } from '../server/metrics.ts';
import type { GatewayRequestContext } from '../server/request-context.ts';
import { SchemaHolder } from '../server/schema-holder.ts';
import { demoSchemaDirectory, openPartnerDatabase, openPartnerPostgres } from './partner-database.ts';

export type DemoContext = GatewayRequestContext & SchemaContext;

export interface PartnerGatewayOptions {
  readonly partner: string;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly logDestination?: DestinationStream;
  readonly logLevel?: 'info' | 'warn' | 'silent';
  readonly authenticator?: Authenticator;
  /** A PostgreSQL server URL to run on instead of embedded PGlite (`entente demo --db`). */
  readonly postgresUrl?: string;
  readonly freshDatabase?: boolean;
}

export interface PartnerGateway {
  readonly partner: string;
  readonly url: string;
  readonly port: number;
  readonly seeded: boolean;
  readonly server: GatewayServer;
  readonly metrics: GatewayMetrics;
  readonly changeFeed: InMemoryChangeFeed;
  readonly connector: Connector;
}

export async function loadDemoUnifiedSchema(): Promise<UnifiedSchema> {
  return composeSchemas(await loadPartnerSchemaFiles(fileURLToPath(demoSchemaDirectory)));
}

export async function startPartnerGateway(unified: UnifiedSchema, options: PartnerGatewayOptions, lifecycle: Lifecycle): Promise<PartnerGateway> {
  const { partner } = options;
  const logger = createLogger({ level: options.logLevel ?? 'info', bindings: { partner }, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const database =
    options.postgresUrl === undefined
      ? await openPartnerDatabase(partner, join(options.dataDir, 'db'))
      : await openPartnerPostgres(partner, options.postgresUrl, options.freshDatabase ?? false);
  lifecycle.defer(`${partner} database`, () => database.close());
  const { connector } = database;
  await connector.replica.ensureTables(replicaTablesFor(unified, partner));
  const metrics = createGatewayMetrics({ partner }, { processMetrics: false });
  metrics.peersConfigured.set(unified.partners.length - 1);
  const changeFeed = new InMemoryChangeFeed(defaultLimits.subscriberQueueMax);
  const writePath = directWritePath(connector, partner, changeFeed);
  // Each caller is served the API built for its partner and roles: what it may not use is absent.
  const holder = new SchemaHolder(buildExecutableSchema(unified, { partner }), 1, (viewer) => buildExecutableSchema(unified, { partner, viewer }));
  const ownTable = unified.types.find((type) => type.owner === partner)?.table;
  const server = createGatewayServer<DemoContext>({
    partner,
    schema: holder,
    authenticator: options.authenticator ?? localDemoAuthenticator(partner),
    createContext: (base) => ({ ...base, connector, writePath, changeFeed, ledger: emptyLedger }),
    logger,
    metrics,
    anonymousAllowed: options.authenticator === undefined,
    routes: [explorerRoute({ partner, logger })],
    readiness: [
      {
        name: 'database',
        check: async () => {
          if (ownTable !== undefined) await connector.count(ownTable);
          return { ok: true, detail: { family: connector.family } };
        },
      },
    ],
  });
  const listening = await server.listen({ port: options.port, host: options.host });
  lifecycle.defer(`${partner} gateway`, () => server.close());
  return { partner, url: listening.url, port: listening.port, seeded: database.seeded, server, metrics, changeFeed, connector };
}

/** The demo listens on localhost only and lets every local caller in as the partner's own user. */
function localDemoAuthenticator(partner: string): Authenticator {
  return { authenticate: async () => ({ kind: 'anonymous', partner, roles: ['demo'] }) };
}
