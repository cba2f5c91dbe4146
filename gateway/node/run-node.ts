// One configured gateway (`entente node --config`): the partner's database through its connector, the
// API composed from the network's partner schema files, app and peer authentication, limits, logs and
// metrics, on the configured port. Peers are authenticated by the node keys in the genesis file.
//
// With the network's genesis file present, the gateway joins the network (gateway/node/network-gateway.ts:
// consensus node, ledger under `<dataDir>/ledger`, replicas, forwarding to owners). Without one it serves
// its own database alone (direct writes), e.g. to try `entente init` output before forming a network.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Connector } from '../../connectors/connector.ts';
import { openConnector, redactUrl } from '../../connectors/index.ts';
import { readGenesisFile } from '../../ledger/genesis.ts';
import { LEDGER_SUBDIRECTORY } from '../../ledger/ledger-directory.ts';
import { readNodeKeyFile } from '../../ledger/node/node-key.ts';
import { buildExecutableSchema } from '../../schema/api/build-schema.ts';
import { directWritePath, emptyLedger, InMemoryChangeFeed, type SchemaContext } from '../../schema/api/context.ts';
import { composeSchemas } from '../../schema/compose.ts';
import type { UnifiedSchema } from '../../schema/policy.ts';
import { replicaTablesFor } from '../../schema/replica.ts';
import { loadPartnerSchemaFiles } from '../../schema/schema-files.ts';
import { EntenteError } from '../../common/errors.ts';
import { appAuthenticatorFromConfig } from '../auth/from-config.ts';
import { GatewayAuthenticator, PeerAuthenticator } from '../auth/peer-auth.ts';
import type { GatewayConfig } from '../config/gateway-config.ts';
import { explorerRoute } from '../explorer/explorer-route.ts';
import { createGatewayServer, type GatewayServer } from '../server/gateway-server.ts';
import { createLogger, type Logger } from '../server/logger.ts';
import { createGatewayMetrics, type GatewayMetrics } from '../server/metrics.ts';
import type { GatewayRequestContext } from '../server/request-context.ts';
import { SchemaHolder } from '../server/schema-holder.ts';
import { certificateExpiryWarning, loadTlsMaterial, type TlsMaterial } from '../server/tls-material.ts';
import { TlsReloader } from '../server/tls-reload.ts';
import { Lifecycle } from './lifecycle.ts';
import { startNetworkGateway } from './network-gateway.ts';
import type { Authenticator } from '../auth/caller.ts';

export type NodeContext = GatewayRequestContext & SchemaContext;

export interface RunningNode {
  readonly url: string;
  readonly port: number;
  readonly server: GatewayServer;
  readonly logger: Logger;
  /**
   * Reads the TLS files again and serves new connections with them (SIGHUP in `entente node`). Throws
   * CONFIG_INVALID, changing nothing, when they are not usable or none are configured.
   */
  reloadTls(): Promise<TlsMaterial>;
  close(): Promise<void>;
}

export async function startConfiguredNode(config: GatewayConfig, options: { readonly logger?: Logger } = {}): Promise<RunningNode> {
  const logger = options.logger ?? createLogger({ level: config.logLevel, bindings: { partner: config.partner } });
  const lifecycle = new Lifecycle();
  try {
    // TLS files are checked before anything opens: a bad certificate is a config error, not a late surprise.
    const tls = await loadTlsMaterial(config.tls);
    const tlsReloader = new TlsReloader(config.tls, tls);
    const peerKeys = await peerKeysFromGenesis(config);
    const apps = await appAuthenticatorFromConfig(config.auth, config.partner);
    const authenticator = new GatewayAuthenticator(apps, peerKeys.size === 0 ? null : new PeerAuthenticator({ self: config.partner, peerKeys }));
    const unified = composeSchemas(await loadPartnerSchemaFiles(config.schemaDir));
    if (!unified.partners.includes(config.partner)) {
      throw new EntenteError('CONFIG_INVALID', `partner "${config.partner}" has no schema file in ${config.schemaDir}; add ${config.partner}.graphql (entente init writes one) or fix "partner".`);
    }
    const connector = await openConnector(config.databaseUrl, config.capture === undefined ? {} : { capture: config.capture });
    lifecycle.defer('database', () => connector.close());
    if (!connector.capabilities.durableCommits) {
      logger.warn({ event: 'database.not-durable', database: redactUrl(config.databaseUrl) }, 'this database does not sync commits to disk (PGlite): an operating-system crash or a power loss can lose or damage recent commits. Use PostgreSQL, MariaDB/MySQL or MongoDB for data that cannot be rebuilt from the ledger.');
    }
    if (peerKeys.size > 0 || (await exists(config.genesisFile))) return await startInNetwork(config, unified, connector, apps, logger, lifecycle, tlsReloader);
    await connector.replica.ensureTables(replicaTablesFor(unified, config.partner));
    const metrics = createGatewayMetrics({ partner: config.partner });
    metrics.peersConfigured.set(config.peers.length);
    const changeFeed = new InMemoryChangeFeed(config.limits.subscriberQueueMax);
    const writePath = directWritePath(connector, config.partner, changeFeed);
    const server = createGatewayServer<NodeContext>({
      partner: config.partner,
      // Each caller is served the API built for its partner and roles: what it may not use is absent.
      schema: new SchemaHolder(buildExecutableSchema(unified, { partner: config.partner }), 1, (viewer) => buildExecutableSchema(unified, { partner: config.partner, viewer })),
      authenticator,
      createContext: (base) => ({ ...base, connector, writePath, changeFeed, ledger: emptyLedger }),
      logger,
      metrics,
      limits: config.limits,
      introspection: config.introspection,
      anonymousAllowed: config.auth.anonymousRoles !== null,
      readiness: [databaseCheck(connector, unified, config.partner)],
      routes: [explorerRoute({ partner: config.partner, logger })],
      tls: tls.serve,
    });
    const listening = await server.listen(config.listen);
    lifecycle.defer('gateway', () => server.close());
    tlsReloader.attach((material) => {
      if (material.serve !== null) server.replaceCertificate(material.serve);
    });
    reportCertificateExpiry(tlsReloader, metrics, logger);
    return { url: listening.url, port: listening.port, server, logger, reloadTls: () => tlsReloader.reload(), close: () => lifecycle.close(logger) };
  } catch (error) {
    await lifecycle.close(logger);
    throw error;
  }
}

/** With a genesis file the gateway is a member of a network: consensus, ledger, replicas, forwarding. */
async function startInNetwork(config: GatewayConfig, unified: UnifiedSchema, connector: Connector, apps: Authenticator, logger: Logger, lifecycle: Lifecycle, tlsReloader: TlsReloader): Promise<RunningNode> {
  const genesis = await readGenesisFile(config.genesisFile);
  const key = readNodeKeyFile(config.nodeKeyFile);
  const metrics = createGatewayMetrics({ partner: config.partner });
  const gateway = await startNetworkGateway({
    unified, partner: config.partner, connector, genesis, secretKey: key.secretKey, ledgerDirectory: join(config.dataDir, LEDGER_SUBDIRECTORY),
    listen: config.listen, consensusListen: config.consensusListen, appAuthenticator: apps, anonymousAllowed: config.auth.anonymousRoles !== null,
    logger, metrics, limits: config.limits, introspection: config.introspection, tls: tlsReloader.material,
  });
  lifecycle.defer('gateway', () => gateway.close());
  gateway.join(config.peers.map((peer) => ({ partner: peer.partner, url: peer.url, consensusUrl: peer.consensusUrl })));
  logger.info({ consensus: gateway.consensusUrl, peers: config.peers.length, height: gateway.runtime.node.height }, 'joined the network');
  tlsReloader.attach((material) => gateway.replaceTls(material));
  reportCertificateExpiry(tlsReloader, metrics, logger);
  return { url: gateway.url, port: gateway.port, server: gateway.server, logger, reloadTls: () => tlsReloader.reload(), close: () => lifecycle.close(logger) };
}

/** Keeps the served certificate's expiry in /metrics, now and after every reload, and warns when renewal is due. */
function reportCertificateExpiry(tlsReloader: TlsReloader, metrics: GatewayMetrics, logger: Logger): void {
  const report = (material: TlsMaterial): void => {
    if (material.serve !== null) metrics.tlsCertificateExpiry.set(Math.floor(material.serve.notAfter.getTime() / 1000));
    const warning = certificateExpiryWarning(material);
    if (warning !== null) logger.warn({ event: 'tls.expiring', certificateExpires: material.serve?.notAfter.toISOString() }, warning);
  };
  report(tlsReloader.material);
  tlsReloader.attach(report);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function peerKeysFromGenesis(config: GatewayConfig): Promise<ReadonlyMap<string, Uint8Array>> {
  const exists = await access(config.genesisFile).then(() => true, () => false);
  if (!exists) return new Map();
  const genesis = await readGenesisFile(config.genesisFile);
  return new Map(genesis.membership.nodes.filter((node) => node.partner !== config.partner).map((node) => [node.partner, node.publicKey]));
}

function databaseCheck(connector: Connector, unified: UnifiedSchema, partner: string) {
  const table = unified.types.find((type) => type.owner === partner)?.table;
  return {
    name: 'database',
    check: async () => {
      if (table !== undefined) await connector.count(table);
      else await connector.replica.appliedHeight();
      return { ok: true, detail: { family: connector.family } };
    },
  };
}
