// Tendermint consensus, Algorithm 1 of Buchman, Kwon and Milosevic, "The latest gossip on BFT consensus"
// (arXiv 1807.04938), as a pure state machine: `step(state, input) → { state, ready }`.
// Synchronous, no I/O, no clock, no randomness; the host (ledger/node, the simulator in test/sim) checks
// signatures and block validity before a message comes in, and carries out `ready` (see types.ts: Ready).
//
// Comments cite the paper's line numbers. Departures from the paper, each for a stated reason:
//  - getValue() (line 18) is asynchronous: the core emits a ValueRequest and proposes when the `value`
//    input answers, because the block builder may wait for transactions.
//  - After a decision (line 49) the core waits for a `startHeight` input instead of starting height h+1
//    at once (lines 52-54): the host must first store the block, and the next height's membership may
//    differ (membership changes take effect at a later height).
//  - The proposer also arms timeoutPropose (the paper only arms it at other nodes, line 21), so a block
//    builder that never answers cannot stall this node's round.
//  - A rebroadcast timer re-sends own messages of the current height: the paper assumes gossip that
//    eventually delivers every message, real links and the simulator drop them.
//  - Every upon-rule keeps its "for the first time" guard per round, as the paper's implementation does.
import { assert } from '../../common/assert.ts';
import { honestWitness, proposerOf, quorum } from './quorum.ts';
import type {
  ConsensusInput, Decision, DurableRecord, EquivocationEvidence, HeightMembership, OwnProposal, OwnVote, ProposalMessage,
  Ready, SignedMessage, Step, TimeoutConfig, TimerId, TimerRequest, UnsignedMessage, ValueId, ValueRequest, VoteMessage, VoteType,
} from './types.ts';

/** Messages for rounds further ahead than this are dropped: a Byzantine node cannot grow our memory without bound. */
export const ROUNDS_AHEAD_MAX = 1024;
/** Evidence kept per height; more equivocation at one height adds nothing a punisher needs. */
export const EVIDENCE_PER_HEIGHT_MAX = 64;
/** Own votes kept in the durable record (the latest rounds); older ones are never re-sent. */
export const OWN_VOTES_KEPT_MAX = 8;
export const OWN_PROPOSALS_KEPT_MAX = 4;
/** Distinct votes kept per sender, round and type (more than one only from an equivocator). */
export const VOTES_PER_SENDER_MAX = 4;

export const DEFAULT_TIMEOUTS: TimeoutConfig = {
  proposeBaseMs: 3000, proposeDeltaMs: 500,
  prevoteBaseMs: 1000, prevoteDeltaMs: 500,
  precommitBaseMs: 1000, precommitDeltaMs: 500,
  rebroadcastMs: 1000,
};

interface StoredProposal {
  readonly message: ProposalMessage;
  readonly valueValid: boolean;
}

export interface ConsensusState {
  readonly timeouts: TimeoutConfig;
  /** False until the first `startHeight` or `resume`: a fresh state does nothing. */
  readonly started: boolean;
  readonly membership: HeightMembership;
  readonly height: number;
  readonly round: number;
  readonly step: Step;
  readonly decision: Decision | null;
  readonly lockedValue: ValueId | null;
  readonly lockedRound: number;
  readonly validValue: ValueId | null;
  readonly validRound: number;
  readonly ownVotes: readonly OwnVote[];
  readonly ownProposals: readonly OwnProposal[];
  /** A ValueRequest is outstanding for (height, this round). */
  readonly awaitingValueRound: number;
  /** The first proposal of each round from that round's proposer. */
  readonly proposals: ReadonlyMap<number, StoredProposal>;
  /**
   * Votes by `${type}/${round}`, then by sender. Normally one vote per sender; an equivocator's further
   * votes are kept (up to VOTES_PER_SENDER_MAX) only when they are for a value proposed at this height,
   * because a proof-of-lock may need them (see storeVote).
   */
  readonly votes: ReadonlyMap<string, ReadonlyMap<number, readonly VoteMessage[]>>;
  /** "for the first time" guards, by `${rule}/${round}`. */
  readonly fired: ReadonlySet<string>;
  readonly evidenceCount: number;
  /** Seq of the last record handed out for persisting, and of the last one acknowledged durable. */
  readonly persistSeq: number;
  readonly durableSeq: number;
  /** Messages waiting until the record with `seq` is durable (the persist-before-send rule). */
  readonly held: readonly { readonly seq: number; readonly message: UnsignedMessage }[];
}

/** A state that waits for `startHeight`. */
export function initialState(timeouts: TimeoutConfig = DEFAULT_TIMEOUTS): ConsensusState {
  return {
    timeouts, started: false, membership: { count: 1, self: null }, height: 0, round: 0, step: 'propose', decision: null,
    lockedValue: null, lockedRound: -1, validValue: null, validRound: -1, ownVotes: [], ownProposals: [], awaitingValueRound: -1,
    proposals: new Map(), votes: new Map(), fired: new Set(), evidenceCount: 0, persistSeq: 0, durableSeq: 0, held: [],
  };
}

/** A state rebuilt from the last durable record after a crash; feed it `{ kind: 'resume' }` next. */
export function restoreState(record: DurableRecord, membership: HeightMembership, timeouts: TimeoutConfig = DEFAULT_TIMEOUTS): ConsensusState {
  return {
    ...initialState(timeouts),
    membership, height: record.height, round: record.round, step: record.step,
    lockedValue: record.lockedValue, lockedRound: record.lockedRound, validValue: record.validValue, validRound: record.validRound,
    ownVotes: record.ownVotes, ownProposals: record.ownProposals,
  };
}

export function durableRecordOf(state: ConsensusState): DurableRecord {
  return {
    height: state.height, round: state.round, step: state.step,
    lockedValue: state.lockedValue, lockedRound: state.lockedRound, validValue: state.validValue, validRound: state.validRound,
    ownVotes: state.ownVotes, ownProposals: state.ownProposals,
  };
}

/** Mutable working copy for one step; nothing outside `step` ever sees it. */
type Draft = { -readonly [K in keyof ConsensusState]: ConsensusState[K] };

interface Effects {
  readonly decisions: Decision[];
  readonly timers: TimerRequest[];
  readonly valueRequests: ValueRequest[];
  readonly evidence: EquivocationEvidence[];
  /** Messages produced in this step; they need the record of this step to be durable first. */
  readonly outgoing: UnsignedMessage[];
  /** Messages already covered by a durable record (re-sends, released holds). */
  readonly sendNow: UnsignedMessage[];
  recordChanged: boolean;
}

export function step(state: ConsensusState, input: ConsensusInput): { readonly state: ConsensusState; readonly ready: Ready } {
  const draft: Draft = { ...state };
  const fx: Effects = { decisions: [], timers: [], valueRequests: [], evidence: [], outgoing: [], sendNow: [], recordChanged: false };
  applyInput(draft, fx, input);
  if (draft.started && draft.decision === null) runRules(draft, fx);
  return finish(draft, fx);
}

function applyInput(d: Draft, fx: Effects, input: ConsensusInput): void {
  switch (input.kind) {
    case 'startHeight':
      startHeight(d, fx, input.height, input.membership);
      return;
    case 'resume':
      resume(d, fx);
      return;
    case 'persisted':
      releaseHeld(d, fx, input.seq);
      return;
    case 'proposal':
      if (acceptsMessage(d, input.message)) storeProposal(d, fx, input.message, input.valueValid);
      return;
    case 'vote':
      if (acceptsMessage(d, input.message)) storeVote(d, fx, input.message);
      return;
    case 'timeout':
      onTimeout(d, fx, input.timer);
      return;
    case 'value':
      onValue(d, fx, input.height, input.round, input.valueId);
      return;
  }
}

// ---- heights and rounds -------------------------------------------------------------------------------

/** Lines 52-54 (reset and StartRound(0)), triggered by the host once block height-1 is stored. */
function startHeight(d: Draft, fx: Effects, height: number, membership: HeightMembership): void {
  assert(!d.started || height > d.height, `startHeight(${height}) does not move forward from height ${d.height}`);
  assert(membership.count >= 1 && (membership.self === null || (membership.self >= 0 && membership.self < membership.count)), 'membership self index out of range');
  d.started = true;
  d.membership = membership;
  d.height = height;
  d.decision = null;
  d.lockedValue = null; d.lockedRound = -1; d.validValue = null; d.validRound = -1; // line 53
  d.ownVotes = []; d.ownProposals = [];
  d.proposals = new Map(); d.votes = new Map(); d.fired = new Set(); d.evidenceCount = 0;
  d.awaitingValueRound = -1;
  fx.timers.push(timer(d, 'rebroadcast', 0, d.timeouts.rebroadcastMs));
  startRound(d, fx, 0); // line 54
}

/** StartRound, lines 11-21. */
function startRound(d: Draft, fx: Effects, round: number): void {
  d.round = round; // line 12
  d.step = 'propose'; // line 13
  fx.recordChanged = true;
  if (isProposer(d)) { // line 14
    if (d.validValue !== null) propose(d, fx, d.validValue); // lines 15-16, 19
    else requestValue(d, fx); // line 18 (asynchronous getValue)
  }
  fx.timers.push(timer(d, 'propose', round, d.timeouts.proposeBaseMs + round * d.timeouts.proposeDeltaMs)); // line 21
}

function resume(d: Draft, fx: Effects): void {
  assert(!d.started, 'resume is only for a state rebuilt by restoreState');
  d.started = true;
  fx.timers.push(timer(d, 'rebroadcast', d.round, d.timeouts.rebroadcastMs));
  if (d.step === 'propose') {
    const proposed = d.ownProposals.some((p) => p.round === d.round);
    if (isProposer(d) && !proposed) {
      if (d.validValue !== null) propose(d, fx, d.validValue);
      else requestValue(d, fx);
    }
    fx.timers.push(timer(d, 'propose', d.round, d.timeouts.proposeBaseMs + d.round * d.timeouts.proposeDeltaMs));
  }
  // Rules needing 2f+1 votes re-arm their timers as the votes come in again.
  resendOwn(d, fx);
}

function requestValue(d: Draft, fx: Effects): void {
  d.awaitingValueRound = d.round;
  fx.valueRequests.push({ height: d.height, round: d.round });
}

function onValue(d: Draft, fx: Effects, height: number, round: number, valueId: ValueId): void {
  if (!d.started || d.decision !== null || height !== d.height || round !== d.round || d.awaitingValueRound !== round || d.step !== 'propose') return;
  d.awaitingValueRound = -1;
  propose(d, fx, valueId);
}

/** Line 19: broadcast ⟨PROPOSAL, h_p, round_p, proposal, validRound_p⟩. */
function propose(d: Draft, fx: Effects, valueId: ValueId): void {
  const self = d.membership.self;
  assert(self !== null, 'only a member proposes');
  assert(!d.ownProposals.some((p) => p.round === d.round), 'a node proposes at most once per round');
  const own: OwnProposal = { round: d.round, valueId, validRound: d.validRound };
  d.ownProposals = [...d.ownProposals, own].slice(-OWN_PROPOSALS_KEPT_MAX);
  fx.recordChanged = true;
  const proposal: UnsignedMessage = { kind: 'proposal', height: d.height, round: d.round, valueId, validRound: d.validRound, sender: self };
  fx.outgoing.push(proposal);
  // The proposer is one of the receivers of its own broadcast (line 22, "from proposer(h_p, round_p)"):
  // taking it in now lets the rules prevote in this same step, so the prevote shares the proposal's
  // durable record and leaves with it, instead of waiting for the proposal to be sent and stepped back
  // in (a second disk write on the proposer, whose prevote then lagged everyone else's). The value is
  // valid: the proposer built it or holds it as validValue. The signature is not needed here (it is the
  // host's; stored proposals are matched by value and validRound), and the signed copy the host feeds
  // back later is the same proposal.
  if (!d.proposals.has(d.round)) d.proposals = new Map(d.proposals).set(d.round, { message: { ...proposal, kind: 'proposal', validRound: d.validRound, signature: '' }, valueValid: true });
}

function broadcastVote(d: Draft, fx: Effects, type: VoteType, valueId: ValueId | null): void {
  const self = d.membership.self;
  if (self === null) return; // a follower runs the rules to track rounds but never votes
  assert(!d.ownVotes.some((v) => v.type === type && v.round === d.round), `a node casts one ${type} per round`);
  d.ownVotes = [...d.ownVotes, { type, round: d.round, valueId }].slice(-OWN_VOTES_KEPT_MAX);
  fx.recordChanged = true;
  fx.outgoing.push({ kind: type, height: d.height, round: d.round, valueId, sender: self });
}

// ---- incoming messages --------------------------------------------------------------------------------

function acceptsMessage(d: Draft, message: SignedMessage): boolean {
  if (!d.started || d.decision !== null || message.height !== d.height) return false;
  if (!Number.isSafeInteger(message.round) || message.round < 0 || message.round > d.round + ROUNDS_AHEAD_MAX) return false;
  return Number.isInteger(message.sender) && message.sender >= 0 && message.sender < d.membership.count;
}

function storeProposal(d: Draft, fx: Effects, message: ProposalMessage, valueValid: boolean): void {
  if (message.sender !== proposerOf(d.membership.count, d.height, message.round)) return; // "from proposer(h_p, r)"
  if (message.validRound < -1 || message.validRound >= message.round) return; // malformed: vr must precede r
  const existing = d.proposals.get(message.round);
  if (existing !== undefined) {
    if (!sameProposal(existing.message, message)) recordEvidence(d, fx, existing.message, message);
    return;
  }
  d.proposals = new Map(d.proposals).set(message.round, { message, valueValid });
}

/**
 * Keeps the first vote of each sender. A different second vote is equivocation: evidence is recorded, and
 * the vote is also kept when it is for a value proposed at this height. Counting it is safe: any two
 * quorums of distinct senders still share an honest node, and an honest node votes once. It is needed for
 * liveness: the one honest node that locked on v after seeing an equivocator's vote for v must be able to
 * convince the others, whose first vote from the equivocator was different, by carrying that vote in its
 * proof-of-lock (the paper's gossip assumption delivers it; here the proposal carries it).
 */
function storeVote(d: Draft, fx: Effects, message: VoteMessage): void {
  const key = voteKey(message.kind, message.round);
  const set = d.votes.get(key);
  const existing = set?.get(message.sender);
  if (existing !== undefined) {
    if (existing.some((vote) => vote.valueId === message.valueId)) return;
    recordEvidence(d, fx, existing[0]!, message);
    const proposed = message.valueId !== null && [...d.proposals.values()].some((p) => p.message.valueId === message.valueId);
    if (!proposed || existing.length >= VOTES_PER_SENDER_MAX) return;
  }
  const next = new Map(set ?? []).set(message.sender, [...(existing ?? []), message]);
  d.votes = new Map(d.votes).set(key, next);
}

function recordEvidence(d: Draft, fx: Effects, first: SignedMessage, second: SignedMessage): void {
  if (d.evidenceCount >= EVIDENCE_PER_HEIGHT_MAX) return;
  d.evidenceCount += 1;
  fx.evidence.push({ height: first.height, round: first.round, kind: first.kind, sender: first.sender, first, second });
}

function sameProposal(a: ProposalMessage, b: ProposalMessage): boolean {
  return a.valueId === b.valueId && a.validRound === b.validRound;
}

// ---- timeouts, lines 57-67 ----------------------------------------------------------------------------

function onTimeout(d: Draft, fx: Effects, t: TimerId): void {
  if (!d.started || d.decision !== null || t.height !== d.height) return;
  switch (t.kind) {
    case 'propose': // lines 57-60
      if (t.round === d.round && d.step === 'propose') {
        broadcastVote(d, fx, 'prevote', null);
        d.step = 'prevote';
      }
      return;
    case 'prevote': // lines 61-64
      if (t.round === d.round && d.step === 'prevote') {
        broadcastVote(d, fx, 'precommit', null);
        d.step = 'precommit';
      }
      return;
    case 'precommit': // lines 65-67
      if (t.round === d.round) startRound(d, fx, d.round + 1);
      return;
    case 'rebroadcast':
      resendOwn(d, fx);
      fx.timers.push(timer(d, 'rebroadcast', d.round, d.timeouts.rebroadcastMs));
      return;
  }
}

/** Re-send own messages of the current and the previous round, once they are durable. */
function resendOwn(d: Draft, fx: Effects): void {
  if (d.held.length > 0 || d.membership.self === null) return;
  const self = d.membership.self;
  for (const p of d.ownProposals) {
    if (p.round >= d.round - 1) fx.sendNow.push({ kind: 'proposal', height: d.height, round: p.round, valueId: p.valueId, validRound: p.validRound, sender: self });
  }
  for (const v of d.ownVotes) {
    if (v.round >= d.round - 1) fx.sendNow.push({ kind: v.type, height: d.height, round: v.round, valueId: v.valueId, sender: self });
  }
}

// ---- the upon-rules -----------------------------------------------------------------------------------

/** Runs the rules until none fires: one state change can enable another (e.g. a round skip, then a vote). */
function runRules(d: Draft, fx: Effects): void {
  for (let guard = 0; guard < 10_000; guard++) {
    if (!fireOneRule(d, fx)) return;
    if (d.decision !== null) return;
  }
  assert(false, 'consensus rules did not reach a fixed point');
}

function fireOneRule(d: Draft, fx: Effects): boolean {
  return ruleDecide(d, fx) || ruleRoundSkip(d, fx) || ruleProposalFresh(d, fx) || ruleProposalRelocked(d, fx)
    || rulePrevoteQuorumAny(d, fx) || ruleLockAndPrecommit(d, fx) || rulePrevoteQuorumNil(d, fx) || rulePrecommitQuorumAny(d, fx);
}

/** Lines 22-27: a fresh proposal (vr = -1) in step propose. */
function ruleProposalFresh(d: Draft, fx: Effects): boolean {
  if (d.step !== 'propose') return false;
  const p = d.proposals.get(d.round);
  if (p === undefined || p.message.validRound !== -1) return false;
  const v = p.message.valueId;
  const accept = p.valueValid && (d.lockedRound === -1 || d.lockedValue === v); // line 23
  broadcastVote(d, fx, 'prevote', accept ? v : null); // lines 24, 26
  d.step = 'prevote'; // line 27
  return true;
}

/** Lines 28-33: a re-proposal of a value that had 2f+1 prevotes in round vr < round_p. */
function ruleProposalRelocked(d: Draft, fx: Effects): boolean {
  if (d.step !== 'propose') return false;
  const p = d.proposals.get(d.round);
  if (p === undefined) return false;
  const vr = p.message.validRound;
  if (!(vr >= 0 && vr < d.round)) return false; // line 29
  const v = p.message.valueId;
  if (countFor(d, 'prevote', vr, v) < quorum(d.membership.count)) return false; // line 28
  const accept = p.valueValid && (d.lockedRound <= vr || d.lockedValue === v); // line 30
  broadcastVote(d, fx, 'prevote', accept ? v : null); // lines 31, 33
  d.step = 'prevote'; // line 33
  return true;
}

/** Lines 34-35: 2f+1 prevotes of any kind, first time in this round → arm timeoutPrevote. */
function rulePrevoteQuorumAny(d: Draft, fx: Effects): boolean {
  if (d.step !== 'prevote' || !once(d, 'prevote-any', d.round)) return false;
  if (countAll(d, 'prevote', d.round) < quorum(d.membership.count)) return false;
  markFired(d, 'prevote-any', d.round);
  fx.timers.push(timer(d, 'prevote', d.round, d.timeouts.prevoteBaseMs + d.round * d.timeouts.prevoteDeltaMs));
  return true;
}

/** Lines 36-43: a valid proposal with 2f+1 prevotes for it in this round, step ≥ prevote, first time. */
function ruleLockAndPrecommit(d: Draft, fx: Effects): boolean {
  if (d.step === 'propose' || !once(d, 'lock', d.round)) return false;
  const p = d.proposals.get(d.round);
  if (p === undefined || !p.valueValid) return false;
  const v = p.message.valueId;
  if (countFor(d, 'prevote', d.round, v) < quorum(d.membership.count)) return false;
  markFired(d, 'lock', d.round);
  if (d.step === 'prevote') { // line 37
    d.lockedValue = v; // line 38
    d.lockedRound = d.round; // line 39
    broadcastVote(d, fx, 'precommit', v); // line 40
    d.step = 'precommit'; // line 41
  }
  d.validValue = v; // line 42
  d.validRound = d.round; // line 43
  fx.recordChanged = true;
  return true;
}

/** Lines 44-46: 2f+1 nil prevotes in step prevote → precommit nil. */
function rulePrevoteQuorumNil(d: Draft, fx: Effects): boolean {
  if (d.step !== 'prevote') return false;
  if (countFor(d, 'prevote', d.round, null) < quorum(d.membership.count)) return false;
  broadcastVote(d, fx, 'precommit', null); // line 45
  d.step = 'precommit'; // line 46
  return true;
}

/** Lines 47-48: 2f+1 precommits of any kind, first time in this round → arm timeoutPrecommit. */
function rulePrecommitQuorumAny(d: Draft, fx: Effects): boolean {
  if (!once(d, 'precommit-any', d.round)) return false;
  if (countAll(d, 'precommit', d.round) < quorum(d.membership.count)) return false;
  markFired(d, 'precommit-any', d.round);
  fx.timers.push(timer(d, 'precommit', d.round, d.timeouts.precommitBaseMs + d.round * d.timeouts.precommitDeltaMs));
  return true;
}

/** Lines 49-54: a proposal of any round r with 2f+1 precommits for it → decide (if valid). */
function ruleDecide(d: Draft, fx: Effects): boolean {
  const q = quorum(d.membership.count);
  for (const [round, p] of d.proposals) {
    if (!p.valueValid) continue; // line 50
    const v = p.message.valueId;
    const precommits = d.votes.get(voteKey('precommit', round));
    if (precommits === undefined || precommits.size < q) continue;
    const certificate = [...precommits.values()].flatMap((votes) => votes.filter((vote) => vote.valueId === v)).sort((a, b) => a.sender - b.sender);
    if (certificate.length < q) continue;
    const decision: Decision = { height: d.height, round, valueId: v, certificate };
    d.decision = decision; // line 51
    fx.decisions.push(decision);
    return true;
  }
  return false;
}

/** Lines 55-56: f+1 senders of messages in a higher round → StartRound(that round). */
function ruleRoundSkip(d: Draft, fx: Effects): boolean {
  const senders = new Map<number, Set<number>>();
  const note = (round: number, sender: number): void => {
    if (round <= d.round) return;
    let set = senders.get(round);
    if (set === undefined) senders.set(round, (set = new Set()));
    set.add(sender);
  };
  for (const [round, p] of d.proposals) note(round, p.message.sender);
  for (const set of d.votes.values()) for (const votes of set.values()) note(votes[0]!.round, votes[0]!.sender);
  let target = -1;
  for (const [round, set] of senders) if (set.size >= honestWitness(d.membership.count) && round > target) target = round;
  if (target < 0) return false;
  startRound(d, fx, target);
  return true;
}

// ---- helpers ------------------------------------------------------------------------------------------

function isProposer(d: Draft): boolean {
  return d.membership.self !== null && proposerOf(d.membership.count, d.height, d.round) === d.membership.self;
}

function voteKey(type: VoteType, round: number): string {
  return `${type}/${round}`;
}

function countFor(d: Draft, type: VoteType, round: number, valueId: ValueId | null): number {
  const set = d.votes.get(voteKey(type, round));
  if (set === undefined) return 0;
  let count = 0;
  for (const votes of set.values()) if (votes.some((vote) => vote.valueId === valueId)) count++;
  return count;
}

/** The prevotes for `valueId` in `round` this node holds: the proof-of-lock a re-proposal carries (line 28). */
export function prevotesFor(state: ConsensusState, round: number, valueId: ValueId): VoteMessage[] {
  const set = state.votes.get(voteKey('prevote', round));
  if (set === undefined) return [];
  return [...set.values()].flatMap((votes) => votes.filter((vote) => vote.valueId === valueId));
}

function countAll(d: Draft, type: VoteType, round: number): number {
  return d.votes.get(voteKey(type, round))?.size ?? 0;
}

function once(d: Draft, rule: string, round: number): boolean {
  return !d.fired.has(`${rule}/${round}`);
}

function markFired(d: Draft, rule: string, round: number): void {
  d.fired = new Set(d.fired).add(`${rule}/${round}`);
}

function timer(d: Draft, kind: TimerId['kind'], round: number, delayMs: number): TimerRequest {
  return { timer: { kind, height: d.height, round }, delayMs };
}

function releaseHeld(d: Draft, fx: Effects, seq: number): void {
  if (seq > d.durableSeq) d.durableSeq = seq;
  if (d.held.length === 0) return;
  const still: { seq: number; message: UnsignedMessage }[] = [];
  for (const h of d.held) {
    if (h.seq <= d.durableSeq) fx.sendNow.push(h.message);
    else still.push(h);
  }
  d.held = still;
}

function finish(d: Draft, fx: Effects): { readonly state: ConsensusState; readonly ready: Ready } {
  let persist: Ready['persist'] = null;
  if (fx.recordChanged) {
    d.persistSeq += 1;
    persist = { seq: d.persistSeq, record: durableRecordOf(d) };
  }
  if (fx.outgoing.length > 0) {
    assert(persist !== null, 'a new own message always comes with a new durable record');
    d.held = [...d.held, ...fx.outgoing.map((message) => ({ seq: persist.seq, message }))];
  }
  const ready: Ready = {
    decisions: fx.decisions, persist, messages: fx.sendNow, timers: fx.timers, valueRequests: fx.valueRequests, evidence: fx.evidence,
  };
  return { state: d, ready };
}
