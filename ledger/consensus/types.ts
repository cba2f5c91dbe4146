// The consensus core's vocabulary: plain, readonly data in and out of `step` (./tendermint.ts).
// The core never sees bytes, keys or a clock. Values are opaque ids (a block hash as lowercase hex);
// signatures are opaque tokens that the host attached after checking them, carried only so that a
// decision can hand back its commit certificate and equivocation evidence can name both messages.

/** Opaque id of a proposed value (in Entente: the block hash as lowercase hex). */
export type ValueId = string;
/** A node's position in the membership of the height being decided. */
export type NodeIndex = number;

export type VoteType = 'prevote' | 'precommit';
export type Step = 'propose' | 'prevote' | 'precommit';

/** ⟨PROPOSAL, h, r, v, vr⟩ (Algorithm 1, line 19). `validRound` is -1 for a fresh value. */
export interface ProposalMessage {
  readonly kind: 'proposal';
  readonly height: number;
  readonly round: number;
  readonly valueId: ValueId;
  readonly validRound: number;
  readonly sender: NodeIndex;
  /** Opaque to the core: the host checked it before the message came in. */
  readonly signature: string;
}

/** ⟨PREVOTE, h, r, id(v)⟩ or ⟨PRECOMMIT, h, r, id(v)⟩; `valueId` null is the nil vote. */
export interface VoteMessage {
  readonly kind: VoteType;
  readonly height: number;
  readonly round: number;
  readonly valueId: ValueId | null;
  readonly sender: NodeIndex;
  readonly signature: string;
}

export type SignedMessage = ProposalMessage | VoteMessage;

/** What the core asks the host to sign and broadcast: a message without its signature. */
export type UnsignedProposal = Omit<ProposalMessage, 'signature'>;
export type UnsignedVote = Omit<VoteMessage, 'signature'>;
export type UnsignedMessage = UnsignedProposal | UnsignedVote;

export type TimerKind = 'propose' | 'prevote' | 'precommit' | 'rebroadcast';

export interface TimerId {
  readonly kind: TimerKind;
  readonly height: number;
  readonly round: number;
}

export interface TimerRequest {
  readonly timer: TimerId;
  readonly delayMs: number;
}

/** Timeouts grow linearly with the round so that, after GST, some round is long enough (paper §4, "timeouts"). */
export interface TimeoutConfig {
  readonly proposeBaseMs: number;
  readonly proposeDeltaMs: number;
  readonly prevoteBaseMs: number;
  readonly prevoteDeltaMs: number;
  readonly precommitBaseMs: number;
  readonly precommitDeltaMs: number;
  /** How often the node re-sends its own messages of the current height (the paper assumes gossip; links lose messages). */
  readonly rebroadcastMs: number;
}

/** The voters of one height. Equal voting power; proposer of (h, r) is index (h + r) mod count. */
export interface HeightMembership {
  readonly count: number;
  /** This node's index, or null for a non-voting follower (a node that joins later, an observer). */
  readonly self: NodeIndex | null;
}

/** An own vote recorded in the durable record, so a restarted node re-sends exactly it and never another. */
export interface OwnVote {
  readonly type: VoteType;
  readonly round: number;
  readonly valueId: ValueId | null;
}

export interface OwnProposal {
  readonly round: number;
  readonly valueId: ValueId;
  readonly validRound: number;
}

/**
 * The part of the state that must survive a crash. A node that restarts from its last durable record
 * resumes at the same height, round and step with the same locks, so it can never sign a second,
 * different proposal or vote for a (height, round, type) it already signed (steps only move forward).
 */
export interface DurableRecord {
  readonly height: number;
  readonly round: number;
  readonly step: Step;
  readonly lockedValue: ValueId | null;
  readonly lockedRound: number;
  readonly validValue: ValueId | null;
  readonly validRound: number;
  /** Own votes of this height, oldest first, at most OWN_VOTES_KEPT_MAX. */
  readonly ownVotes: readonly OwnVote[];
  readonly ownProposals: readonly OwnProposal[];
}

/** Two different messages signed by one node for the same (height, round, kind): proof of Byzantine behaviour. */
export interface EquivocationEvidence {
  readonly height: number;
  readonly round: number;
  readonly kind: SignedMessage['kind'];
  readonly sender: NodeIndex;
  readonly first: SignedMessage;
  readonly second: SignedMessage;
}

/** Line 49: the decided value and its commit certificate (a quorum of precommits for it in `round`). */
export interface Decision {
  readonly height: number;
  readonly round: number;
  readonly valueId: ValueId;
  readonly certificate: readonly VoteMessage[];
}

export interface ValueRequest {
  readonly height: number;
  readonly round: number;
}

/**
 * Everything the host must do after one step, in THIS order (the etcd/raft `Ready` rule):
 *   1. apply `decisions` (store the block with its certificate durably);
 *   2. make `persist` durable, then feed `{ kind: 'persisted', seq }` back into the core;
 *   3. sign and send `messages`, and deliver each signed copy back to this node as a `message` input;
 *   4. set `timers`, answer `valueRequests`, record `evidence`.
 * The core enforces step 2 → 3 itself: a message whose content depends on a new durable record is
 * held inside the state and only appears in `messages` of the step that consumes the matching
 * `persisted` acknowledgement. So a host that sends `messages` as soon as it sees them is always safe.
 */
export interface Ready {
  readonly decisions: readonly Decision[];
  readonly persist: { readonly seq: number; readonly record: DurableRecord } | null;
  readonly messages: readonly UnsignedMessage[];
  readonly timers: readonly TimerRequest[];
  readonly valueRequests: readonly ValueRequest[];
  readonly evidence: readonly EquivocationEvidence[];
}

export type ConsensusInput =
  /** A proposal whose signature the host checked; `valueValid` is valid(v) of the paper (block checks). */
  | { readonly kind: 'proposal'; readonly message: ProposalMessage; readonly valueValid: boolean }
  /** A prevote or precommit whose signature the host checked. */
  | { readonly kind: 'vote'; readonly message: VoteMessage }
  | { readonly kind: 'timeout'; readonly timer: TimerId }
  /** getValue() of line 18 answered by the block builder: the value (block) this node proposes. */
  | { readonly kind: 'value'; readonly height: number; readonly round: number; readonly valueId: ValueId }
  /** The record with this seq (or a later one) is durable. */
  | { readonly kind: 'persisted'; readonly seq: number }
  /** Begin deciding `height` (after the block at height-1 was stored, by decision or by sync). */
  | { readonly kind: 'startHeight'; readonly height: number; readonly membership: HeightMembership }
  /** After a restart from a durable record: re-arm the timer of the current step and re-send own messages. */
  | { readonly kind: 'resume' };
