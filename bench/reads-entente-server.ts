// Child process of `npm run bench:reads`: one Entente gateway (createGatewayServer + the generated API
// over the PostgreSQL connector) on the benchmark database, the way `entente node` serves a partner's
// own tables. Prints {"port": N} once listening; stops on SIGTERM. BENCH_NESTED_READS=0 turns the
// connector's nested reads off (one statement per level, as before issue #12's fix).
//   node bin/run-ts.js bench/reads-entente-server.ts <database url>
import { openPostgresConnector } from '../connectors/postgres/postgres-connector.ts';
import type { Authenticator } from '../gateway/auth/caller.ts';
import { createGatewayServer } from '../gateway/server/gateway-server.ts';
import { createLogger } from '../gateway/server/logger.ts';
import { createGatewayMetrics } from '../gateway/server/metrics.ts';
import type { GatewayRequestContext } from '../gateway/server/request-context.ts';
import { SchemaHolder } from '../gateway/server/schema-holder.ts';
import { buildExecutableSchema } from '../schema/api/build-schema.ts';
import { directWritePath, emptyLedger, InMemoryChangeFeed, type SchemaContext } from '../schema/api/context.ts';
import { composeSchemas } from '../schema/compose.ts';
import { readsSdl } from './support/reads-schema.ts';

const partner = 'bench';
const anonymous: Authenticator = { authenticate: async () => ({ kind: 'anonymous', partner, roles: [] }) };

async function main(): Promise<void> {
  const url = process.argv[2];
  if (url === undefined) throw new Error('usage: reads-entente-server.ts <database url>');
  const unified = composeSchemas([{ path: 'bench/reads.graphql', partner, source: readsSdl }]);
  const opened = await openPostgresConnector(url);
  // BENCH_NESTED_READS=0 measures the level-by-level path (list, then listGrouped per level) for comparison.
  const connector = process.env['BENCH_NESTED_READS'] === '0' ? { ...opened, capabilities: { ...opened.capabilities, nestedReads: false } } : opened;
  const changeFeed = new InMemoryChangeFeed();
  const writePath = directWritePath(connector, partner, changeFeed);
  const holder = new SchemaHolder(buildExecutableSchema(unified, { partner }), 1, (viewer) => buildExecutableSchema(unified, { partner, viewer }));
  const server = createGatewayServer<GatewayRequestContext & SchemaContext>({
    partner,
    schema: holder,
    authenticator: anonymous,
    anonymousAllowed: true,
    createContext: (base) => ({ ...base, connector, writePath, changeFeed, ledger: emptyLedger }),
    logger: createLogger({ level: 'silent' }),
    metrics: createGatewayMetrics({ partner }, { processMetrics: false }),
  });
  const { port } = await server.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.once('SIGTERM', () => {
    void server.close().then(() => connector.close()).then(() => process.exit(0));
  });
}

await main();
