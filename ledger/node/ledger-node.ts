// A gateway's consensus node on the ledger's own format: the consensus host over LedgerChain and the
// segment block store, the signed WebSocket transport, a durable consensus snapshot, and a mempool of
// owner-signed batches. The gateway embeds it (gateway/ledger/): it signs one batch per captured source
// transaction, submits it here, and learns from `onCommitted` what to apply to its replica.
//
// Batches travel from their owner straight to every peer, each copy carrying only the payloads whose
// audience is that peer's partner (or public). Consensus messages carry no payloads (ledger-chain.ts).
// A node that missed a batch's gossip (it was down) still stores the committed block, without its
// payloads; `fetchPayloads` then asks the owner, who answers only with what the asker may read.
//
// Order: an owner's batches form a hash chain. Each signs the hash of the owner's previous batch
// (`previous`), and validity (rule batch-order) accepts a batch only right after that one, so no proposer
// can reorder, drop or replay an owner's batches. Arrival order alone was not enough: a peer that missed
// one batch's gossip (a connection reset mid-frame, a partition, an owner killed between two sends) still
// held the next one, proposed it, and the earlier change committed after the later one — replicas, which
// apply full after-images in block order, then kept the older row (chaos seed 81607037). The gossip also
// carries the batch's place in the owner's chain (`seq`), so a node tells a batch still waiting for a
// predecessor it missed from one whose place another batch took (the owner restarted and signed its
// changes anew): that one can never commit, peers drop it, and the owner signs it and everything after
// it again, linked to the chain's new end.
import { assert } from '../../common/assert.ts';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EntenteError } from '../../common/errors.ts';
import { assembleBlock, batchHash, blockHash, batchSignatureMessage, NO_PREVIOUS_BATCH, signBatch, type Block, type BatchSeal } from '../block.ts';
import { DEFAULT_TIMEOUTS, type TimeoutConfig } from '../consensus/index.ts';
import { createEd25519Signer, ed25519Verifier } from '../crypto/ed25519.ts';
import type { Hasher } from '../crypto/hasher.ts';
import { nodeHasher } from '../crypto/sha256-node.ts';
import type { SignatureVerifier, Signer } from '../crypto/signature.ts';
import { SHA256_BYTES } from '../crypto/hasher.ts';
import { bytesEqual, fromHex, toHex } from '../encoding/hex.ts';
import { GENESIS_FILE, genesisHash, readGenesisFile, writeGenesisFile, type Genesis } from '../genesis.ts';
import { merkleRoot } from '../merkle.ts';
import { SegmentBlockStore } from '../store/segment-store.ts';
import { PersistentTransactionIndex, TRANSACTION_INDEX_DIRECTORY, type TransactionLocation } from '../store/committed-transaction-index.ts';
import { readCheckpointFile, writeCheckpointFile, type ChainCheckpoint } from '../store/chain-checkpoint.ts';
import { decodeTransaction, encodeTransaction, payloadCommitment, PUBLIC_AUDIENCE, SALT_BYTES, type Payload, type Transaction } from '../transaction.ts';
import { WsTransport, type TransportTls } from '../transport/ws-transport.ts';
import { ConsensusHost, type ConsensusTraceStep, type HostSnapshot } from './consensus-host.ts';
import { DeferredValidBlock } from './deferred-valid-block.ts';
import { DurableWrites } from './durable-writes.ts';
import { decodeSnapshot, encodeSnapshot, restoredSnapshot } from './stored-snapshot.ts';
import { LedgerChain, type ChainObserver } from './ledger-chain.ts';
import type { SchemaJudge } from '../validity.ts';
import { SlotFile } from './slot-file.ts';

export const BATCH_TXS_MAX = 2_000;
export const BATCH_BYTES_MAX = 4 * 1024 * 1024;
export const BLOCK_TXS_TARGET_MAX = 8_000;
/** Below consensus-wire's BLOCK_BYTES_MAX (8 MiB) with room for the header and seals. */
export const BLOCK_BYTES_TARGET_MAX = 6 * 1024 * 1024;
export const MEMPOOL_BATCHES_MAX = 50_000;
/** Times a proposer rebuilds its block after dropping a batch that breaks the rules. */
const PROPOSAL_REBUILDS_MAX = 8;
export const MEMPOOL_BYTES_MAX = 512 * 1024 * 1024;
export const PAYLOAD_REQUEST_TXS_MAX = 1_000;
/** Own payloads kept after rebuilding them from the capture stream (oldest dropped first). */
export const RECOVERED_PAYLOADS_MAX = 200_000;
/**
 * Own transient origins indexed (LedgerNodeOptions.transientOrigin): the newest ones. Each entry costs about
 * 150 bytes of heap, and an owner indexed every origin it ever committed (bench:memory: the larger part of
 * an owner's heap growth under steady load). The gateway's capture publisher keeps the tail a restart
 * re-reads well below this (UNACKNOWLEDGED_SETTLED_MAX + PUBLISH_IN_FLIGHT_MAX).
 */
export const TRANSIENT_ORIGINS_MAX = 65_536;
const PAYLOAD_REQUEST_TIMEOUT_MS = 5_000;
const SNAPSHOT_FILE = 'consensus-state';
const VALID_BLOCK_FILE = 'valid-block';

/** Gateways answer clients in milliseconds: timeouts sized for a LAN or one machine, raised on a slow link. */
export const LEDGER_NODE_TIMEOUTS: TimeoutConfig = { ...DEFAULT_TIMEOUTS, proposeBaseMs: 1000, proposeDeltaMs: 500, prevoteBaseMs: 500, prevoteDeltaMs: 250, precommitBaseMs: 500, precommitDeltaMs: 250, rebroadcastMs: 500 };

export interface LedgerNodeOptions {
  readonly genesis: Genesis;
  /** This node's Ed25519 secret key; its public key must be in the genesis membership. */
  readonly secretKey: Uint8Array;
  /**
   * Holds the block store (`blocks.seg`, what `entente verify --data` reads), the committed-transaction
   * index (`transactions/`, rebuilt from the blocks when missing) and the consensus snapshot.
   */
  readonly ledgerDirectory: string;
  readonly listenHost: string;
  /** 0 picks a free port (tests); `start` returns the port. */
  readonly listenPort: number;
  /** Serve wss:// and check wss:// peers against these authorities (ws-transport.ts); default plain ws://. */
  readonly tls?: TransportTls;
  /** Peer consensus URLs (ws://host:port) by partner; may also be given later with `connectPeers`. */
  readonly peers?: Readonly<Record<string, string>>;
  /** How long a proposer with nothing to propose waits before proposing an empty block. */
  readonly emptyBlockDelayMs?: number;
  readonly timeouts?: TimeoutConfig;
  /** How long a height must stay open before its valid block is written (default: deferred-valid-block.ts). */
  readonly validBlockWriteDelayMs?: number;
  readonly hasher?: Hasher;
  readonly onEvent?: (event: LedgerNodeEvent) => void;
  /** Governance's schema state machine (the gateway builds it from the genesis schema), judged at consensus too. */
  readonly schemaJudge?: SchemaJudge;
  /** Record when each own batch was proposed, decided and stored (BatchCommit.timing), for the write-path trace. */
  readonly traceBatches?: boolean;
  /** Called with each consensus step this node takes (ConsensusTraceStep), to time where a height's time goes. */
  readonly traceConsensus?: (step: ConsensusTraceStep) => void;
  /** Mempool bounds (default MEMPOOL_BATCHES_MAX batches, MEMPOOL_BYTES_MAX bytes). */
  readonly mempoolBatchesMax?: number;
  readonly mempoolBytesMax?: number;
  /**
   * Own origins only ever looked up shortly after they committed (a capture position a restart reads
   * again): committedOrigin knows only the newest `transientOriginsMax` (default TRANSIENT_ORIGINS_MAX) of
   * them. Every other own origin (snapshot markers, schema steps) is known for good. Without it, all are.
   */
  readonly transientOrigin?: (origin: string) => boolean;
  readonly transientOriginsMax?: number;
  /** Committed transaction ids kept in memory before they are sealed into an index run (default RUN_ENTRIES_DEFAULT). */
  readonly transactionRunEntries?: number;
  /**
   * A chain checkpoint is written once this many transactions (default CHECKPOINT_TXS_DEFAULT) or
   * checkpointBlocks blocks (default CHECKPOINT_BLOCKS_DEFAULT) were committed since the last one, and at
   * stop; a start replays only the blocks after it.
   */
  readonly checkpointTxs?: number;
  readonly checkpointBlocks?: number;
}

/** Transactions between chain checkpoints: a start re-checks at most about this many (~7 s on the development VM). */
export const CHECKPOINT_TXS_DEFAULT = 1_048_576;
/** Blocks between chain checkpoints, for chains of small blocks. */
export const CHECKPOINT_BLOCKS_DEFAULT = 65_536;

/** The node's part of a chain checkpoint: its indexes built from the same blocks as the chain state. */
interface NodeCheckpointState {
  /** Whose indexes these are: a ledger directory copied from another partner must not lend it its origins. */
  readonly partner: string;
  readonly ownOrigins: Map<string, number>;
  readonly transientOrigins: Map<string, number>;
  readonly signerChains: Map<number, SignerChain>;
}

function nodeCheckpointState(value: unknown): NodeCheckpointState | null {
  const state = value as Partial<NodeCheckpointState> | null;
  if (state === null || typeof state !== 'object' || typeof state.partner !== 'string' || !(state.ownOrigins instanceof Map) || !(state.transientOrigins instanceof Map) || !(state.signerChains instanceof Map)) return null;
  return state as NodeCheckpointState;
}

export type LedgerNodeEvent =
  | { readonly kind: 'rejected'; readonly from: number; readonly reason: string }
  | { readonly kind: 'evidence'; readonly detail: string }
  | { readonly kind: 'unreachable'; readonly peer: string; readonly reason: string }
  | { readonly kind: 'index-rebuilt'; readonly file: string; readonly reason: string }
  | { readonly kind: 'index-write-failed'; readonly file: string; readonly reason: string }
  /** The start replayed the chain from `from` + 1 (0: genesis; else a checkpoint's height). */
  | { readonly kind: 'chain-opened'; readonly from: number; readonly head: number; readonly ms: number }
  | { readonly kind: 'checkpoint-ignored'; readonly reason: string }
  | { readonly kind: 'checkpoint-write-failed'; readonly reason: string };

export interface CommittedBlockEvent {
  readonly height: number;
  /** As stored here: with the payloads this node holds for its audiences. */
  readonly block: Block;
  readonly transactionIds: readonly string[];
  readonly via: 'consensus' | 'sync';
}

export interface BatchCommit {
  readonly height: number;
  readonly transactionIds: readonly string[];
  /** With `traceBatches`: when (performance.now()) the batch's block was first proposed or judged, decided, and stored. */
  readonly timing?: BatchTiming;
}

export interface BatchTiming {
  proposedAt: number;
  decidedAt: number;
  storedAt: number;
}

/** Traced batches kept at once (the oldest are dropped: tracing must not grow without bound). */
const TRACED_BATCHES_MAX = 100_000;
/** Batch seals known good (signed here, or verified on arrival) kept to skip verifying them again in a proposal. */
const VERIFIED_SEALS_MAX = 65_536;

/** Where a batch goes in its owner's chain of committed batches. */
interface BatchLink {
  /** 1 for the owner's first committed batch, then +1 per batch. */
  readonly seq: number;
  /** batchHash (hex) of the owner's batch at `seq - 1`; zeros for the first. */
  readonly previous: string;
}

interface PendingBatch extends BatchLink {
  readonly key: string;
  /** Its batchHash (hex): what the owner's next batch names as previous. */
  readonly hash: string;
  readonly seal: BatchSeal;
  readonly transactions: readonly Transaction[];
  readonly transactionBytes: readonly Uint8Array[];
  readonly txIds: readonly string[];
  readonly bytes: number;
}

/** The owner's committed chain as this node's ledger holds it: how many batches, and the last one's batchHash (hex). */
interface SignerChain {
  readonly count: number;
  readonly head: string;
}

const NO_PREVIOUS_HEX = toHex(NO_PREVIOUS_BATCH);
const EMPTY_SIGNER_CHAIN: SignerChain = { count: 0, head: NO_PREVIOUS_HEX };

interface BatchWire {
  readonly type: 'batch';
  readonly signature: Uint8Array;
  readonly txs: readonly Uint8Array[];
  /** Per transaction, the payloads for the receiving peer. */
  readonly payloads: readonly (readonly { audience: string; salt: Uint8Array; data: Uint8Array }[])[];
  readonly seq: number;
  /** The previous batch's hash (signed; zeros for the owner's first). */
  readonly previous: Uint8Array;
}

/** Passes over the mempool when building a block: a batch that arrived before its predecessor is taken on a later pass. */
const LINK_PASSES_MAX = 4;

export class LedgerNode {
  private readonly o: LedgerNodeOptions;
  private readonly hasher: Hasher;
  private signer!: Signer;
  private store!: SegmentBlockStore;
  private chain!: LedgerChain;
  private transactionIndex!: PersistentTransactionIndex;
  private host!: ConsensusHost<Block>;
  private transport!: WsTransport;
  private snapshotSlots!: SlotFile;
  private validBlockSlots!: SlotFile;
  /** Snapshot and valid-block writes, made durable off the event loop (blocks are synced by the store's appendSync). */
  private durableWrites!: DurableWrites;
  private validBlockId: string | null = null;
  /** The valid block is written only if its height stays open a while (deferred-valid-block.ts). */
  private validBlockWrites!: DeferredValidBlock;
  private readonly mempool = new Map<string, PendingBatch>();
  private mempoolBytes = 0;
  /** Each member's committed batches (by membership index), for the links. */
  private readonly signerChains = new Map<number, SignerChain>();
  /** This node's own pooled batches, by key, in link order (each continues the one before). */
  private ownQueue: string[] = [];
  /** An own batch was refused (mempool full) in this turn of the event loop: later ones are refused too. */
  private ownRefused = false;
  /** Payloads this node may hold, by transaction id, until the transaction's block is stored. */
  private readonly heldPayloads = new Map<string, Payload[]>();
  private readonly batchWaiters = new Map<string, { resolve: (commit: BatchCommit) => void; reject: (error: Error) => void }[]>();
  private readonly committedListeners: ((event: CommittedBlockEvent) => void)[] = [];
  /** Applied (replica) heights reported by peers, by membership index. */
  private readonly peerApplied = new Map<number, number>();
  private appliedHere = 0;
  private readonly appliedWaiters: { height: number; resolve: () => void }[] = [];
  private readonly payloadRequests = new Map<number, { resolve: (payloads: Map<string, Payload[]>) => void }>();
  private nextRequestId = 1;
  /** Origins of this partner's committed transactions → height (deduplicates a re-read capture). */
  private readonly ownOrigins = new Map<string, number>();
  /** The same for transient origins, oldest first (the first to be dropped). */
  private readonly transientOrigins = new Map<string, number>();
  private readonly lastHeard = new Map<number, number>();
  /** Own payloads rebuilt after a crash (see recoverPayloads), by transaction id. */
  private readonly recoveredPayloads = new Map<string, readonly Payload[]>();
  /** With `traceBatches`: own batches (by key) on their way to a block. */
  private readonly batchTimings = new Map<string, BatchTiming>();
  /** Work since the last chain checkpoint, and the write under way (one at a time). */
  private checkpointDue = { txs: 0, blocks: 0 };
  private checkpointWriting: Promise<void> | null = null;
  /**
   * Peers' batch signatures already checked, by signature (hex), with the key and message they verify for:
   * every batch was verified on arrival and then again in each proposal holding it (by the proposer and by
   * every judge), the costliest check per batch. A hit needs the same key, message and signature, so it
   * proves as much. Own seals are kept as they are signed (their message comes with the signing), since
   * the owner judges and stores every block holding them like any peer, and verified each own batch twice
   * (bench:heights at 100/s: 1,100 of acme's 5,526 Ed25519 verifications, 103 µs each on a 2-vCPU AMD VM).
   */
  private readonly verifiedSeals = new Map<string, { readonly publicKey: Uint8Array; readonly message: Uint8Array }>();
  private stopped = false;
  partner = '';
  selfIndex = -1;
  port = 0;

  constructor(options: LedgerNodeOptions) {
    this.o = options;
    this.hasher = options.hasher ?? nodeHasher;
  }

  get height(): number {
    return this.chain.headHeight();
  }

  get headHash(): string {
    return this.chain.headId();
  }

  get chainId(): string {
    return this.chain.chainId;
  }

  get blockStore(): SegmentBlockStore {
    return this.store;
  }

  get genesis(): Genesis {
    return this.o.genesis;
  }

  /** Consensus round of the height being decided (for /ready and the explorer). */
  get round(): number {
    return this.host.state.round;
  }

  get mempoolSize(): number {
    return this.mempool.size;
  }

  /** When each peer was last heard from (ms since epoch), by partner: what /ready reports. */
  peerLastHeard(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const node of this.chain.latestMembership().nodes) if (node.index !== this.selfIndex) out[node.partner] = this.lastHeard.get(node.index) ?? null;
    return out;
  }

  async start(): Promise<number> {
    mkdirSync(this.o.ledgerDirectory, { recursive: true });
    this.signer = createEd25519Signer(this.o.secretKey);
    const genesis = this.o.genesis;
    const member = genesis.membership.nodes.find((node) => bytesEqual(node.publicKey, this.signer.publicKey));
    if (member === undefined) throw new EntenteError('CONFIG_INVALID', 'this node\'s key is not in the genesis membership; use the key `entente keygen` wrote for this partner, or add its public key to the genesis with `entente genesis`');
    this.partner = member.partner;
    this.selfIndex = member.index;
    // The genesis beside the blocks makes the directory self-contained for `entente verify --data`.
    const genesisPath = join(this.o.ledgerDirectory, GENESIS_FILE);
    if (!existsSync(genesisPath)) await writeGenesisFile(genesisPath, genesis);
    else if (!bytesEqual(genesisHash(this.hasher, await readGenesisFile(genesisPath)), genesisHash(this.hasher, genesis))) {
      throw new EntenteError('CONFIG_INVALID', `${genesisPath} belongs to another network than the configured genesis; point the gateway at the right genesis file or use a fresh data directory`);
    }
    this.store = await SegmentBlockStore.open(this.o.ledgerDirectory, { genesisHash: genesisHash(this.hasher, genesis), hasher: this.hasher });
    this.transactionIndex = PersistentTransactionIndex.open(join(this.o.ledgerDirectory, TRANSACTION_INDEX_DIRECTORY), {
      headHeight: this.store.head().height,
      blockHash: (height) => blockHash(this.hasher, this.store.readBlockSync(height)!.headerBytes),
      ...(this.o.transactionRunEntries === undefined ? {} : { runEntries: this.o.transactionRunEntries }),
      onDroppedRun: (file, reason) => this.o.onEvent?.({ kind: 'index-rebuilt', file, reason }),
      onSealFailed: (file, reason) => this.o.onEvent?.({ kind: 'index-write-failed', file, reason }),
    });
    const openedAt = performance.now();
    const checkpoint = this.usableCheckpoint();
    this.chain = LedgerChain.open({
      genesis, store: this.store, transactionIndex: this.transactionIndex, hasher: this.hasher, verifier: this.sealCachingVerifier(), payloads: (id) => this.heldPayloads.get(id),
      ...(checkpoint === null ? {} : {
        checkpoint: checkpoint.checkpoint,
        checkpointRefused: (reason: string) => this.o.onEvent?.({ kind: 'checkpoint-ignored', reason }),
        resumed: () => this.restoreCheckpointIndexes(checkpoint.node),
      }),
      ...(this.o.schemaJudge === undefined ? {} : { schemaJudge: this.o.schemaJudge }),
      ...(this.o.traceBatches === true ? { observer: this.batchObserver() } : {}),
      // The node's own indexes in the chain's replay: one read of every stored block at start, not two.
      replayed: (block) => {
        this.indexOwnOrigins(block.header.height, block);
        this.countSignerBatches(block);
      },
    });
    this.transactionIndex.serving();
    this.o.onEvent?.({ kind: 'chain-opened', from: this.chain.resumedFrom, head: this.chain.headHeight(), ms: Math.round(performance.now() - openedAt) });
    // Blocks replayed after the checkpoint count towards the next one (a stop right after this start writes one).
    this.checkpointDue = { txs: 0, blocks: this.chain.headHeight() - this.chain.resumedFrom };
    this.refreshSignerHeads();
    this.snapshotSlots = new SlotFile(this.o.ledgerDirectory, SNAPSHOT_FILE);
    this.validBlockSlots = new SlotFile(this.o.ledgerDirectory, VALID_BLOCK_FILE);
    this.durableWrites = new DurableWrites({ unsynced: false, sync: () => Promise.resolve() }, this.snapshotSlots, this.validBlockSlots, { groupTurn: true });
    this.validBlockWrites = new DeferredValidBlock({ write: (bytes) => this.durableWrites.writeValidBlock(bytes), headHeight: () => this.chain.headHeight(), ...(this.o.validBlockWriteDelayMs === undefined ? {} : { delayMs: this.o.validBlockWriteDelayMs }) });
    this.transport = new WsTransport({
      chainId: this.chain.chainId, selfIndex: this.selfIndex, signer: this.signer, verifier: ed25519Verifier, hasher: this.hasher,
      membership: () => this.chain.latestMembership(), listenHost: this.o.listenHost, listenPort: this.o.listenPort, peers: [],
      onMessage: (from, value) => this.onPeerMessage(from, value),
      onRejected: (reason) => this.o.onEvent?.({ kind: 'rejected', from: -1, reason }),
      onDialFailed: (index, reason) => this.o.onEvent?.({ kind: 'unreachable', peer: this.chain.latestMembership().nodes[index]?.partner ?? `#${index}`, reason }),
      ...(this.o.tls === undefined ? {} : { tls: this.o.tls }),
    });
    this.host = new ConsensusHost<Block>({
      chainId: this.chain.chainId, signer: this.signer, verifier: ed25519Verifier, chain: this.chain, timeouts: this.o.timeouts ?? LEDGER_NODE_TIMEOUTS,
      emptyBlockDelayMs: this.o.emptyBlockDelayMs ?? 500, syncIntervalMs: 500, restored: this.readSnapshot(), idleWithoutTransactions: true,
      builder: { hasPending: () => this.hasProposableBatch(), build: (height) => this.buildBlock(height) },
      io: {
        send: (to, wire) => (to === 'others' ? this.transport.broadcast(wire) : this.transport.send(to, wire)),
        setTimer: (delayMs, fire) => {
          setTimeout(() => {
            if (!this.stopped) fire();
          }, delayMs);
        },
        persist: (_seq, snapshot, durable, awaited) => {
          this.writeSnapshot(snapshot, () => {
            if (!this.stopped) durable();
          }, awaited !== false);
        },
      },
      events: {
        committed: (height, _block, _certificate, via) => this.handleCommitted(height, via),
        rejected: (from, reason) => this.o.onEvent?.({ kind: 'rejected', from, reason }),
        evidence: (evidence) => this.o.onEvent?.({ kind: 'evidence', detail: JSON.stringify(evidence) }),
        ...(this.o.traceConsensus === undefined ? {} : { trace: this.o.traceConsensus }),
      },
    });
    this.port = await this.transport.start();
    if (this.o.peers !== undefined) this.connectPeers(this.o.peers);
    this.host.start();
    return this.port;
  }

  /** Renewed TLS material for the consensus endpoint and for dialing (WsTransport.replaceTls). */
  replaceTls(tls: TransportTls): void {
    this.transport.replaceTls(tls);
  }

  /** Dials the other members by partner name (each URL once; unknown partners are refused). */
  connectPeers(urls: Readonly<Record<string, string>>): void {
    for (const node of this.chain.latestMembership().nodes) {
      if (node.index === this.selfIndex) continue;
      const url = urls[node.partner];
      if (url === undefined) throw new EntenteError('CONFIG_INVALID', `no consensus address for partner ${node.partner}; add it under "peers" in the gateway configuration`);
      this.transport.addPeer({ index: node.index, url });
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.validBlockWrites.cancel();
    this.host.stop();
    await this.transport.close();
    const stopping = new EntenteError('UNAVAILABLE', 'the ledger node is shutting down; the change is not lost (its capture position is not acknowledged) and is published again on restart');
    for (const waiters of this.batchWaiters.values()) for (const waiter of waiters) waiter.reject(stopping);
    this.batchWaiters.clear();
    // Nothing commits any more: a checkpoint at the head makes the next start replay nothing.
    await this.checkpointWriting;
    if (this.checkpointDue.blocks > 0) this.writeCheckpoint();
    await this.checkpointWriting;
    await this.durableWrites.idle();
    this.snapshotSlots.close();
    this.validBlockSlots.close();
    await this.store.close();
    // Every block is stored: the ids held only in memory go to a short run, so the next start reads
    // them back instead of reading and hashing those blocks again.
    await this.transactionIndex.close({ keepRecent: true });
  }

  onCommitted(listener: (event: CommittedBlockEvent) => void): void {
    this.committedListeners.push(listener);
  }

  /**
   * The height of this partner's committed transaction with this origin, if any. A transient origin older
   * than the newest `transientOriginsMax` is answered undefined: publishing its transactions again is then
   * answered from the committed transaction ids (byte-identical transactions have the same id).
   */
  committedOrigin(origin: string): number | undefined {
    return this.ownOrigins.get(origin) ?? this.transientOrigins.get(origin);
  }

  /** Where the committed transaction with this id is; null when no stored block holds it. */
  locateTransaction(txId: string | Uint8Array): TransactionLocation | null {
    return this.chain.committedTxs.locate(txId);
  }

  /** The height of the committed transaction with this id (hex), if any. */
  committedTransaction(txId: string): number | undefined {
    return this.chain.committedTxs.get(txId);
  }

  /**
   * Signs one batch of this partner's transactions (with the payload for each audience) and submits it;
   * resolves once the block holding it is stored on this node.
   */
  publish(transactions: readonly Transaction[], payloads: readonly (readonly Payload[])[]): Promise<BatchCommit> {
    const commit = this.submit(transactions, payloads);
    if (!this.stopped) this.host.transactionsArrived();
    return commit;
  }

  /** publish without waking the consensus host (the caller does, once it may be re-entered). */
  private submit(transactions: readonly Transaction[], payloads: readonly (readonly Payload[])[]): Promise<BatchCommit> {
    if (this.stopped) return Promise.reject(new EntenteError('UNAVAILABLE', 'the ledger node is stopped'));
    if (transactions.length === 0 || transactions.length > BATCH_TXS_MAX) throw new EntenteError('LIMIT_EXCEEDED', `a batch holds 1 to ${BATCH_TXS_MAX} transactions, not ${transactions.length}`);
    const link = this.nextOwnLink();
    const signed = signBatch(this.hasher, this.signer, this.selfIndex, transactions, payloads, fromHex(link.previous));
    const pending = this.pendingOf(signed.seal, signed.transactions, signed.transactionBytes, link.seq, toHex(signed.hash));
    this.rememberVerifiedSeal(pending.key, this.signer.publicKey, signed.signedMessage);
    if (pending.bytes > BATCH_BYTES_MAX) throw new EntenteError('LIMIT_EXCEEDED', `a batch of ${pending.bytes} bytes exceeds ${BATCH_BYTES_MAX}; split the source transaction`);
    // A republish (after a restart or a failed publish) may name changes that meanwhile committed through
    // the batch the peers still held: only the rest is published, and the answer covers all of them.
    if (pending.txIds.some((id) => this.chain.committedTxs.has(id))) return this.submitRest(pending.txIds, transactions, payloads);
    const promise = new Promise<BatchCommit>((resolve, reject) => {
      const list = this.batchWaiters.get(pending.key);
      if (list === undefined) this.batchWaiters.set(pending.key, [{ resolve, reject }]);
      else list.push({ resolve, reject });
    });
    // The same batch already pooled (published twice in the same grouping): its waiters are answered together.
    if (this.mempool.has(pending.key)) return promise;
    // After a refusal, a later batch published in the same turn (a publisher flushing one capture read as
    // several batches; a smaller one may still fit) would overtake the refused one: it is refused too. By
    // the next turn the publisher has seen the refusal and publishes again from the refused change on.
    const held = this.ownRefused;
    if (held || !this.admit(pending)) {
      if (!held) {
        this.ownRefused = true;
        setImmediate(() => {
          this.ownRefused = false;
        });
      }
      this.batchWaiters.delete(pending.key);
      const why = held ? 'an earlier batch of this partner was just refused, and this one must not overtake it' : `the ledger mempool is full (${this.mempool.size} batches)`;
      return Promise.reject(new EntenteError('UNAVAILABLE', `${why}; the change stays captured and is published again — slow the writers or add capacity`));
    }
    // The owner stores every audience's payload of its own transactions: it answers partners that
    // missed the gossip (fetchPayloads), and its own data is no secret to it.
    for (let i = 0; i < transactions.length; i++) {
      const all = payloads[i] ?? [];
      if (all.length > 0) this.heldPayloads.set(pending.txIds[i]!, [...all]);
    }
    this.ownQueue.push(pending.key);
    if (this.o.traceBatches === true) {
      if (this.batchTimings.size >= TRACED_BATCHES_MAX) this.batchTimings.delete(this.batchTimings.keys().next().value!);
      this.batchTimings.set(pending.key, { proposedAt: Number.NaN, decidedAt: Number.NaN, storedAt: Number.NaN });
    }
    this.gossip(pending, payloads);
    return promise;
  }

  /** Sends an own batch to every peer, each copy with only the payloads that peer's partner may read. */
  private gossip(pending: PendingBatch, payloads: readonly (readonly Payload[])[]): void {
    for (const node of this.chain.latestMembership().nodes) {
      if (node.index === this.selfIndex) continue;
      const forPeer = payloads.map((list) => list.filter((p) => p.audience === node.partner || p.audience === PUBLIC_AUDIENCE).map((p) => ({ audience: p.audience, salt: p.salt, data: p.data })));
      const wire: BatchWire = { type: 'batch', signature: pending.seal.signature, txs: pending.transactionBytes, payloads: forPeer, seq: pending.seq, previous: pending.seal.previous };
      this.transport.send(node.index, wire);
    }
  }

  /** The link of the next own batch: after the last own pooled batch, or after the chain's last own batch. */
  private nextOwnLink(): BatchLink {
    const last = this.ownQueue.length === 0 ? undefined : this.mempool.get(this.ownQueue.at(-1)!);
    if (last !== undefined) return { seq: last.seq + 1, previous: last.hash };
    const chain = this.signerChainOf(this.selfIndex);
    return { seq: chain.count + 1, previous: chain.head };
  }

  /**
   * Publishes the transactions of `txIds` that are not committed yet (all of them this node's own) and
   * answers for the whole list: the highest height any of them committed at, and every id.
   */
  private submitRest(txIds: readonly string[], transactions: readonly Transaction[], payloads: readonly (readonly Payload[])[]): Promise<BatchCommit> {
    const rest = txIds.flatMap((id, i) => (this.chain.committedTxs.has(id) ? [] : [i]));
    const known = Math.max(0, ...txIds.map((id) => this.chain.committedTxs.get(id) ?? 0));
    if (rest.length === 0) return Promise.resolve({ height: known, transactionIds: txIds });
    return this.submit(rest.map((i) => transactions[i]!), rest.map((i) => payloads[i] ?? [])).then((commit) => ({ height: Math.max(known, commit.height), transactionIds: txIds }));
  }

  /**
   * After a block is stored, drops what can never be proposed: batches that share transactions with the
   * chain (a block holds each transaction once; an owner republished after a restart and grouped its
   * changes differently from the batch its peers still held) and batches whose place in their owner's
   * chain another batch took. A peer's such batch is dropped (its owner, which stores the same block,
   * publishes it again). This node's own are published again, with everything after them, linked to the
   * chain's new end and without what committed; their waiters are answered once that commits. Without
   * this, their waiters would wait forever.
   */
  private pruneMempool(): void {
    let ownFrom = Number.POSITIVE_INFINITY;
    const dropped: PendingBatch[] = [];
    for (const [key, batch] of this.mempool) {
      if (this.linkState(batch, this.signerChainOf(batch.seal.signer)) !== 'dead' && !batch.txIds.some((id) => this.chain.committedTxs.has(id))) continue;
      if (batch.seal.signer === this.selfIndex) {
        const index = this.ownQueue.indexOf(key);
        assert(index >= 0, 'every own pooled batch is in the own queue');
        ownFrom = Math.min(ownFrom, index);
        continue;
      }
      this.removeFromMempool(key, batch);
      dropped.push(batch);
    }
    if (dropped.length > 0) this.forgetPayloadsOf(dropped);
    if (ownFrom !== Number.POSITIVE_INFINITY) this.relinkOwn(ownFrom);
  }

  /**
   * Payloads that came with dropped peer batches, unless a pooled batch still holds their transaction (its
   * owner may have sent it again in a new batch already): its owner sends them again with the new batch.
   */
  private forgetPayloadsOf(dropped: readonly PendingBatch[]): void {
    const pooled = new Set<string>();
    for (const batch of this.mempool.values()) for (const id of batch.txIds) pooled.add(id);
    for (const batch of dropped) for (const id of batch.txIds) if (!pooled.has(id)) this.heldPayloads.delete(id);
  }

  /**
   * Publishes this node's own pooled batches from position `from` of the own queue on again, in order,
   * linked to the chain's new end: the first can no longer commit, so neither can any after it. Done at
   * once (a publish in between must not slip ahead of them); the host is woken after the caller returns.
   */
  private relinkOwn(from: number): void {
    const moved = this.ownQueue.splice(from).map((key) => ({ key, batch: this.mempool.get(key)! }));
    for (const { key, batch } of moved) this.removeFromMempool(key, batch);
    for (const { key, batch } of moved) {
      const waiters = this.batchWaiters.get(key) ?? [];
      this.batchWaiters.delete(key);
      const payloads = batch.txIds.map((id) => this.heldPayloads.get(id) ?? []);
      const rest = this.stopped ? Promise.reject(new EntenteError('UNAVAILABLE', 'the ledger node is stopped')) : this.submitRest(batch.txIds, batch.transactions, payloads);
      rest.then(
        (commit) => { for (const waiter of waiters) waiter.resolve(commit); },
        (error: unknown) => { for (const waiter of waiters) waiter.reject(error instanceof Error ? error : new Error(String(error))); },
      );
    }
    // After the consensus host's commit (or build) handling returns: publishing wakes the host again.
    queueMicrotask(() => {
      if (!this.stopped) this.host.transactionsArrived();
    });
  }

  private removeFromMempool(key: string, batch: PendingBatch): void {
    this.mempool.delete(key);
    this.mempoolBytes -= batch.bytes;
    this.batchTimings.delete(key);
  }

  /** `ready`: continues its owner's chain `tip`; `dead`: its place is taken; `waiting`: an earlier batch of its owner is still missing. */
  private linkState(batch: BatchLink, tip: SignerChain): 'ready' | 'waiting' | 'dead' {
    if (batch.seq <= tip.count) return 'dead';
    if (batch.seq > tip.count + 1) return 'waiting';
    return batch.previous === tip.head ? 'ready' : 'dead';
  }

  private signerChainOf(signer: number): SignerChain {
    return this.signerChains.get(signer) ?? EMPTY_SIGNER_CHAIN;
  }

  private countSignerBatches(block: Block): void {
    for (const seal of block.batches) {
      const chain = this.signerChainOf(seal.signer);
      this.signerChains.set(seal.signer, { count: chain.count + 1, head: chain.head });
    }
  }

  /** Takes each member's last batch hash from the chain state (validity computed it checking the block). */
  private refreshSignerHeads(): void {
    const nodes = this.chain.latestMembership().nodes;
    for (const [signer, chain] of this.signerChains) {
      const partner = nodes[signer]?.partner;
      const head = partner === undefined ? undefined : this.chain.state.batchHeads.get(partner);
      if (head !== undefined) this.signerChains.set(signer, { count: chain.count, head: toHex(head) });
    }
  }

  /** Whether some pooled batch could go into a block now (a batch waiting for a missed predecessor cannot). */
  private hasProposableBatch(): boolean {
    for (const batch of this.mempool.values()) if (this.linkState(batch, this.signerChainOf(batch.seal.signer)) === 'ready') return true;
    return false;
  }

  // ---- replica progress across the network (the "applied on every gateway" wait mode) ----

  /** This gateway applied every block up to `height` to its database; tells the peers. */
  reportApplied(height: number): void {
    if (height <= this.appliedHere) return;
    this.appliedHere = height;
    this.transport.broadcast({ type: 'applied', height });
    this.settleAppliedWaiters();
  }

  /** Resolves when every member's gateway (this one included) has applied `height`. */
  appliedEverywhere(height: number): Promise<void> {
    if (this.appliedOnAll(height)) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ height, resolve }));
  }

  /** Replica heights by partner, as last reported (this partner's own included). */
  appliedHeights(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const node of this.chain.latestMembership().nodes) out[node.partner] = node.index === this.selfIndex ? this.appliedHere : (this.peerApplied.get(node.index) ?? 0);
    return out;
  }

  private appliedOnAll(height: number): boolean {
    if (this.appliedHere < height) return false;
    for (const node of this.chain.latestMembership().nodes) if (node.index !== this.selfIndex && (this.peerApplied.get(node.index) ?? 0) < height) return false;
    return true;
  }

  private settleAppliedWaiters(): void {
    for (let i = this.appliedWaiters.length - 1; i >= 0; i--) {
      const waiter = this.appliedWaiters[i]!;
      if (this.appliedOnAll(waiter.height)) {
        this.appliedWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  // ---- payloads missed while away -----------------------------------------------------------

  /**
   * Asks the owner of each transaction for the payloads this partner may read; resolves with what
   * arrived and checks out against the commitments (a missing entry: the owner is unreachable or the
   * transaction has no payload for this partner).
   */
  async fetchPayloads(height: number, txIndexes: readonly number[]): Promise<Map<number, Payload[]>> {
    const block = this.store.readBlockSync(height);
    const result = new Map<number, Payload[]>();
    if (block === null) return result;
    const txIds = this.chain.txIdsOf(block);
    const byOwner = new Map<number, string[]>();
    for (const index of txIndexes) {
      const tx = block.transactions[index];
      const owner = tx === undefined ? undefined : this.chain.membershipAt(height).nodes.find((n) => n.partner === tx.owner);
      if (owner === undefined || owner.index === this.selfIndex) continue;
      const list = byOwner.get(owner.index) ?? [];
      list.push(txIds[index]!);
      byOwner.set(owner.index, list);
    }
    const answers = await Promise.all([...byOwner].map(([owner, ids]) => this.requestPayloads(owner, ids.slice(0, PAYLOAD_REQUEST_TXS_MAX))));
    for (const answer of answers) {
      for (const [txId, payloads] of answer) {
        const index = txIds.indexOf(txId);
        const tx = block.transactions[index];
        if (tx === undefined) continue;
        const good = payloads.filter((p) => tx.commitments.some((c) => c.audience === p.audience && bytesEqual(c.commitment, payloadCommitment(this.hasher, p.salt, p.data))));
        if (good.length > 0) result.set(index, good);
      }
    }
    return result;
  }

  private requestPayloads(owner: number, txIds: readonly string[]): Promise<Map<string, Payload[]>> {
    const id = this.nextRequestId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.payloadRequests.delete(id);
        resolve(new Map());
      }, PAYLOAD_REQUEST_TIMEOUT_MS);
      this.payloadRequests.set(id, {
        resolve: (payloads) => {
          clearTimeout(timer);
          resolve(payloads);
        },
      });
      this.transport.send(owner, { type: 'payload-request', id, txIds });
    });
  }

  /**
   * The owner rebuilt payloads of its own committed transactions (after a crash lost them before its
   * block was stored with them): kept, when they match the commitments, to answer payload requests.
   * Returns the transactions' ids, in order.
   */
  recoverPayloads(transactions: readonly Transaction[], payloads: readonly (readonly Payload[])[]): string[] {
    return transactions.map((tx, i) => {
      const txId = toHex(this.hasher.merkleLeaf(encodeTransaction(tx)));
      const list = payloads[i] ?? [];
      if (tx.owner !== this.partner || list.length === 0) return txId;
      if (!this.chain.committedTxs.has(txId) || this.recoveredPayloads.has(txId)) return txId;
      const good = list.filter((p) => tx.commitments.some((c) => c.audience === p.audience && bytesEqual(c.commitment, payloadCommitment(this.hasher, p.salt, p.data))));
      if (good.length === 0) return txId;
      if (this.recoveredPayloads.size >= RECOVERED_PAYLOADS_MAX) this.recoveredPayloads.delete(this.recoveredPayloads.keys().next().value!);
      this.recoveredPayloads.set(txId, good);
      return txId;
    });
  }

  private async servePayloads(from: number, id: number, txIds: readonly string[]): Promise<void> {
    const asker = this.chain.latestMembership().nodes[from];
    if (asker === undefined) return;
    const answer: { txId: string; audience: string; salt: Uint8Array; data: Uint8Array }[] = [];
    // Requests name many transactions of the same block (a node that missed a block's gossip asks for
    // all of it): each block is read and decoded once per request, not once per transaction.
    const blocks = new Map<number, { block: Block; byTx: Map<number, Block['payloads'][number][]> } | null>();
    for (const txId of txIds.slice(0, PAYLOAD_REQUEST_TXS_MAX)) {
      if (this.stopped) return;
      const bytes = typeof txId === 'string' && /^[0-9a-f]{64}$/.test(txId) ? fromHex(txId) : null;
      // The chain's committed index (runs on disk, bounded memory): the store's own locateTransaction
      // builds an in-memory index of every transaction ever stored on first use and keeps it growing.
      const location = bytes === null ? null : this.locateTransaction(bytes);
      if (location === null) continue;
      if (!blocks.has(location.height)) {
        const block = await this.store.readBlock(location.height);
        const byTx = new Map<number, Block['payloads'][number][]>();
        for (const payload of block?.payloads ?? []) byTx.set(payload.txIndex, [...(byTx.get(payload.txIndex) ?? []), payload]);
        blocks.set(location.height, block === null ? null : { block, byTx });
      }
      const stored = blocks.get(location.height) ?? null;
      // Only this partner's own transactions, and only the asker's audiences: never relay others' data.
      if (stored === null || stored.block.transactions[location.index]?.owner !== this.partner) continue;
      const storedPayloads = stored.byTx.get(location.index) ?? [];
      for (const payload of storedPayloads.length > 0 ? storedPayloads : (this.recoveredPayloads.get(txId) ?? [])) {
        if (payload.audience === asker.partner || payload.audience === PUBLIC_AUDIENCE) answer.push({ txId, audience: payload.audience, salt: payload.salt, data: payload.data });
      }
    }
    this.transport.send(from, { type: 'payload-response', id, payloads: answer });
  }

  // ---- mempool and gossip -------------------------------------------------------------------

  private pendingOf(seal: BatchSeal, transactions: readonly Transaction[], transactionBytes: readonly Uint8Array[], seq: number, hash: string, leaves?: readonly Uint8Array[]): PendingBatch {
    let bytes = 0;
    for (const tx of transactionBytes) bytes += tx.length + 4;
    const txIds = (leaves ?? transactionBytes.map((tx) => this.hasher.merkleLeaf(tx))).map(toHex);
    return { key: toHex(seal.signature), seal, transactions, transactionBytes, txIds, bytes, seq, previous: toHex(seal.previous), hash };
  }

  private admit(batch: PendingBatch): boolean {
    if (this.mempool.has(batch.key) || this.chain.committedTxs.has(batch.txIds[0]!)) return true;
    if (this.mempool.size >= (this.o.mempoolBatchesMax ?? MEMPOOL_BATCHES_MAX) || this.mempoolBytes + batch.bytes > (this.o.mempoolBytesMax ?? MEMPOOL_BYTES_MAX)) return false;
    this.mempool.set(batch.key, batch);
    this.mempoolBytes += batch.bytes;
    return true;
  }

  /** A batch gossiped by its owner: checked (signature, ownership, payload commitments) before it is kept. */
  private receiveBatch(from: number, value: Partial<BatchWire>): void {
    const owner = this.chain.latestMembership().nodes[from];
    const { signature, txs, payloads, seq, previous } = value;
    if (owner === undefined || !(signature instanceof Uint8Array) || !Array.isArray(txs) || txs.length === 0 || txs.length > BATCH_TXS_MAX || !Array.isArray(payloads) || payloads.length !== txs.length
      || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || !(previous instanceof Uint8Array) || previous.length !== SHA256_BYTES || (seq === 1) !== bytesEqual(previous, NO_PREVIOUS_BATCH)) {
      return this.o.onEvent?.({ kind: 'rejected', from, reason: 'malformed batch' });
    }
    let transactions: Transaction[];
    try {
      transactions = txs.map((bytes) => {
        if (!(bytes instanceof Uint8Array)) throw new Error('not bytes');
        return decodeTransaction(bytes);
      });
    } catch (error) {
      return this.o.onEvent?.({ kind: 'rejected', from, reason: `batch transaction does not decode: ${(error as Error).message}` });
    }
    const seal: BatchSeal = { signer: from, previous, signature, txCount: txs.length };
    const leaves = txs.map((tx) => this.hasher.merkleLeaf(tx));
    const message = batchSignatureMessage(previous, merkleRoot(this.hasher, leaves));
    const pending = this.pendingOf(seal, transactions, txs, seq, toHex(batchHash(this.hasher, message)), leaves);
    if (!ed25519Verifier.verify(owner.publicKey, message, signature)) return this.o.onEvent?.({ kind: 'rejected', from, reason: `batch not signed by ${owner.partner}` });
    this.rememberVerifiedSeal(pending.key, owner.publicKey, message);
    if (transactions.some((tx) => tx.owner !== owner.partner)) return this.o.onEvent?.({ kind: 'rejected', from, reason: `batch from ${owner.partner} names another owner` });
    if (pending.bytes > BATCH_BYTES_MAX) return this.o.onEvent?.({ kind: 'rejected', from, reason: 'batch too large' });
    // Already overtaken (an owner's stale batch arriving late): never proposable, neither it nor its payloads kept.
    if (this.linkState(pending, this.signerChainOf(from)) === 'dead') return;
    for (let i = 0; i < transactions.length; i++) {
      const list = payloads[i];
      if (!Array.isArray(list) || list.length === 0) continue;
      const good: Payload[] = [];
      for (const p of list as unknown[]) {
        const payload = p as Partial<Payload>;
        if (typeof payload.audience !== 'string' || !(payload.salt instanceof Uint8Array) || payload.salt.length !== SALT_BYTES || !(payload.data instanceof Uint8Array)) continue;
        if (payload.audience !== this.partner && payload.audience !== PUBLIC_AUDIENCE) continue;
        const commitment = transactions[i]!.commitments.find((c) => c.audience === payload.audience);
        if (commitment === undefined || !bytesEqual(commitment.commitment, payloadCommitment(this.hasher, payload.salt, payload.data))) continue;
        good.push({ audience: payload.audience, salt: payload.salt, data: payload.data });
      }
      if (good.length > 0) this.heldPayloads.set(pending.txIds[i]!, good);
    }
    if (this.admit(pending)) this.host.transactionsArrived();
  }

  private onPeerMessage(from: number, value: unknown): void {
    if (this.stopped || typeof value !== 'object' || value === null) return;
    this.lastHeard.set(from, Date.now());
    const type = (value as { type?: unknown }).type;
    switch (type) {
      case 'batch':
        this.receiveBatch(from, value as Partial<BatchWire>);
        return;
      case 'applied': {
        const height = (value as { height?: unknown }).height;
        if (typeof height === 'number' && Number.isSafeInteger(height) && height > (this.peerApplied.get(from) ?? 0)) {
          this.peerApplied.set(from, height);
          this.settleAppliedWaiters();
        }
        return;
      }
      case 'payload-request': {
        const { id, txIds } = value as { id?: unknown; txIds?: unknown };
        if (typeof id === 'number' && Array.isArray(txIds)) {
          // A request racing shutdown finds the store closed: the asker simply asks again elsewhere/later.
          this.servePayloads(from, id, txIds as string[]).catch((error: unknown) => {
            if (!this.stopped) this.o.onEvent?.({ kind: 'rejected', from, reason: `payload request not served: ${(error as Error).message}` });
          });
        }
        return;
      }
      case 'payload-response': {
        const { id, payloads } = value as { id?: unknown; payloads?: unknown };
        const request = typeof id === 'number' ? this.payloadRequests.get(id) : undefined;
        if (request === undefined || !Array.isArray(payloads)) return;
        this.payloadRequests.delete(id as number);
        const byTx = new Map<string, Payload[]>();
        for (const item of payloads as { txId?: unknown; audience?: unknown; salt?: unknown; data?: unknown }[]) {
          if (typeof item.txId !== 'string' || typeof item.audience !== 'string' || !(item.salt instanceof Uint8Array) || !(item.data instanceof Uint8Array)) continue;
          const list = byTx.get(item.txId) ?? [];
          list.push({ audience: item.audience, salt: item.salt, data: item.data });
          byTx.set(item.txId, list);
        }
        request.resolve(byTx);
        return;
      }
      default:
        this.host.receive(from, value);
    }
  }

  private buildBlock(height: number): Block {
    // A batch that breaks the rules (e.g. a schema activation governance refuses) is dropped from the
    // mempool and the block built again without it, so it is never proposed again.
    for (let attempt = 0; ; attempt++) {
      const { block, batchKeys } = this.assembleFromMempool(height);
      if (attempt >= PROPOSAL_REBUILDS_MAX) return block;
      const problem = this.chain.proposalProblem(block);
      if (problem === null) {
        this.markBatches(block, 'proposedAt');
        return block;
      }
      const culprit = problem.txIndex === undefined ? undefined : batchKeys[batchIndexOf(block, problem.txIndex)];
      if (culprit === undefined) return this.assembleFromMempool(height, 0).block;
      this.dropBatch(culprit, new EntenteError('LEDGER_INVALID', `the batch was refused by the ledger's rules (${problem.rule}: ${problem.message})`));
    }
  }

  private assembleFromMempool(height: number, batchesMax = Number.POSITIVE_INFINITY): { block: Block; batchKeys: string[] } {
    const state = this.chain.state;
    const batches = [];
    const batchKeys: string[] = [];
    const chosen = new Set<string>();
    const taken = new Set<string>();
    /** Each owner's chain with the batches taken so far: the next batch of an owner must continue it. */
    const tips = new Map<number, SignerChain>();
    let txs = 0;
    let bytes = 0;
    let full = false;
    for (let pass = 0; pass < LINK_PASSES_MAX && !full; pass++) {
      const takenBefore = taken.size;
      for (const batch of this.mempool.values()) {
        if (taken.has(batch.key)) continue;
        const tip = tips.get(batch.seal.signer) ?? this.signerChainOf(batch.seal.signer);
        if (this.linkState(batch, tip) !== 'ready') continue;
        if (batches.length >= batchesMax || txs + batch.transactions.length > BLOCK_TXS_TARGET_MAX || bytes + batch.bytes > BLOCK_BYTES_TARGET_MAX) {
          full = true;
          break;
        }
        // Two pooled batches may share transactions (see pruneMempool): a block takes each once.
        if (batch.txIds.some((id) => this.chain.committedTxs.has(id) || chosen.has(id))) continue;
        for (const id of batch.txIds) chosen.add(id);
        taken.add(batch.key);
        tips.set(batch.seal.signer, { count: tip.count + 1, head: batch.hash });
        // Public payloads travel with the proposal: governance (schema, membership) is judged from them.
        const payloads = batch.txIds.map((id) => (this.heldPayloads.get(id) ?? []).filter((p) => p.audience === PUBLIC_AUDIENCE));
        batches.push({ seal: batch.seal, transactions: batch.transactions, transactionBytes: batch.transactionBytes, payloads });
        batchKeys.push(batch.key);
        txs += batch.transactions.length;
        bytes += batch.bytes;
      }
      if (taken.size === takenBefore) break;
    }
    const block = assembleBlock(this.hasher, {
      height, previousHash: state.headHash, membershipHash: state.membershipHash, schemaVersion: state.schemaVersion,
      proposer: this.selfIndex, timeMs: Math.max(Date.now(), state.timeMs), batches,
    });
    return { block: { header: block.header, headerBytes: block.headerBytes, certificate: { round: 0, signatures: [] }, batches: block.batches, transactions: block.transactions, transactionBytes: block.transactionBytes, payloads: block.payloads }, batchKeys };
  }

  private dropBatch(key: string, reason: EntenteError): void {
    const batch = this.mempool.get(key);
    if (batch === undefined) return;
    this.removeFromMempool(key, batch);
    for (const id of batch.txIds) this.heldPayloads.delete(id);
    const waiters = this.batchWaiters.get(key) ?? [];
    this.batchWaiters.delete(key);
    for (const waiter of waiters) waiter.reject(reason);
    this.o.onEvent?.({ kind: 'rejected', from: batch.seal.signer, reason: reason.message });
    // Own batches after it linked to it: published again after the one before it.
    const index = batch.seal.signer === this.selfIndex ? this.ownQueue.indexOf(key) : -1;
    if (index >= 0) {
      this.ownQueue.splice(index, 1);
      if (index < this.ownQueue.length) this.relinkOwn(index);
    }
  }


  private handleCommitted(height: number, via: 'consensus' | 'sync'): void {
    this.validBlockWrites.committed(height);
    // The block just stored is still in memory: reading it back from the segment would decode it again.
    const stored = this.chain.storedHead(height) ?? this.store.readBlockSync(height);
    if (stored === null) return;
    const txIds = this.chain.txIdsOf(stored);
    this.indexOwnOrigins(height, stored);
    this.countSignerBatches(stored);
    this.refreshSignerHeads();
    let start = 0;
    for (const seal of stored.batches) {
      const key = toHex(seal.signature);
      const pooled = this.mempool.get(key);
      if (pooled !== undefined) {
        this.mempool.delete(key);
        this.mempoolBytes -= pooled.bytes;
        if (seal.signer === this.selfIndex) this.ownQueue = this.ownQueue.filter((own) => own !== key);
      }
      const waiters = this.batchWaiters.get(key);
      if (waiters !== undefined) {
        this.batchWaiters.delete(key);
        const timing = this.batchTimings.get(key);
        if (timing !== undefined) this.batchTimings.delete(key);
        const commit = { height, transactionIds: txIds.slice(start, start + seal.txCount), ...(timing === undefined ? {} : { timing }) };
        for (const waiter of waiters) waiter.resolve(commit);
      }
      start += seal.txCount;
    }
    for (const id of txIds) this.heldPayloads.delete(id);
    // The chain's committed index already holds this block's ids: no set of them is built per block.
    if (this.mempool.size > 0) this.pruneMempool();
    const event: CommittedBlockEvent = { height, block: stored, transactionIds: txIds, via };
    for (const listener of this.committedListeners) listener(event);
    this.checkpointDue.txs += txIds.length;
    this.checkpointDue.blocks += 1;
    if (this.checkpointWriting === null && (this.checkpointDue.txs >= (this.o.checkpointTxs ?? CHECKPOINT_TXS_DEFAULT) || this.checkpointDue.blocks >= (this.o.checkpointBlocks ?? CHECKPOINT_BLOCKS_DEFAULT))) {
      this.writeCheckpoint();
    }
  }

  // ---- chain checkpoint (ledger/store/chain-checkpoint.ts) ----------------------------------------

  /** The checkpoint file, when it is readable and its node part is well formed; otherwise why not, as an event. */
  private usableCheckpoint(): { checkpoint: ChainCheckpoint; node: NodeCheckpointState } | null {
    const read = readCheckpointFile(this.o.ledgerDirectory);
    if (read === null) return null;
    if (!read.ok) {
      this.o.onEvent?.({ kind: 'checkpoint-ignored', reason: read.reason });
      return null;
    }
    const node = nodeCheckpointState(read.checkpoint.node);
    if (node === null) {
      this.o.onEvent?.({ kind: 'checkpoint-ignored', reason: 'its node indexes are missing' });
      return null;
    }
    if (node.partner !== this.partner) {
      this.o.onEvent?.({ kind: 'checkpoint-ignored', reason: `it was written by ${node.partner}'s node (a ledger directory copied from a partner), not ${this.partner}'s` });
      return null;
    }
    return { checkpoint: read.checkpoint, node };
  }

  /** Called by the chain once it took the checkpoint's state, before it replays the blocks after it. */
  private restoreCheckpointIndexes(saved: NodeCheckpointState): void {
    for (const [origin, height] of saved.ownOrigins) this.ownOrigins.set(origin, height);
    for (const [origin, height] of saved.transientOrigins) this.transientOrigins.set(origin, height);
    for (const [signer, chain] of saved.signerChains) this.signerChains.set(signer, chain);
  }

  /**
   * Captures the chain state and the node's indexes at the stored head (both up to date with it: called
   * after a block's handling), then writes them off the event loop. A failed write is tried again after
   * the next interval; the old checkpoint stays valid meanwhile (a start replays a little more).
   */
  private writeCheckpoint(): void {
    const chain = this.chain.checkpointState();
    if (chain === null) return;
    const checkpoint: ChainCheckpoint = {
      height: this.chain.headHeight(),
      headHash: this.chain.state.headHash,
      chain,
      node: { partner: this.partner, ownOrigins: new Map(this.ownOrigins), transientOrigins: new Map(this.transientOrigins), signerChains: new Map(this.signerChains) } satisfies NodeCheckpointState,
    };
    this.checkpointDue = { txs: 0, blocks: 0 };
    this.checkpointWriting = writeCheckpointFile(this.o.ledgerDirectory, checkpoint)
      .then(
        () => {},
        (error: unknown) => this.o.onEvent?.({ kind: 'checkpoint-write-failed', reason: (error as Error).message }),
      )
      .finally(() => {
        this.checkpointWriting = null;
      });
  }

  private rememberVerifiedSeal(signatureHex: string, publicKey: Uint8Array, message: Uint8Array): void {
    if (this.verifiedSeals.size >= VERIFIED_SEALS_MAX) this.verifiedSeals.delete(this.verifiedSeals.keys().next().value!);
    this.verifiedSeals.set(signatureHex, { publicKey, message });
  }

  /** Ed25519, answering at once for a batch seal this node already verified over the same message. */
  private sealCachingVerifier(): SignatureVerifier {
    return {
      verify: (publicKey, message, signature) => {
        const known = this.verifiedSeals.get(toHex(signature));
        if (known !== undefined && bytesEqual(known.publicKey, publicKey) && bytesEqual(known.message, message)) return true;
        return ed25519Verifier.verify(publicKey, message, signature);
      },
    };
  }

  /** Marks the stages of traced batches as the chain sees their block (a peer's proposal once judged valid). */
  private batchObserver(): ChainObserver {
    return {
      judged: (block) => this.markBatches(block, 'proposedAt'),
      deciding: (block) => this.markBatches(block, 'decidedAt'),
      stored: (block) => this.markBatches(block, 'storedAt'),
    };
  }

  /** The first time each traced own batch of `block` reaches `stage`. */
  private markBatches(block: Block, stage: keyof BatchTiming): void {
    if (this.batchTimings.size === 0) return;
    const now = performance.now();
    for (const seal of block.batches) {
      if (seal.signer !== this.selfIndex) continue;
      const timing = this.batchTimings.get(toHex(seal.signature));
      if (timing !== undefined && Number.isNaN(timing[stage])) timing[stage] = now;
    }
  }

  private indexOwnOrigins(height: number, block: Block): void {
    const transient = this.o.transientOrigin;
    const transientMax = this.o.transientOriginsMax ?? TRANSIENT_ORIGINS_MAX;
    for (const tx of block.transactions) {
      if (tx.owner !== this.partner) continue;
      if (transient === undefined || !transient(tx.origin)) {
        this.ownOrigins.set(tx.origin, height);
        continue;
      }
      // Moved to the newest end; a source transaction split over several batches ends at its last block.
      this.transientOrigins.delete(tx.origin);
      this.transientOrigins.set(tx.origin, height);
      if (this.transientOrigins.size > transientMax) this.transientOrigins.delete(this.transientOrigins.keys().next().value!);
    }
  }

  // ---- durable consensus snapshot (same scheme as node-runner.ts) -----------------------------

  /**
   * The snapshot is synced on the thread pool (DurableWrites), so the event loop keeps serving requests
   * and messages meanwhile; `durable` runs once it (or a newer snapshot) is on disk. A record no message
   * waits for (`awaited` false: a new height or round) is not synced by itself; the next awaited one
   * covers it, as in the standalone node. The valid block, needed only for liveness after a restart, is
   * written to its own file only if its height stays open (deferred-valid-block.ts), and carried in the
   * record while the record holds a lock (stored-snapshot.ts).
   */
  private writeSnapshot(snapshot: HostSnapshot, durable: () => void, awaited: boolean): void {
    const validId = snapshot.record.validValue;
    this.durableWrites.writeSnapshot(encodeSnapshot(snapshot), durable, awaited);
    if (snapshot.validBlock !== null && validId !== null && validId !== this.validBlockId) {
      this.validBlockId = validId;
      this.validBlockWrites.offer(snapshot.record.height, snapshot.validBlock);
    }
  }

  private readSnapshot(): HostSnapshot | null {
    const bytes = this.snapshotSlots.read();
    if (bytes === null) return null;
    const value = decodeSnapshot(bytes);
    this.validBlockId = value.validBlockId;
    return restoredSnapshot(value, () => this.validBlockSlots.read());
  }
}

export function ledgerDirectoryOf(dataDirectory: string): string {
  return join(dataDirectory, 'ledger');
}

/** Which batch (by position) holds the block's transaction `txIndex`. */
function batchIndexOf(block: Block, txIndex: number): number {
  let start = 0;
  for (let index = 0; index < block.batches.length; index++) {
    start += block.batches[index]!.txCount;
    if (txIndex < start) return index;
  }
  return -1;
}
