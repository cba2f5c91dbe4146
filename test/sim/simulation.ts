// The deterministic network simulator (in the manner of TigerBeetle's VOPR): every node of a network runs
// the real ConsensusHost and the real consensus core in one process, over a simulated clock, network and
// disk, all driven by one seeded PRNG. Faults: message loss, delay, duplication and reordering, partitions
// and heals, crashes and restarts from durable state (records not yet fsynced are lost), clock skew, and
// Byzantine nodes (see fault-mixes.ts). Signatures are real Ed25519 (ledger/crypto) checked outside the core.
// Checkers (checkers.ts) run on every commit, every signature and every restart; liveness at the end.
import type { EquivocationEvidence, ProposalMessage, SignedMessage, TimeoutConfig, VoteMessage } from '../../ledger/consensus/index.ts';
import { step as realStep } from '../../ledger/consensus/index.ts';
import { createEd25519Signer, ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import type { SignatureVerifier, Signer } from '../../ledger/crypto/signature.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { createMembership, type Membership } from '../../ledger/membership.ts';
import { ConsensusHost, type HostIo, type HostSnapshot } from '../../ledger/node/consensus-host.ts';
import type { ConsensusWire } from '../../ledger/node/consensus-wire.ts';
import { signConsensusMessage } from '../../ledger/transport/consensus-signing.ts';
import { Checkers, SimulationFailure } from './checkers.ts';
import { EventQueue } from './event-queue.ts';
import type { FaultMix } from './fault-mixes.ts';
import { Prng } from './prng.ts';
import { SIM_BLOCK_TXS_MAX, SimChain, encodeSimBlock, makeTx, simBlockId, type SimBlock } from './sim-chain.ts';

export const SIM_TIMEOUTS: TimeoutConfig = {
  proposeBaseMs: 600, proposeDeltaMs: 150, prevoteBaseMs: 300, prevoteDeltaMs: 150, precommitBaseMs: 300, precommitDeltaMs: 150, rebroadcastMs: 400,
};
const FAULT_PHASE_MS = 4_000;
const LIVENESS_DEADLINE_MS = 90_000;
const TXS_PER_RUN = 12;
const EMPTY_BLOCK_DELAY_MS = 200;
const EVENTS_MAX = 2_000_000;
/** Per write, in mixes with crashes: the chance of a crash while that write is in flight. */
const WORST_TIME_CRASH_PROBABILITY = 0.02;

/** Bugs planted on purpose, to show the checkers catch them. */
export type PlantedBug =
  /** Every honest core forgets its lock before each step, i.e. the lock check of lines 23/30 is skipped. */
  | 'skip-lock-check'
  /** The disk acknowledges a record at once but makes it durable only later: messages leave before their record. */
  | 'send-before-persist';

export interface SimOptions {
  readonly seed: number;
  readonly mix: FaultMix;
  readonly plantedBug?: PlantedBug;
  /** A scenario on top of the mix (soak only, not in the tests): see WholeNetworkCrash. */
  readonly wholeNetworkCrash?: WholeNetworkCrash;
}

/**
 * Every node crashes `afterMs` after the first precommit for a value at height 5 or later is signed (all
 * down for 100 ms), while the precommits are still on their way. With `loseValidBlock` the nodes restart
 * without their valid block, as the nodes did before their locked records carried it (such a crash fell
 * inside the delay before the valid block is written, ledger/node/deferred-valid-block.ts): the old
 * behaviour, kept to show what the fix is for (ledger/README.md). Snapshots keep it otherwise.
 */
export interface WholeNetworkCrash {
  readonly afterMs: number;
  readonly loseValidBlock: boolean;
}

export interface SimResult {
  readonly seed: number;
  readonly mix: string;
  readonly ok: boolean;
  readonly failure: string | null;
  readonly heights: number;
  readonly committedTxs: number;
  readonly events: number;
  readonly virtualMs: number;
  readonly evidence: number;
  readonly crashes: number;
  readonly rejected: number;
}

type SimWire = ConsensusWire | { readonly type: 'tx'; readonly tx: string } | Record<string, unknown>;

interface SimNode {
  readonly index: number;
  readonly signer: Signer;
  readonly byzantine: boolean;
  readonly chain: SimChain;
  readonly skew: number;
  host: ConsensusHost<SimBlock> | null;
  mempool: Map<string, true>;
  durableRecord: HostSnapshot | null;
  /** Bumped at each crash: callbacks scheduled by an earlier incarnation are dropped. */
  epoch: number;
  crashedUntil: number;
  diskBusyUntil: number;
}

/** A verifier that remembers results: a signature is a pure function of its inputs, so this only saves time. */
function memoVerifier(): SignatureVerifier {
  const cache = new Map<string, boolean>();
  return {
    verify(publicKey, message, signature) {
      const key = `${toHex(publicKey)}|${toHex(message)}|${toHex(signature)}`;
      const known = cache.get(key);
      if (known !== undefined) return known;
      const result = ed25519Verifier.verify(publicKey, message, signature);
      if (cache.size > 200_000) cache.clear();
      cache.set(key, result);
      return result;
    },
  };
}

/** Ed25519 signing is deterministic (RFC 8032), so re-signing a re-sent message gives the same bytes: remember them. */
function memoSigner(signer: Signer): Signer {
  const cache = new Map<string, Uint8Array>();
  return {
    publicKey: signer.publicKey,
    sign(message) {
      const key = toHex(message);
      const known = cache.get(key);
      if (known !== undefined) return known;
      const signature = signer.sign(message);
      if (cache.size > 10_000) cache.clear();
      cache.set(key, signature);
      return signature;
    },
  };
}

export class Simulation {
  readonly rng: Prng;
  readonly queue = new EventQueue();
  readonly nodes: SimNode[] = [];
  readonly membership: Membership;
  readonly checkers: Checkers;
  readonly chainId: string;
  private readonly verifier = memoVerifier();
  private partition: ReadonlySet<number> | null = null;
  private faultsActive = true;
  private nextTxId = 1;
  private events = 0;
  private crashes = 0;
  private rejected = 0;
  private evidenceCount = 0;
  private wholeNetworkCrashed = false;

  private readonly options: SimOptions;

  constructor(options: SimOptions) {
    this.options = options;
    this.rng = new Prng(options.seed);
    this.chainId = `sim-${options.seed}`;
    const mix = options.mix;
    const signers = Array.from({ length: mix.nodes }, () => memoSigner(createEd25519Signer(this.rng.bytes(32))));
    this.membership = createMembership(signers.map((s, i) => ({ partner: `partner-${i}`, publicKey: s.publicKey })));
    for (let index = 0; index < mix.nodes; index++) {
      const byzantine = index >= mix.nodes - mix.byzantine;
      const skew = 1 + (this.rng.float() * 2 - 1) * mix.clockSkew;
      this.nodes.push({
        index, signer: signers[index]!, byzantine, chain: new SimChain(this.chainId, this.membership), skew,
        host: null, mempool: new Map(), durableRecord: null, epoch: 0, crashedUntil: 0, diskBusyUntil: 0,
      });
    }
    this.checkers = new Checkers({
      chainId: this.chainId, membership: this.membership, verifier: this.verifier,
      isByzantine: (i) => this.nodes[i]!.byzantine,
    });
  }

  run(): SimResult {
    let failure: string | null = null;
    try {
      for (const node of this.nodes) if (!(node.byzantine && this.options.mix.behaviour === 'silent')) this.boot(node);
      this.scheduleClients();
      this.scheduleFaults();
      this.runUntil(FAULT_PHASE_MS);
      this.heal();
      const probes = this.submitProbes();
      this.runUntil(FAULT_PHASE_MS + LIVENESS_DEADLINE_MS, () => this.livenessReached(probes));
      this.checkers.checkLiveness(this.honestNodes().map((n) => n.chain), probes, this.queue.now);
      this.checkers.checkEnd(this.honestNodes().map((n) => n.chain), this.options.mix);
    } catch (error) {
      if (!(error instanceof SimulationFailure)) throw error;
      failure = error.message;
    }
    const heights = Math.max(0, ...this.honestNodes().map((n) => n.chain.headHeight()));
    return {
      seed: this.options.seed, mix: this.options.mix.name, ok: failure === null, failure, heights,
      committedTxs: this.checkers.committedTxCount(), events: this.events, virtualMs: this.queue.now,
      evidence: this.evidenceCount, crashes: this.crashes, rejected: this.rejected,
    };
  }

  private runUntil(time: number, done: () => boolean = () => false): void {
    while ((this.queue.peekTime() ?? Infinity) <= time) {
      if (done()) return;
      this.queue.runNext();
      this.events += 1;
      if (this.events > EVENTS_MAX) throw new SimulationFailure(`more than ${EVENTS_MAX} events: the run does not settle`);
    }
  }

  private honestNodes(): SimNode[] {
    return this.nodes.filter((n) => !n.byzantine);
  }

  // ---- nodes: boot, crash, restart ----------------------------------------------------------------------

  private boot(node: SimNode): void {
    const epoch = node.epoch;
    const alive = (): boolean => node.epoch === epoch && node.host !== null;
    const io: HostIo = {
      send: (to, wire) => {
        if (alive()) this.sendFrom(node, to, wire);
      },
      setTimer: (delayMs, fire) => this.queue.after(delayMs * node.skew, () => {
        if (alive()) fire();
      }),
      persist: (seq, record, durable) => this.persist(node, epoch, seq, record, durable),
    };
    const stepFn = this.stepFor(node);
    const host = new ConsensusHost<SimBlock>({
      chainId: this.chainId, signer: node.signer, verifier: this.verifier, chain: node.chain, io, timeouts: SIM_TIMEOUTS,
      emptyBlockDelayMs: EMPTY_BLOCK_DELAY_MS, syncIntervalMs: this.options.mix.syncIntervalMs, restored: node.durableRecord,
      // Odd seeds run the gateways' mode: no empty blocks, the next height waits for transactions or a peer.
      // Planted-bug runs keep the classic mode, whose steady stream of heights the attacks rely on.
      idleWithoutTransactions: this.options.plantedBug === undefined && this.options.seed % 2 === 1,
      builder: {
        hasPending: () => node.mempool.size > 0,
        build: (height, parent) => this.buildBlock(node, height, parent),
      },
      events: {
        committed: (height, block, certificate) => {
          for (const tx of block.txs) node.mempool.delete(tx);
          if (!node.byzantine) this.checkers.onCommit(node.index, node.chain, height, block, certificate);
        },
        evidence: (evidence: EquivocationEvidence) => {
          this.evidenceCount += 1;
          if (!node.byzantine) this.checkers.onEvidence(node.index, evidence);
        },
        signed: (message) => {
          if (!node.byzantine) this.checkers.onSigned(node.index, message);
          if (message.kind === 'precommit' && message.valueId !== null && message.height >= 5) this.crashWholeNetworkOnce();
        },
        rejected: () => {
          this.rejected += 1;
        },
      },
      ...(stepFn === undefined ? {} : { stepFn }),
    });
    node.host = host;
    host.start();
  }

  private stepFor(node: SimNode): typeof realStep | undefined {
    const forgetLocks: typeof realStep = (state, input) => realStep({ ...state, lockedRound: -1, lockedValue: null }, input);
    // The Byzantine amnesiac also forgets its valid value, so as proposer it always offers a fresh block.
    const forgetAll: typeof realStep = (state, input) => realStep({ ...state, lockedRound: -1, lockedValue: null, validRound: -1, validValue: null }, input);
    if (node.byzantine && this.options.mix.behaviour === 'amnesia') return forgetAll;
    if (!node.byzantine && this.options.plantedBug === 'skip-lock-check') return forgetLocks;
    return undefined;
  }

  /** The simulated disk: writes become durable in the order they were issued, each after a random fsync time. */
  private persist(node: SimNode, epoch: number, seq: number, record: HostSnapshot, durable: () => void): void {
    const doneAt = Math.max(this.queue.now + this.rng.int(0, this.options.mix.fsyncMsMax), node.diskBusyUntil);
    node.diskBusyUntil = doneAt;
    // Crash at the worst moment: while a write is in flight, when an ordering bug would show.
    if (this.options.mix.crashes && this.faultsActive && !node.byzantine && this.rng.chance(WORST_TIME_CRASH_PROBABILITY)) {
      this.queue.at(this.rng.int(this.queue.now, doneAt + 10), () => this.crash(node, this.rng.int(20, 400)));
    }
    if (this.options.plantedBug === 'send-before-persist' && !node.byzantine) {
      this.queue.after(0, () => {
        if (node.epoch === epoch) durable();
      });
      this.queue.at(doneAt + 5, () => {
        if (node.epoch === epoch) node.durableRecord = record;
      });
      return;
    }
    this.queue.at(doneAt, () => {
      if (node.epoch !== epoch) return; // crashed before the fsync: the record is lost
      node.durableRecord = this.options.wholeNetworkCrash?.loseValidBlock === true ? { ...record, validBlock: null } : record;
      durable();
    });
  }

  private crashWholeNetworkOnce(): void {
    const scenario = this.options.wholeNetworkCrash;
    // Only while faults run: the probes submitted after the heal are in mempools only, and a crash of
    // every node then loses them, which is allowed (they were never acknowledged) but fails the check.
    if (scenario === undefined || this.wholeNetworkCrashed || !this.faultsActive) return;
    this.wholeNetworkCrashed = true;
    this.queue.after(scenario.afterMs, () => {
      if (this.faultsActive) for (const node of this.nodes) this.crash(node, 100);
    });
  }

  private crash(node: SimNode, downMs: number): void {
    if (node.host === null) return;
    node.host.stop();
    node.host = null;
    node.epoch += 1;
    node.mempool = new Map();
    node.crashedUntil = this.queue.now + downMs;
    this.crashes += 1;
    this.queue.after(downMs, () => this.restart(node));
  }

  private restart(node: SimNode): void {
    if (node.host !== null) return;
    this.checkers.onRestart(node.index, node.chain);
    this.boot(node);
  }

  // ---- network ------------------------------------------------------------------------------------------

  private sendFrom(node: SimNode, to: number | 'others', wire: SimWire): void {
    const targets = to === 'others' ? this.nodes.filter((n) => n.index !== node.index).map((n) => n.index) : [to];
    if (node.byzantine) {
      this.sendByzantine(node, targets, wire);
      return;
    }
    for (const target of targets) this.transmit(node.index, target, wire);
  }

  private transmit(from: number, to: number, wire: SimWire): void {
    const mix = this.options.mix;
    if (to === from || to < 0 || to >= this.nodes.length) return;
    if (this.faultsActive) {
      if (this.partition !== null && this.partition.has(from) !== this.partition.has(to)) return;
      if (this.rng.chance(mix.lossProbability)) return;
    }
    const copies = this.faultsActive && this.rng.chance(mix.duplicateProbability) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const delay = 1 + this.rng.int(0, this.faultsActive ? mix.delayMsMax : 10);
      this.queue.after(delay, () => this.deliver(from, to, wire));
    }
  }

  private deliver(from: number, to: number, wire: SimWire): void {
    const node = this.nodes[to]!;
    if (node.host === null) return;
    if ((wire as { type?: unknown }).type === 'tx') {
      this.acceptTx(node, (wire as { tx: string }).tx, false);
      return;
    }
    node.host.receive(from, wire);
  }

  // ---- Byzantine behaviour ------------------------------------------------------------------------------

  private sendByzantine(node: SimNode, targets: number[], wire: SimWire): void {
    const behaviour = this.options.mix.behaviour;
    if (behaviour === 'selective') {
      for (const target of targets) if (this.rng.chance(0.5)) this.transmit(node.index, target, wire);
      return;
    }
    if (behaviour === 'garbage') {
      for (const target of targets) {
        this.transmit(node.index, target, wire);
        if (this.rng.chance(0.3)) this.transmit(node.index, target, this.junk(node, wire));
      }
      return;
    }
    // equivocate / amnesia: conflicting signed messages to two halves of the peers.
    const typed = wire as ConsensusWire;
    if (typed.type !== 'proposal' && typed.type !== 'vote') {
      for (const target of targets) this.transmit(node.index, target, wire);
      return;
    }
    const conflicting = this.conflictingWire(node, typed);
    for (const target of this.rng.shuffle(targets)) {
      const first = this.rng.chance(0.5);
      this.transmit(node.index, target, first ? wire : conflicting);
      // An equivocator that also shows some peers both versions: the peer holds two signed, conflicting
      // messages and must record them as evidence (nothing relays the other version otherwise).
      if (behaviour === 'equivocate' && this.rng.chance(0.3)) this.transmit(node.index, target, first ? conflicting : wire);
    }
  }

  private conflictingWire(node: SimNode, wire: Extract<ConsensusWire, { type: 'proposal' | 'vote' }>): ConsensusWire {
    const m = wire.message;
    if (wire.type === 'proposal') {
      const block: SimBlock = { height: m.height, parent: node.chain.headId(), proposer: node.index, txs: [] };
      const alt = { ...m, valueId: simBlockId(block) };
      const signed = signConsensusMessage(this.chainId, node.signer, { kind: 'proposal', height: alt.height, round: alt.round, valueId: alt.valueId, validRound: -1, sender: alt.sender });
      if (alt.valueId === m.valueId) return wire;
      return { type: 'proposal', message: signed as ProposalMessage, block: encodeSimBlock(block), justification: [] };
    }
    // Vote for another value proposed at this height when there is one (that is what can split honest
    // nodes into conflicting quorums), otherwise flip between nil and a made-up value.
    const proposed = [...(node.host?.state.proposals.values() ?? [])].map((p) => p.message.valueId).filter((v) => v !== m.valueId);
    const other = proposed.length > 0 ? this.rng.pick(proposed) : wire.message.valueId === null ? toHex(this.rng.bytes(32)) : null;
    const signed = signConsensusMessage(this.chainId, node.signer, { kind: wire.message.kind, height: m.height, round: m.round, valueId: other, sender: m.sender });
    return { type: 'vote', message: signed as VoteMessage };
  }

  private junk(node: SimNode, wire: SimWire): SimWire {
    const typed = wire as ConsensusWire;
    const victim = this.rng.int(0, this.nodes.length - 1);
    switch (this.rng.int(0, 4)) {
      case 0:
        return { type: 'vote', message: { kind: 'prevote', height: 1e15, round: -1, valueId: 'zz', sender: 'x', signature: 7 } };
      case 1: // impersonation: another node's index, a random signature
        return { type: 'vote', message: { kind: 'precommit', height: node.chain.headHeight() + 1, round: 0, valueId: toHex(this.rng.bytes(32)), sender: victim, signature: toHex(this.rng.bytes(64)) } };
      case 2: // a correctly signed proposal whose block does not match its id
        if (typed.type === 'proposal') return { ...typed, block: this.rng.bytes(40) };
        return { type: 'sync-request', fromHeight: 1 };
      case 3: // a sync response with a forged certificate
        return { type: 'sync-response', blocks: [{ height: node.chain.headHeight() + 1, block: encodeSimBlock({ height: node.chain.headHeight() + 1, parent: node.chain.headId(), proposer: node.index, txs: [makeTx(999_999)] }), certificate: { height: node.chain.headHeight() + 1, round: 0, valueId: toHex(this.rng.bytes(32)), votes: [] } }] };
      default:
        return { type: 'garbage', payload: this.rng.bytes(16) };
    }
  }

  // ---- clients and mempools -----------------------------------------------------------------------------

  private buildBlock(node: SimNode, height: number, parent: string): SimBlock {
    const txs: string[] = [];
    for (const tx of node.mempool.keys()) {
      if (txs.length >= SIM_BLOCK_TXS_MAX) break;
      if (!node.chain.committedTxs.has(tx)) txs.push(tx);
    }
    if (node.byzantine && this.rng.chance(0.3)) txs.push(`tx${900_000 + height}.0000000000000000`); // an invented transaction
    return { height, parent, proposer: node.index, txs };
  }

  private acceptTx(node: SimNode, tx: string, fromClient: boolean): void {
    if (node.chain.committedTxs.has(tx) || node.mempool.has(tx)) return;
    node.mempool.set(tx, true);
    if (fromClient) for (const other of this.nodes) if (other.index !== node.index) this.transmit(node.index, other.index, { type: 'tx', tx });
    node.host?.transactionsArrived();
  }

  private submit(tx: string): boolean {
    const up = this.honestNodes().filter((n) => n.host !== null);
    if (up.length === 0) return false;
    const node = this.rng.pick(up);
    this.checkers.onSubmitted(tx, node.index);
    this.acceptTx(node, tx, true);
    return true;
  }

  private scheduleClients(): void {
    for (let i = 0; i < TXS_PER_RUN; i++) {
      const at = this.rng.int(0, FAULT_PHASE_MS - 500);
      this.queue.at(at, () => {
        this.submit(makeTx(this.nextTxId++));
      });
    }
  }

  private submitProbes(): string[] {
    const probes: string[] = [];
    for (const node of this.honestNodes()) {
      const tx = makeTx(500_000 + node.index);
      this.checkers.onSubmitted(tx, node.index);
      this.acceptTx(node, tx, true);
      probes.push(tx);
    }
    return probes;
  }

  private livenessReached(probes: readonly string[]): boolean {
    return this.honestNodes().every((n) => probes.every((tx) => n.chain.committedTxs.has(tx)));
  }

  // ---- faults -------------------------------------------------------------------------------------------

  private scheduleFaults(): void {
    const mix = this.options.mix;
    if (mix.partitions) {
      for (let t = this.rng.int(200, 1500); t < FAULT_PHASE_MS - 500; t += this.rng.int(800, 2500)) {
        const duration = this.rng.int(200, 1500);
        this.queue.at(t, () => {
          const side = new Set(this.rng.shuffle(this.nodes.map((n) => n.index)).slice(0, this.rng.int(1, this.nodes.length - 1)));
          this.partition = side;
        });
        this.queue.at(t + duration, () => {
          this.partition = null;
        });
      }
    }
    if (mix.crashes) {
      for (let t = this.rng.int(100, 1000); t < FAULT_PHASE_MS - 500; t += this.rng.int(300, 1500)) {
        this.queue.at(t, () => {
          const candidates = this.honestNodes().filter((n) => n.host !== null);
          if (candidates.length === 0) return;
          this.crash(this.rng.pick(candidates), this.rng.int(50, 1200));
        });
      }
    }
  }

  /** End of the fault phase: the network becomes reliable and every crashed honest node restarts. */
  private heal(): void {
    this.faultsActive = false;
    this.partition = null;
    for (const node of this.nodes) if (node.host === null && node.epoch > 0) this.restart(node);
  }
}

export function simulate(options: SimOptions): SimResult {
  return new Simulation(options).run();
}

export function replayCommand(seed: number, plantedBug?: PlantedBug, wholeNetworkCrash?: WholeNetworkCrash): string {
  const crash = wholeNetworkCrash === undefined ? '' : ` --crash-all-after-precommit ${wholeNetworkCrash.afterMs}${wholeNetworkCrash.loseValidBlock ? ' --lose-valid-block' : ''}`;
  return `npm run sim -- --seed-start ${seed} --seeds 1 --verbose${plantedBug === undefined ? '' : ` --plant ${plantedBug}`}${crash}`;
}

export type { SignedMessage };
