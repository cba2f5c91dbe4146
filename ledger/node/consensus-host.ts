// The host around the pure consensus core: everything the core leaves out. It checks each signature once
// (outside the core), judges valid(v) with the chain's block rules, carries out the core's Ready in the
// documented order (store decided block → persist record → sign and send → timers), builds proposals from
// the mempool, buffers the next height's early messages, and catches up by block sync when peers are ahead.
// It is driven only through callbacks of a HostIo, so the same code runs in the deterministic simulator
// (test/sim, simulated clock, network and disk) and in a real node process (ledger/node/node-runner.ts).
import { assert } from '../../common/assert.ts';
import {
  initialState, prevotesFor, restoreState, step, type ConsensusInput, type ConsensusState, type Decision, type DurableRecord,
  type EquivocationEvidence, type HeightMembership, type VoteMessage, type Ready, type SignedMessage, type TimeoutConfig, type TimerId, type ValueId,
} from '../consensus/index.ts';
import type { SignatureVerifier, Signer } from '../crypto/signature.ts';
import { bytesEqual } from '../encoding/hex.ts';
import type { Membership } from '../membership.ts';
import { certificateProblem, type CommitCertificate } from '../sync/commit-certificate.ts';
import { signConsensusMessage, verifyConsensusMessage } from '../transport/consensus-signing.ts';
import { parseConsensusWire, type ConsensusWire, type SyncedBlock } from './consensus-wire.ts';

/** Early messages of the next height kept until it starts. */
export const NEXT_HEIGHT_MESSAGES_MAX = 4096;
/** Blocks of the current height kept by id (one per proposing round in practice). */
export const CANDIDATE_BLOCKS_MAX = 64;
/** Blocks sent in answer to one sync request, and their total encoded size. */
export const SYNC_BLOCKS_PER_RESPONSE_MAX = 64;
export const SYNC_BYTES_PER_RESPONSE_MAX = 16 * 1024 * 1024;
/** An idle node asks its peers for newer blocks every this many sync intervals. */
export const IDLE_POLL_INTERVALS = 4;
/** A straggler of the height just stored is served blocks only if its sender is still there after syncIntervalMs / this. */
export const LATE_MESSAGE_GRACE_DIVISOR = 4;
/** Peers whose progress is tracked (members only send consensus messages; a bound all the same). */
const PEERS_TRACKED_MAX = 1024;
/** Verified-message cache entries per height (re-sent duplicates are not verified twice). */
export const VERIFIED_CACHE_MAX = 8192;

/** What the host needs from the chain (store + validity rules). Block ids are lowercase hex. */
export interface HostChain<B> {
  /** Height of the last stored block (the genesis block is height 0). */
  headHeight(): number;
  headId(): ValueId;
  blockId(block: B): ValueId;
  encodeBlock(block: B): Uint8Array;
  /** Untrusted bytes in; null when they are not a block. */
  decodeBlock(bytes: Uint8Array): B | null;
  /** valid(v) of the paper: structure, linkage to `parentId` at `height`, every transaction valid and new. */
  isValidBlock(block: B, height: number, parentId: ValueId): boolean;
  /** Stores the block with its certificate durably before returning. */
  commitBlock(height: number, block: B, certificate: CommitCertificate): void;
  storedBlock(height: number): { readonly block: B; readonly certificate: CommitCertificate } | null;
  /** The voters of `height`, known once block height-1 is stored. */
  membershipAt(height: number): Membership;
}

export interface BlockBuilder<B> {
  /** True when transactions wait to be proposed. */
  hasPending(): boolean;
  /** A block at `height` on `parentId` from pending transactions (possibly empty). */
  build(height: number, parentId: ValueId): B;
}

export interface HostIo {
  /** Sends to one member (by index in the current membership) or to every member but this node. */
  send(to: number | 'others', wire: ConsensusWire): void;
  setTimer(delayMs: number, fire: () => void): void;
  /**
   * Makes the snapshot durable, then calls `durable` (never synchronously inside `persist`). Writes complete in order.
   * `awaited` is false when no message waits for this record (a new height or round, a valid value seen
   * late): the host may then leave it for its next write to cover, since a crash before a record's write
   * is always possible anyway; `durable` runs when a later write is durable.
   */
  persist(seq: number, snapshot: HostSnapshot, durable: () => void, awaited?: boolean): void;
}

/**
 * What a node persists before it sends: the core's record, plus what it needs to stay live after a restart
 * while it holds a valid value: that block's bytes and its proof-of-lock (without them it could neither
 * re-propose the value nor convince peers that missed the prevotes).
 */
export interface HostSnapshot {
  readonly record: DurableRecord;
  readonly validBlock: Uint8Array | null;
  readonly proofOfLock: readonly VoteMessage[];
}

export interface HostEvents<B> {
  committed?(height: number, block: B, certificate: CommitCertificate, via: 'consensus' | 'sync'): void;
  evidence?(evidence: EquivocationEvidence): void;
  rejected?(from: number, reason: string): void;
  signed?(message: SignedMessage): void;
  /** Each step of a height as this node takes it, for timing where a height's time goes (gateway/ledger/consensus-trace.ts). */
  trace?(step: ConsensusTraceStep): void;
}

/**
 * One step of a height on one node. `message` and `sender` name the proposal or vote a step is about
 * (sent by this node, or received from `sender` and found correctly signed); `seq` pairs a snapshot's
 * write with its durability.
 */
export type ConsensusTraceStep =
  | { readonly step: 'sent' | 'received'; readonly height: number; readonly round: number; readonly message: SignedMessage['kind']; readonly sender: number }
  | { readonly step: 'judged'; readonly height: number; readonly round: number; readonly valid: boolean }
  | { readonly step: 'persisting'; readonly height: number; readonly seq: number; readonly awaited: boolean }
  | { readonly step: 'durable'; readonly seq: number }
  | { readonly step: 'decided' | 'stored'; readonly height: number; readonly round: number };

export interface HostOptions<B> {
  readonly chainId: string;
  readonly signer: Signer;
  readonly verifier: SignatureVerifier;
  readonly chain: HostChain<B>;
  readonly builder: BlockBuilder<B>;
  readonly io: HostIo;
  readonly timeouts: TimeoutConfig;
  /** How long a proposer with an empty mempool waits for transactions before proposing an empty block. */
  readonly emptyBlockDelayMs: number;
  /** Minimum time between two sync requests. */
  readonly syncIntervalMs: number;
  readonly events?: HostEvents<B>;
  /** The durable snapshot found at start-up, if any. */
  readonly restored?: HostSnapshot | null;
  /** Test-only: wraps the core's step (the simulator plants bugs through it). */
  readonly stepFn?: typeof step;
  /**
   * After a block, wait with the next height until there is something to propose or a peer starts it
   * (no empty blocks while the network is idle). Every node learns of new transactions from their
   * owner's gossip, so all wake together; a node that missed them wakes on the first proposal or vote.
   */
  readonly idleWithoutTransactions?: boolean;
}

export class ConsensusHost<B> {
  private core: ConsensusState;
  private membership: Membership;
  private readonly queue: ConsensusInput[] = [];
  private draining = false;
  private stopped = false;
  private readonly candidates = new Map<ValueId, B>();
  private readonly validity = new Map<ValueId, boolean>();
  private readonly verified = new Set<string>();
  private nextHeightWires: { from: number; wire: ConsensusWire }[] = [];
  private pendingValue: { height: number; round: number } | null = null;
  private lagCheckHeight = -1;
  private syncInFlight = false;
  /** The next height waits for transactions (idleWithoutTransactions). */
  private idle = false;
  /** Peers recently sent blocks unasked (see serveLaggingPeer), cleared after syncIntervalMs. */
  private readonly servedLagging = new Set<number>();
  /** The highest height each peer sent a proposal or vote for (how far it has come). */
  private readonly peerHeights = new Map<number, number>();
  private readonly stepFn: typeof step;

  private readonly o: HostOptions<B>;

  constructor(options: HostOptions<B>) {
    const o = options;
    this.o = o;
    this.stepFn = o.stepFn ?? step;
    this.membership = o.chain.membershipAt(o.chain.headHeight() + 1);
    this.core = initialState(o.timeouts);
  }

  get height(): number {
    return this.core.height;
  }

  get state(): ConsensusState {
    return this.core;
  }

  get selfIndex(): number | null {
    return this.heightMembership().self;
  }

  start(): void {
    const height = this.o.chain.headHeight() + 1;
    const snapshot = this.o.restored ?? null;
    if (snapshot !== null && snapshot.record.height === height) {
      this.core = restoreState(snapshot.record, this.heightMembership(), this.o.timeouts);
      this.queue.push({ kind: 'resume' });
      this.restoreLock(snapshot);
      this.drain();
    } else {
      this.enqueue({ kind: 'startHeight', height, membership: this.heightMembership() });
    }
  }

  /** Stops reacting to anything (the simulator's crash, a node shutting down). */
  stop(): void {
    this.stopped = true;
  }

  /** New transactions reached the mempool: a proposer waiting for some proposes now. */
  transactionsArrived(): void {
    if (this.idle) {
      this.wake();
      return;
    }
    if (this.pendingValue !== null && this.o.builder.hasPending()) {
      this.answerValue();
      this.drain();
    }
  }

  /** A message from the peer at `from` (authenticated by the transport, content still untrusted). */
  receive(from: number, raw: unknown): void {
    if (this.stopped) return;
    const wire = parseConsensusWire(raw);
    if (wire === null) {
      this.o.events?.rejected?.(from, 'malformed consensus message');
      return;
    }
    switch (wire.type) {
      case 'proposal':
      case 'vote':
        this.receiveConsensus(from, wire);
        break;
      case 'sync-request':
        this.serveSync(from, wire.fromHeight);
        break;
      case 'sync-response':
        this.applySynced(from, wire.blocks);
        break;
    }
    this.drain();
  }

  private receiveConsensus(from: number, wire: Extract<ConsensusWire, { type: 'proposal' | 'vote' }>): void {
    const message = wire.message;
    if (message.height > (this.peerHeights.get(from) ?? 0) && this.peerHeights.size <= PEERS_TRACKED_MAX) this.peerHeights.set(from, message.height);
    if (message.height > this.core.height) {
      // The next height's messages usually arrive just before our own decision: keep them. A peer two or
      // more heights ahead, or one still ahead after syncIntervalMs, means we lag: ask it for blocks.
      if (message.height === this.core.height + 1 && this.nextHeightWires.length < NEXT_HEIGHT_MESSAGES_MAX) this.nextHeightWires.push({ from, wire });
      if (this.idle && message.height === this.core.height + 1) {
        this.wake();
        return;
      }
      this.noticeLag(from, message.height);
      return;
    }
    // The sender still works on a height we have stored: it lags. Without empty blocks (idle mode) no
    // newer message may ever reach it, so hand it the blocks it misses (at most once per interval).
    if (message.height <= this.o.chain.headHeight()) this.serveLaggingPeer(from, message.height);
    if (message.height < this.core.height) return;
    // An exact copy of a message the core already has (a re-send, a duplicate) changes nothing there.
    if (this.verified.has(messageKey(message)) && (wire.type === 'vote' || wire.message.validRound < 0)) return;
    if (!this.verifyOnce(message)) {
      this.o.events?.rejected?.(from, `bad signature on a ${message.kind} claiming node ${message.sender}`);
      return;
    }
    this.o.events?.trace?.({ step: 'received', height: message.height, round: message.round, message: message.kind, sender: message.sender });
    if (wire.type === 'vote') {
      this.queue.push({ kind: 'vote', message: wire.message });
      return;
    }
    const proposal = wire.message;
    const valueValid = this.judgeBlock(proposal.valueId, wire.block);
    this.o.events?.trace?.({ step: 'judged', height: proposal.height, round: proposal.round, valid: valueValid });
    this.queue.push({ kind: 'proposal', message: proposal, valueValid });
    // The proof-of-lock: prevotes of validRound for this value, each checked like any other vote.
    for (const vote of wire.justification) {
      if (vote.kind !== 'prevote' || vote.height !== message.height || vote.round !== proposal.validRound || vote.valueId !== proposal.valueId) continue;
      if (this.verifyOnce(vote)) this.queue.push({ kind: 'vote', message: vote });
    }
  }

  private verifyOnce(message: SignedMessage): boolean {
    const key = messageKey(message);
    if (this.verified.has(key)) return true;
    if (!verifyConsensusMessage(this.o.chainId, this.membership, this.o.verifier, message)) return false;
    if (this.verified.size < VERIFIED_CACHE_MAX) this.verified.add(key);
    return true;
  }

  /** valid(v): decodes the block, checks it hashes to the proposed id and passes the chain's rules. */
  private judgeBlock(valueId: ValueId, bytes: Uint8Array): boolean {
    const known = this.validity.get(valueId);
    if (known !== undefined) return known;
    const block = this.o.chain.decodeBlock(bytes);
    const valid = block !== null && this.o.chain.blockId(block) === valueId && this.o.chain.isValidBlock(block, this.core.height, this.o.chain.headId());
    if (this.validity.size < CANDIDATE_BLOCKS_MAX) {
      this.validity.set(valueId, valid);
      if (valid && block !== null) this.candidates.set(valueId, block);
    }
    return valid;
  }

  // ---- driving the core ---------------------------------------------------------------------------------

  private enqueue(input: ConsensusInput): void {
    if (this.stopped) return;
    this.queue.push(input);
    this.drain();
  }

  private drain(): void {
    if (this.draining || this.stopped) return;
    this.draining = true;
    try {
      for (let input = this.queue.shift(); input !== undefined && !this.stopped; input = this.queue.shift()) this.stepNow(input);
    } finally {
      this.draining = false;
    }
  }

  /** Steps one input at once (a height change must take effect before the next synced block is checked). */
  private stepNow(input: ConsensusInput): void {
    const result = this.stepFn(this.core, input);
    this.core = result.state;
    this.carryOut(result.ready);
  }

  /** The Ready order of ledger/consensus/types.ts. */
  private carryOut(ready: Ready): void {
    for (const decision of ready.decisions) this.commitDecision(decision);
    if (ready.persist !== null) {
      const { seq, record } = ready.persist;
      const awaited = this.core.held.some((held) => held.seq === seq);
      this.o.events?.trace?.({ step: 'persisting', height: record.height, seq, awaited });
      this.o.io.persist(seq, this.snapshotOf(record), () => {
        this.o.events?.trace?.({ step: 'durable', seq });
        if (!this.stopped) this.enqueue({ kind: 'persisted', seq });
      }, awaited);
    }
    for (const unsigned of ready.messages) {
      const message = signConsensusMessage(this.o.chainId, this.o.signer, unsigned);
      this.o.events?.signed?.(message);
      if (message.kind === 'proposal') {
        const block = this.candidates.get(message.valueId);
        // After a restart the core may re-send (or re-propose as validValue) a block this process no
        // longer holds; without the block the proposal is useless, and the round times out instead.
        if (block === undefined) continue;
        const justification = message.validRound >= 0 ? prevotesFor(this.core, message.validRound, message.valueId) : [];
        this.o.io.send('others', { type: 'proposal', message, block: this.o.chain.encodeBlock(block), justification });
        this.queue.push({ kind: 'proposal', message, valueValid: true });
      } else {
        this.o.io.send('others', { type: 'vote', message });
        this.queue.push({ kind: 'vote', message });
      }
      this.o.events?.trace?.({ step: 'sent', height: message.height, round: message.round, message: message.kind, sender: message.sender });
      this.verified.add(messageKey(message));
    }
    for (const t of ready.timers) this.setTimer(t.timer, t.delayMs);
    for (const request of ready.valueRequests) {
      this.pendingValue = { height: request.height, round: request.round };
      if (this.o.builder.hasPending()) this.answerValue();
      else this.o.io.setTimer(this.o.emptyBlockDelayMs, () => this.answerValueIfStill(request.height, request.round));
    }
    for (const evidence of ready.evidence) this.o.events?.evidence?.(evidence);
    if (this.core.decision !== null && this.o.chain.headHeight() === this.core.height) this.advance();
  }

  private snapshotOf(record: DurableRecord): HostSnapshot {
    const valid = record.validValue;
    const block = valid === null ? undefined : this.candidates.get(valid);
    if (valid === null || block === undefined) return { record, validBlock: null, proofOfLock: [] };
    return { record, validBlock: this.o.chain.encodeBlock(block), proofOfLock: prevotesFor(this.core, record.validRound, valid) };
  }

  /** After a restart: take back the valid value's block and its proof-of-lock (both checked again). */
  private restoreLock(snapshot: HostSnapshot): void {
    const valid = snapshot.record.validValue;
    if (valid === null || snapshot.validBlock === null) return;
    const block = this.o.chain.decodeBlock(snapshot.validBlock);
    if (block === null || this.o.chain.blockId(block) !== valid) return;
    this.candidates.set(valid, block);
    this.validity.set(valid, true);
    for (const vote of snapshot.proofOfLock) {
      if (vote.kind === 'prevote' && vote.height === snapshot.record.height && vote.valueId === valid && this.verifyOnce(vote)) this.queue.push({ kind: 'vote', message: vote });
    }
  }

  private setTimer(timer: TimerId, delayMs: number): void {
    this.o.io.setTimer(delayMs, () => {
      // A timer of a height already left changes nothing in the core (it ignores it), but stepping it
      // still runs every rule: at tens of heights per second that was five wasted steps per height.
      if (!this.stopped && timer.height >= this.core.height) this.enqueue({ kind: 'timeout', timer });
    });
  }

  private answerValueIfStill(height: number, round: number): void {
    if (this.stopped || this.pendingValue === null || this.pendingValue.height !== height || this.pendingValue.round !== round) return;
    this.answerValue();
    this.drain();
  }

  private answerValue(): void {
    const request = this.pendingValue;
    if (request === null || request.height !== this.core.height) return;
    this.pendingValue = null;
    const block = this.o.builder.build(request.height, this.o.chain.headId());
    const valueId = this.o.chain.blockId(block);
    this.candidates.set(valueId, block);
    this.validity.set(valueId, true);
    this.queue.push({ kind: 'value', height: request.height, round: request.round, valueId });
  }

  private commitDecision(decision: Decision): void {
    const block = this.candidates.get(decision.valueId);
    if (block === undefined) {
      // Decided (a quorum precommitted) but the block itself was lost with a restart: fetch it by sync,
      // which stores it once its certificate checks out and then starts the next height.
      this.syncInFlight = false;
      this.requestSyncFrom('others');
      return;
    }
    assert(this.o.chain.headHeight() === decision.height - 1, 'decisions arrive in height order');
    const certificate: CommitCertificate = { height: decision.height, round: decision.round, valueId: decision.valueId, votes: decision.certificate };
    this.o.events?.trace?.({ step: 'decided', height: decision.height, round: decision.round });
    this.o.chain.commitBlock(decision.height, block, certificate);
    this.o.events?.trace?.({ step: 'stored', height: decision.height, round: decision.round });
    this.o.events?.committed?.(decision.height, block, certificate, 'consensus');
  }

  /** The block of the current height is stored (by decision or sync): start the next height. */
  private advance(): void {
    const height = this.o.chain.headHeight() + 1;
    this.membership = this.o.chain.membershipAt(height);
    this.candidates.clear();
    this.validity.clear();
    this.verified.clear();
    this.pendingValue = null;
    if (this.o.idleWithoutTransactions === true && !this.o.builder.hasPending()) {
      // carryOut calls advance again for every input while idle: one poll loop is enough.
      if (!this.idle) this.pollWhileIdle(height - 1);
      this.idle = true;
      return;
    }
    this.startNextHeight(height);
  }

  /** While idle, ask the others now and then for blocks after our head: we may be the one behind. */
  private pollWhileIdle(head: number): void {
    this.o.io.setTimer(this.o.syncIntervalMs * IDLE_POLL_INTERVALS, () => {
      if (this.stopped || !this.idle || this.o.chain.headHeight() !== head) return;
      this.requestSyncFrom('others');
      this.pollWhileIdle(head);
    });
  }

  /**
   * A message of the height we just stored is normally a straggler from a peer about to decide it (the
   * last precommits cross our decision): the peer is served only if, a grace period later, it has still
   * sent nothing newer. Sending it the block at once cost a block read, encode, send and decode per peer
   * and interval, at every height of a busy network, for nothing. Two or more heights behind is served at once.
   */
  private serveLaggingPeer(from: number, height: number): void {
    if (this.servedLagging.has(from)) return;
    this.servedLagging.add(from);
    this.o.io.setTimer(this.o.syncIntervalMs, () => this.servedLagging.delete(from));
    if (height < this.o.chain.headHeight()) {
      this.serveSync(from, height);
      return;
    }
    this.o.io.setTimer(this.o.syncIntervalMs / LATE_MESSAGE_GRACE_DIVISOR, () => {
      if (!this.stopped && (this.peerHeights.get(from) ?? 0) <= height) this.serveSync(from, height);
    });
  }

  private wake(): void {
    if (!this.idle || this.stopped) return;
    this.idle = false;
    this.startNextHeight(this.o.chain.headHeight() + 1);
    this.drain();
  }

  private startNextHeight(height: number): void {
    // Whoever starts the height ends idleness: advance() may start it while idle (transactions reached
    // the mempool before transactionsArrived() ran), and a later wake() must not start it twice.
    this.idle = false;
    this.stepNow({ kind: 'startHeight', height, membership: this.heightMembership() });
    const early = this.nextHeightWires;
    this.nextHeightWires = [];
    // Replayed after startHeight is stepped: the queue is FIFO and these go through receive's checks again.
    this.o.io.setTimer(0, () => {
      for (const { from, wire } of early) this.receive(from, wire);
    });
  }

  private heightMembership(): HeightMembership {
    const index = this.membership.nodes.findIndex((node) => bytesEqual(node.publicKey, this.o.signer.publicKey));
    return { count: this.membership.nodes.length, self: index < 0 ? null : index };
  }

  // ---- block sync ---------------------------------------------------------------------------------------

  private noticeLag(from: number, peerHeight: number): void {
    const height = this.core.height;
    if (peerHeight >= height + 2) {
      this.requestSync(from);
      return;
    }
    if (this.lagCheckHeight === height) return;
    this.lagCheckHeight = height;
    this.o.io.setTimer(this.o.syncIntervalMs, () => {
      if (!this.stopped && this.core.height === height) this.requestSync(from);
      if (this.lagCheckHeight === height) this.lagCheckHeight = -1;
    });
  }

  /** Asks a peer for the blocks after our head, at most once per syncIntervalMs. */
  private requestSync(from: number): void {
    this.requestSyncFrom(from);
  }

  private requestSyncFrom(from: number | 'others'): void {
    if (this.syncInFlight) return;
    this.syncInFlight = true;
    this.o.io.send(from, { type: 'sync-request', fromHeight: this.o.chain.headHeight() + 1 });
    this.o.io.setTimer(this.o.syncIntervalMs, () => {
      this.syncInFlight = false;
    });
  }

  private serveSync(from: number, fromHeight: number): void {
    const blocks: SyncedBlock[] = [];
    let bytes = 0;
    for (let height = fromHeight; height <= this.o.chain.headHeight() && blocks.length < SYNC_BLOCKS_PER_RESPONSE_MAX; height++) {
      const stored = this.o.chain.storedBlock(height);
      if (stored === null) break;
      const encoded = this.o.chain.encodeBlock(stored.block);
      if (blocks.length > 0 && bytes + encoded.length > SYNC_BYTES_PER_RESPONSE_MAX) break;
      bytes += encoded.length;
      blocks.push({ height, block: encoded, certificate: stored.certificate });
    }
    if (blocks.length > 0) this.o.io.send(from, { type: 'sync-response', blocks });
  }

  /** Verify, then store: each block must extend our head, pass the block rules and carry a valid certificate. */
  private applySynced(from: number, blocks: readonly SyncedBlock[]): void {
    for (const synced of blocks) {
      // An idle node (no transactions) has not started the height after its head; blocks from a peer
      // mean the network went on without it.
      if (this.idle && synced.height === this.o.chain.headHeight() + 1) {
        this.idle = false;
        this.startNextHeight(synced.height);
      }
      const height = this.o.chain.headHeight() + 1;
      if (synced.height < height) continue;
      if (synced.height > height) return;
      const block = this.o.chain.decodeBlock(synced.block);
      if (block === null) return this.o.events?.rejected?.(from, `sync: block ${height} does not decode`);
      const valueId = this.o.chain.blockId(block);
      if (!this.o.chain.isValidBlock(block, height, this.o.chain.headId())) return this.o.events?.rejected?.(from, `sync: block ${height} breaks the block rules`);
      const membership = this.o.chain.membershipAt(height);
      const problem = certificateProblem(this.o.chainId, membership, this.o.verifier, synced.certificate, { height, valueId });
      if (problem !== null) return this.o.events?.rejected?.(from, `sync: block ${height}: ${problem}`);
      this.o.chain.commitBlock(height, block, synced.certificate);
      this.o.events?.committed?.(height, block, synced.certificate, 'sync');
      this.syncInFlight = false;
      assert(height === this.core.height, 'the core always works on the height after the stored head');
      this.advance();
    }
    // More may be missing: the next message from an advanced peer triggers the next request.
  }
}

function messageKey(message: SignedMessage): string {
  return `${message.kind}|${message.sender}|${message.round}|${message.valueId}|${message.signature}`;
}
