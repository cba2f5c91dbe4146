// One partner's gateway in a network: its database (through the connector), the ledger runtime
// (consensus node, capture publisher, replica applier, ledgered write path), and the HTTP/WebSocket
// server serving the API built for each caller. Used by `entente node --config` and by the demo; tests
// start several in one process. Peers are authenticated by the node keys in the genesis.
import type { Connector } from '../../connectors/connector.ts';
import { bytesEqual } from '../../ledger/encoding/hex.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { ed25519PublicKey } from '../../ledger/crypto/ed25519.ts';
import { buildExecutableSchema } from '../../schema/api/build-schema.ts';
import { buildSubgraph } from '../../schema/federation.ts';
import { InMemoryChangeFeed, type SchemaContext } from '../../schema/api/context.ts';
import type { UnifiedSchema } from '../../schema/policy.ts';
import { replicaTablesFor } from '../../schema/replica.ts';
import { EntenteError } from '../../common/errors.ts';
import type { Authenticator } from '../auth/caller.ts';
import { GatewayAuthenticator, PeerAuthenticator } from '../auth/peer-auth.ts';
import { explorerRoute } from '../explorer/explorer-route.ts';
import { startLedgerRuntime, type LedgerRuntime } from '../ledger/ledger-runtime.ts';
import { withSchemaEvolutionApi } from '../ledger/schema-api.ts';
import { SchemaEvolution } from '../ledger/schema-evolution.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import type { SchemaFileText } from '../../schema/evolution/schema-transactions.ts';
import { createGatewayServer, type GatewayServer, type RouteHandler } from '../server/gateway-server.ts';
import { defaultLimits, type GatewayLimits } from '../server/limits.ts';
import type { Logger } from '../server/logger.ts';
import { createGatewayMetrics, type GatewayMetrics } from '../server/metrics.ts';
import type { ReadinessCheck } from '../server/readiness.ts';
import type { GatewayRequestContext } from '../server/request-context.ts';
import { SchemaHolder } from '../server/schema-holder.ts';
import type { TlsMaterial } from '../server/tls-material.ts';

export type NetworkContext = GatewayRequestContext & SchemaContext;

export interface NetworkPeer {
  readonly partner: string;
  /** The peer gateway's base URL (http://host:port): forwarded mutations go there. */
  readonly url: string;
  /** The peer's consensus endpoint (ws:// or wss://host:port). */
  readonly consensusUrl: string;
}

export interface NetworkGatewayOptions {
  readonly unified: UnifiedSchema;
  /** The configured partner files behind `unified`: schema evolution's first version when the genesis holds none. */
  readonly schemaFiles?: readonly SchemaFileText[];
  readonly partner: string;
  readonly connector: Connector;
  readonly genesis: Genesis;
  readonly secretKey: Uint8Array;
  /** The ledger lives in `<ledgerDirectory>` (what `entente verify --data` reads). */
  readonly ledgerDirectory: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly consensusListen: { readonly host: string; readonly port: number };
  /** Serve https:// and wss://, and trust these authorities for peers (gateway/server/tls-material.ts); default plain. */
  readonly tls?: TlsMaterial;
  /** Authenticates this partner's own apps (peers are authenticated by their node keys). */
  readonly appAuthenticator: Authenticator;
  readonly anonymousAllowed: boolean;
  readonly logger: Logger;
  readonly metrics?: GatewayMetrics;
  readonly limits?: GatewayLimits;
  readonly introspection?: boolean;
  readonly emptyBlockDelayMs?: number;
  readonly ledgerWaitMs?: number;
  readonly readiness?: readonly ReadinessCheck[];
  readonly routes?: readonly RouteHandler[];
}

export interface NetworkGateway {
  readonly partner: string;
  readonly url: string;
  readonly port: number;
  readonly consensusUrl: string;
  readonly server: GatewayServer;
  readonly runtime: LedgerRuntime;
  /** The active schema version and the propose/approve API (issue #11). */
  readonly schema: SchemaEvolution;
  readonly changeFeed: InMemoryChangeFeed;
  readonly connector: Connector;
  readonly metrics: GatewayMetrics;
  /** Addresses of the other partners' gateways; starts publishing and applying. */
  join(peers: readonly NetworkPeer[]): void;
  /** Renewed TLS material (gateway/server/tls-reload.ts): API and consensus certificate, peer authorities. */
  replaceTls(material: TlsMaterial): void;
  close(): Promise<void>;
}

export async function startNetworkGateway(options: NetworkGatewayOptions): Promise<NetworkGateway> {
  const { partner, connector, genesis, logger } = options;
  const self = genesis.membership.nodes.find((node) => node.partner === partner);
  if (self === undefined) throw new EntenteError('CONFIG_INVALID', `partner "${partner}" is not in the genesis membership; add its node key with \`entente genesis\``);
  if (!bytesEqual(self.publicKey, ed25519PublicKey(options.secretKey))) throw new EntenteError('CONFIG_INVALID', `the node key does not match the public key the genesis enrols for "${partner}"; use the key \`entente keygen\` wrote for this partner`);
  // Schema evolution: the components below read `schema.live`, which answers with the active version.
  const schema = new SchemaEvolution({ partner, genesis, hasher: nodeHasher, connector, logger, unified: options.unified, stateDirectory: options.ledgerDirectory, ...(options.schemaFiles === undefined ? {} : { files: options.schemaFiles }) });
  const unified = schema.live;
  await connector.replica.ensureTables(replicaTablesFor(unified, partner));
  const limits = options.limits ?? defaultLimits;
  const changeFeed = new InMemoryChangeFeed(limits.subscriberQueueMax);
  const gatewayUrls = new Map<string, string>();
  const metrics = options.metrics ?? createGatewayMetrics({ partner }, { processMetrics: false });
  const runtime = await startLedgerRuntime({
    unified, partner, connector, genesis, secretKey: options.secretKey, ledgerDirectory: options.ledgerDirectory, consensusListen: options.consensusListen,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    gatewayUrl: (owner) => gatewayUrls.get(owner), changeFeed, logger,
    ...(options.emptyBlockDelayMs === undefined ? {} : { emptyBlockDelayMs: options.emptyBlockDelayMs }),
    ...(options.ledgerWaitMs === undefined ? {} : { ledgerWaitMs: options.ledgerWaitMs }),
    idempotencyRetentionMs: limits.idempotencyKeyRetentionHours * 3_600_000,
    schema, metrics,
  });
  try {
    // A restart replays the schema versions the replica was left in, then serves that version.
    schema.attach(runtime.node);
    schema.replayStored(await connector.replica.appliedHeight());
    await connector.replica.ensureTables(replicaTablesFor(unified, partner));
    const peerKeys = new Map(genesis.membership.nodes.filter((node) => node.partner !== partner).map((node) => [node.partner, node.publicKey]));
    const authenticator = new GatewayAuthenticator(options.appAuthenticator, new PeerAuthenticator({ self: partner, peerKeys }));
    metrics.peersConfigured.set(peerKeys.size);
    const apiFor = (version: UnifiedSchema) => ({
      schema: withSchemaEvolutionApi(buildExecutableSchema(version, { partner }), schema, partner, null),
      forViewer: (viewer: { partner: string; roles: readonly string[] }) => withSchemaEvolutionApi(buildExecutableSchema(version, { partner, viewer }), schema, partner, viewer.partner),
    });
    const initialApi = apiFor(schema.unified);
    const holder = new SchemaHolder(initialApi.schema, schema.version, initialApi.forViewer);
    // A version activated by a committed block: new requests and subscriptions get it; open ones keep theirs.
    schema.onActivated((event) => {
      const api = apiFor(event.unified);
      holder.replace(api.schema, event.version, api.forViewer);
    });
    const schemaCheck: ReadinessCheck = { name: 'schema', check: async () => ({ ok: true, detail: { version: schema.version, activatedAtHeight: schema.status().activatedAtHeight, pending: schema.status().pending.length } }) };
    // This partner's own types as a Federation 2 subgraph at /subgraph, with the same per-viewer access.
    const subgraph = new SchemaHolder(buildSubgraph(unified, { partner }).schema, schema.version, (viewer) => buildSubgraph(unified, { partner, viewer }).schema);
    // Schema evolution swaps the subgraph with the API (`unified` reads the active version).
    schema.onActivated((event) => subgraph.replace(buildSubgraph(event.unified, { partner }).schema, event.version, (viewer) => buildSubgraph(event.unified, { partner, viewer }).schema));
    const ownTable = unified.types.find((type) => type.owner === partner)?.table;
    const databaseCheck: ReadinessCheck = {
      name: 'database',
      check: async () => {
        if (ownTable !== undefined) await connector.count(ownTable);
        else await connector.replica.appliedHeight();
        return { ok: true, detail: { family: connector.family } };
      },
    };
    const server = createGatewayServer<NetworkContext>({
      partner,
      schema: holder,
      authenticator,
      createContext: (base) => ({ ...base, connector, writePath: runtime.writePath, changeFeed, ledger: runtime.ledger }),
      logger,
      metrics,
      limits,
      introspection: options.introspection ?? true,
      anonymousAllowed: options.anonymousAllowed,
      readiness: [databaseCheck, runtime.readiness(), schemaCheck, ...(options.readiness ?? [])],
      routes: [explorerRoute({ partner, logger }), ...(options.routes ?? [])],
      subgraph,
      tls: options.tls?.serve ?? null,
    });
    const listening = await server.listen(options.listen);
    const consensusHost = options.consensusListen.host === '0.0.0.0' ? '127.0.0.1' : options.consensusListen.host;
    return {
      partner, url: listening.url, port: listening.port, consensusUrl: `${(options.tls?.serve ?? null) === null ? 'ws' : 'wss'}://${consensusHost}:${runtime.consensusPort}`,
      server, runtime, schema, changeFeed, connector, metrics,
      join(peers) {
        for (const peer of peers) gatewayUrls.set(peer.partner, peer.url);
        runtime.connectPeers(Object.fromEntries(peers.map((peer) => [peer.partner, peer.consensusUrl])));
        runtime.begin();
      },
      replaceTls(material) {
        if (material.serve !== null) server.replaceCertificate(material.serve);
        runtime.replaceTls(material);
      },
      async close() {
        await server.close();
        // A consistent snapshot of the fold while the ledger is still open; blocks folded after it are
        // simply folded again at the next start.
        await schema.save();
        await runtime.close();
      },
    };
  } catch (error) {
    await runtime.close();
    throw error;
  }
}
