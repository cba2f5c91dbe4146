// Everything a gateway needs to take part in the network, assembled: its consensus node (ledger and
// block store under `<data>/ledger`), the capture publisher (own changes → ledger), the replica applier
// (committed blocks → replica tables → subscriptions), the ledgered write path with forwarding, and the
// `ledger` API reader. `start` brings the node up; `begin` (once peers are dialled) starts publishing
// and applying, in the background, so a gateway answers queries while the network is still forming.
import { createHmac } from 'node:crypto';
import type { Connector } from '../../connectors/connector.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { quorumSize } from '../../ledger/membership.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { LedgerNode, type LedgerNodeEvent } from '../../ledger/node/ledger-node.ts';
import { createSchemaJudge, genesisSchemaState } from '../../schema/evolution/schema-judge.ts';
import type { InMemoryChangeFeed } from '../../schema/api/context.ts';
import type { UnifiedSchema } from '../../schema/policy.ts';
import type { Logger } from '../server/logger.ts';
import type { ReadinessCheck } from '../server/readiness.ts';
import { CAPTURE_ORIGIN_PREFIX, CapturePublisher } from './capture-publisher.ts';
import { IdempotencyRetention } from './idempotency-retention.ts';
import { IdempotencyPositions } from './idempotency-positions.ts';
import { IDEMPOTENCY_TABLE, idempotencyTable, LedgeredWritePath } from './ledgered-write-path.ts';
import { HttpMutationForwarder } from './mutation-forwarder.ts';
import type { TlsMaterial } from '../server/tls-material.ts';
import { NodeLedgerReader } from './node-ledger-reader.ts';
import { ReplicaApplier, type ReplicaSchemaHook } from './replica-applier.ts';
import { WriteTrace, writeTraceEnabled } from './write-trace.ts';
import { consensusTraceFromEnv } from './consensus-trace.ts';
import type { GatewayMetrics } from '../server/metrics.ts';

/** A peer heard from within this long counts as reachable (blocks and votes flow several times a second). */
const PEER_FRESH_MS = 5_000;
const IDEMPOTENCY_RETENTION_MS_DEFAULT = 24 * 3_600_000;
/** Capture start-up attempts (lock conflicts with the partner's applications pass; a wrong privilege does not). */
const CAPTURE_START_ATTEMPTS_MAX = 20;

export interface LedgerRuntimeOptions {
  readonly unified: UnifiedSchema;
  readonly partner: string;
  readonly connector: Connector;
  readonly genesis: Genesis;
  readonly secretKey: Uint8Array;
  readonly ledgerDirectory: string;
  readonly consensusListen: { readonly host: string; readonly port: number };
  /** TLS for the consensus endpoint and for dialing peers and forwarding to them (gateway/server/tls-material.ts). */
  readonly tls?: TlsMaterial;
  /** Owner partner → its gateway's base URL, for forwarded mutations. */
  readonly gatewayUrl: (partner: string) => string | undefined;
  readonly changeFeed: InMemoryChangeFeed;
  readonly logger: Logger;
  readonly emptyBlockDelayMs?: number;
  readonly ledgerWaitMs?: number;
  /** How long idempotency keys are kept (default 24 hours). */
  readonly idempotencyRetentionMs?: number;
  /** Commits, commit latency, capture lag, ledger height and peers are reported here. */
  readonly metrics?: GatewayMetrics;
  /** Schema evolution's hook around each applied block (./schema-evolution.ts); `unified` then reads the active version. */
  readonly schema?: ReplicaSchemaHook;
}

export interface LedgerRuntime {
  readonly node: LedgerNode;
  readonly writePath: LedgeredWritePath;
  readonly ledger: NodeLedgerReader;
  readonly applier: ReplicaApplier;
  readonly consensusPort: number;
  /** Renewed TLS material: the consensus endpoint's certificate, the authorities for dialing and forwarding. */
  replaceTls(material: TlsMaterial): void;
  /** Dial the peers' consensus endpoints (partner → ws://host:port). */
  connectPeers(urls: Readonly<Record<string, string>>): void;
  /** Start publishing own changes and applying committed blocks (background). */
  begin(): void;
  readiness(): ReadinessCheck;
  close(): Promise<void>;
}

const ledgerEventMessages: Record<LedgerNodeEvent['kind'], string> = {
  evidence: 'consensus: equivocation evidence',
  rejected: 'consensus: rejected a peer message',
  unreachable: 'consensus: cannot reach a peer (retrying; see reason)',
  'index-rebuilt': 'ledger: a committed-transaction index run was unusable and is rebuilt from the blocks',
  'index-write-failed': 'ledger: writing a committed-transaction index run failed; its ids stay in memory and the write is retried (see reason: a full disk?)',
  'chain-opened': 'ledger: chain opened (replayed the blocks after `from`: 0 is genesis, else a checkpoint)',
  'checkpoint-ignored': 'ledger: the chain checkpoint was not used, so the whole chain is replayed (see reason); the next one is written as the chain grows',
  'checkpoint-write-failed': 'ledger: writing the chain checkpoint failed; the previous one stays and the write is retried later (see reason: a full disk?)',
};

export async function startLedgerRuntime(options: LedgerRuntimeOptions): Promise<LedgerRuntime> {
  const { connector, unified, partner, logger, changeFeed } = options;
  await connector.replica.ensureTables([idempotencyTable]);
  // With the schema in the genesis, consensus itself refuses an activation governance does not allow
  // (the same judge `entente verify` runs), so no proposer can commit one.
  const genesisSchema = genesisSchemaState(nodeHasher, options.genesis);
  const trace = writeTraceEnabled() ? new WriteTrace(partner) : undefined;
  const traceConsensus = consensusTraceFromEnv(partner, options.genesis.membership.nodes.findIndex((member) => member.partner === partner));
  const node = new LedgerNode({
    traceBatches: trace !== undefined,
    // Capture origins are looked up only when a restart reads the unacknowledged capture tail again.
    transientOrigin: (origin) => origin.startsWith(CAPTURE_ORIGIN_PREFIX),
    ...(genesisSchema === null ? {} : { schemaJudge: createSchemaJudge(nodeHasher, genesisSchema) }),
    genesis: options.genesis, secretKey: options.secretKey, ledgerDirectory: options.ledgerDirectory,
    listenHost: options.consensusListen.host, listenPort: options.consensusListen.port,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.emptyBlockDelayMs === undefined ? {} : { emptyBlockDelayMs: options.emptyBlockDelayMs }),
    ...(traceConsensus === undefined ? {} : { traceConsensus }),
    onEvent: (event: LedgerNodeEvent) => (event.kind === 'chain-opened' ? logger.info({ event }, ledgerEventMessages[event.kind]) : logger.warn({ event }, ledgerEventMessages[event.kind])),
  });
  const consensusPort = await node.start();
  const applier = new ReplicaApplier({ connector, unified, partner, node, changeFeed, logger, ...(options.schema === undefined ? {} : { schema: options.schema }) });
  const forwarder = new HttpMutationForwarder({ partner, secretKey: options.secretKey, unified, gatewayUrl: options.gatewayUrl, ca: options.tls?.ca ?? null });
  // The publisher is made below; the write path only calls it once requests flow.
  const positions = new IdempotencyPositions({ connector, table: IDEMPOTENCY_TABLE, logger });
  const writePath = new LedgeredWritePath({
    connector, unified, partner, node, applier, forwarder, positions, onCommittedLocally: () => publisher.nudge(), ...(trace === undefined ? {} : { trace }),
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    ...(options.ledgerWaitMs === undefined ? {} : { ledgerWaitMs: options.ledgerWaitMs }),
  });
  const keySecret = createHmac('sha256', options.secretKey).update('entente/entity-key/v1').digest();
  const publisher = new CapturePublisher({ connector, unified, partner, node, keySecret, changeFeed, logger, trace: trace !== undefined, onPublished: (published) => writePath.published(published), beforeAcknowledge: () => positions.flush(), ...(options.metrics === undefined ? {} : { metrics: options.metrics }) });
  const peersHeard = (): number => Object.values(node.peerLastHeard()).filter((at) => at !== null && Date.now() - at < PEER_FRESH_MS).length;
  options.metrics?.observe({ ledgerHeight: () => node.height, peersConnected: peersHeard, captureLagSeconds: () => publisher.lagSeconds() });
  const retention = new IdempotencyRetention({ connector, logger, retentionMs: options.idempotencyRetentionMs ?? IDEMPOTENCY_RETENTION_MS_DEFAULT });
  let started: Promise<void> | null = null;
  let closing = false;
  return {
    node, writePath, applier, consensusPort,
    ledger: new NodeLedgerReader(node, unified),
    connectPeers: (urls) => node.connectPeers(urls),
    replaceTls(material) {
      node.replaceTls(material);
      forwarder.trustAuthorities(material.ca);
    },
    begin() {
      if (started === null) retention.start();
      started ??= (async () => {
        await applier.start();
        // Installing capture locks the partner's tables, and a legacy writer can deadlock it (PostgreSQL
        // then cancels the install): retry, or the gateway stays out of the network until restarted.
        for (let attempt = 1; ; attempt++) {
          try {
            await publisher.start();
            return;
          } catch (error) {
            if (closing || attempt >= CAPTURE_START_ATTEMPTS_MAX) throw error;
            logger.warn({ err: error, attempt }, 'ledger: capture could not start; retrying');
            await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt)));
            if (closing) return;
          }
        }
      })().catch((error: unknown) => logger.error({ err: error }, 'ledger: publishing or applying could not start; the gateway serves reads but not the network'));
    },
    readiness: () => ({
      name: 'ledger',
      check: async () => {
        const heard = Object.values(node.peerLastHeard());
        const recent = peersHeard();
        const members = heard.length + 1;
        const quorum = quorumSize(members);
        const ok = recent + 1 >= quorum;
        const detail = { height: node.height, appliedHeight: applier.appliedHeight, round: node.round, mempool: node.mempoolSize, peersHeard: recent, peers: heard.length, quorum };
        return ok ? { ok, detail } : { ok, detail, reason: `only ${recent + 1} of the ${quorum} gateways a quorum needs are reachable; start the other partners' gateways or check the "peers" addresses` };
      },
    }),
    async close() {
      closing = true;
      await retention.stop();
      await publisher.stop();
      await applier.stop();
      await started;
      await node.stop();
      trace?.stop();
    },
  };
}
