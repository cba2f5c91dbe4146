// One demo partner: its seeded database (the "existing" database a partner brings) and its network
// gateway (gateway/node/network-gateway.ts): consensus node, ledger, replicas and the API built for it.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DestinationStream } from 'pino';
import type { Genesis } from '../../ledger/genesis.ts';
import { composeSchemas } from '../../schema/compose.ts';
import type { UnifiedSchema } from '../../schema/policy.ts';
import { loadPartnerSchemaFiles } from '../../schema/schema-files.ts';
import type { Authenticator } from '../auth/caller.ts';
import type { Lifecycle } from '../node/lifecycle.ts';
import { startNetworkGateway, type NetworkGateway } from '../node/network-gateway.ts';
import { defaultLimits } from '../server/limits.ts';
import { createLogger } from '../server/logger.ts';
import { demoSchemaDirectory, openPartnerDatabase, openPartnerPostgres } from './partner-database.ts';

export interface PartnerGatewayOptions {
  readonly partner: string;
  readonly dataDir: string;
  readonly ledgerDir: string;
  readonly port: number;
  /** The consensus endpoint's port (0: any free port). */
  readonly consensusPort: number;
  readonly host: string;
  readonly genesis: Genesis;
  readonly secretKey: Uint8Array;
  readonly logDestination?: DestinationStream;
  readonly logLevel?: 'info' | 'warn' | 'silent';
  readonly authenticator?: Authenticator;
  /** A PostgreSQL server URL to run on instead of embedded PGlite (`entente demo --db`). */
  readonly postgresUrl?: string;
  readonly freshDatabase?: boolean;
}

export interface PartnerGateway extends NetworkGateway {
  readonly seeded: boolean;
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
  const gateway = await startNetworkGateway({
    unified, partner, connector: database.connector, genesis: options.genesis, secretKey: options.secretKey, ledgerDirectory: options.ledgerDir,
    listen: { port: options.port, host: options.host }, consensusListen: { port: options.consensusPort, host: options.host },
    appAuthenticator: options.authenticator ?? localDemoAuthenticator(partner), anonymousAllowed: options.authenticator === undefined,
    logger, limits: defaultLimits,
  });
  lifecycle.defer(`${partner} gateway`, () => gateway.close());
  return { ...gateway, seeded: database.seeded };
}

/** The demo listens on localhost only and lets every local caller in as the partner's own user. */
function localDemoAuthenticator(partner: string): Authenticator {
  return { authenticate: async () => ({ kind: 'anonymous', partner, roles: ['demo'] }) };
}
