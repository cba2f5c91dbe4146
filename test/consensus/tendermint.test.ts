// Goal: the pure core follows Algorithm 1 of "The latest gossip on BFT consensus" (Buchman, Kwon,
// Milosevic, arXiv 1807.04938) rule by rule, and keeps the host contract (persist before send).
// Method: drive cores directly through `step` with a synchronous harness (test/consensus/core-harness.ts);
// each test names the paper's lines it checks, in the spirit of etcd's raft_paper_test.go.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIMEOUTS, durableRecordOf, proposerOf, quorum, restoreState, step,
  type ProposalMessage, type SignedMessage, type VoteMessage,
} from '../../ledger/consensus/index.ts';
import { quorumSize } from '../../ledger/membership.ts';
import { asInput, feed, flood, newNode, type CoreNode } from './core-harness.ts';

const H = 1;

function startAll(count: number): { nodes: CoreNode[]; sent: SignedMessage[] } {
  const nodes = Array.from({ length: count }, () => newNode());
  const sent: SignedMessage[] = [];
  nodes.forEach((node, self) => sent.push(...feed(node, { kind: 'startHeight', height: H, membership: { count, self } })));
  return { nodes, sent };
}

function proposal(round: number, valueId: string, validRound = -1, count = 4): ProposalMessage {
  const sender = proposerOf(count, H, round);
  return { kind: 'proposal', height: H, round, valueId, validRound, sender, signature: `sig:${sender}` };
}

function vote(kind: 'prevote' | 'precommit', round: number, valueId: string | null, sender: number): VoteMessage {
  return { kind, height: H, round, valueId, sender, signature: `sig:${sender}` };
}

function votesOf(node: CoreNode, kind: string, round: number): (string | null)[] {
  return node.sent.filter((m) => m.kind === kind && m.round === round).map((m) => m.valueId);
}

describe('quorum thresholds', () => {
  it('matches the ledger membership quorum for every n up to 64, and is 2f+1 at n = 3f+1', () => {
    for (let n = 1; n <= 64; n++) expect(quorum(n)).toBe(quorumSize(n));
    expect([quorum(1), quorum(4), quorum(7), quorum(10)]).toEqual([1, 3, 5, 7]);
  });
});

describe('Algorithm 1 on a perfect network', () => {
  it('n = 1 decides alone: StartRound (lines 11-19), prevote (line 24), lock and precommit (36-41), decide (49-51)', () => {
    const node = newNode();
    const first = step(node.state, { kind: 'startHeight', height: 0, membership: { count: 1, self: 0 } });
    expect(first.ready.valueRequests).toEqual([{ height: 0, round: 0 }]);
    node.state = first.state;
    const sent = feed(node, { kind: 'value', height: 0, round: 0, valueId: 'aa' });
    flood([node], sent);
    const decision = node.readies.flatMap((r) => r.decisions);
    expect(decision).toHaveLength(1);
    expect(decision[0]).toMatchObject({ height: 0, round: 0, valueId: 'aa' });
    expect(decision[0]!.certificate.map((v) => v.sender)).toEqual([0]);
  });

  it('n = 4 all decide the proposer\'s value in round 0 with a certificate of at least 2f+1 precommits', () => {
    const { nodes, sent } = startAll(4);
    const proposer = nodes[proposerOf(4, H, 0)]!;
    sent.push(...feed(proposer, { kind: 'value', height: H, round: 0, valueId: 'v1' }));
    flood(nodes, sent);
    for (const node of nodes) {
      const decisions = node.readies.flatMap((r) => r.decisions);
      expect(decisions.map((d) => d.valueId)).toEqual(['v1']);
      expect(decisions[0]!.certificate.length).toBeGreaterThanOrEqual(3);
      expect(decisions[0]!.certificate.every((v) => v.kind === 'precommit' && v.valueId === 'v1' && v.round === 0)).toBe(true);
    }
  });

  it('an invalid value gets nil prevotes (lines 23, 26) and is never decided (line 50)', () => {
    const { nodes } = startAll(4);
    const p = proposal(0, 'bad');
    const out: SignedMessage[] = [];
    nodes.forEach((node) => out.push(...feed(node, asInput(p, false))));
    flood(nodes, out);
    for (const node of nodes) {
      expect(votesOf(node, 'prevote', 0)).toEqual([null]);
      expect(node.readies.flatMap((r) => r.decisions)).toEqual([]);
    }
  });
});

describe('locks (lines 22-43)', () => {
  function lockedNode(): CoreNode {
    // Node 3 sees v1 proposed in round 0 and 2f+1 prevotes for it: it locks v1 (lines 36-41).
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    feed(node, asInput(proposal(0, 'v1')));
    for (const sender of [0, 1, 2]) feed(node, asInput(vote('prevote', 0, 'v1', sender)));
    expect(node.state.lockedValue).toBe('v1');
    expect(node.state.lockedRound).toBe(0);
    expect(votesOf(node, 'precommit', 0)).toEqual(['v1']);
    return node;
  }

  function toRound1(node: CoreNode): void {
    for (const sender of [0, 1, 2]) feed(node, asInput(vote('precommit', 0, null, sender)));
    feed(node, { kind: 'timeout', timer: { kind: 'precommit', height: H, round: 0 } }); // lines 65-67
    expect(node.state.round).toBe(1);
  }

  it('a locked node prevotes nil for a different fresh value (line 23: lockedRound = -1 or lockedValue = v)', () => {
    const node = lockedNode();
    toRound1(node);
    feed(node, asInput(proposal(1, 'v2')));
    expect(votesOf(node, 'prevote', 1)).toEqual([null]);
  });

  it('a locked node prevotes its locked value when it is proposed again', () => {
    const node = lockedNode();
    toRound1(node);
    feed(node, asInput(proposal(1, 'v1')));
    expect(votesOf(node, 'prevote', 1)).toEqual(['v1']);
  });

  it('a locked node accepts a value with 2f+1 prevotes in a round vr >= lockedRound (lines 28-30)', () => {
    const node = lockedNode();
    toRound1(node);
    // Round 1 had 2f+1 prevotes for v2 (node 3 missed them); round 2's proposer re-proposes v2 with vr = 1.
    for (const sender of [0, 1, 2]) feed(node, asInput(vote('prevote', 1, 'v2', sender)));
    for (const sender of [0, 1, 2]) feed(node, asInput(vote('precommit', 1, null, sender)));
    feed(node, { kind: 'timeout', timer: { kind: 'propose', height: H, round: 1 } });
    feed(node, { kind: 'timeout', timer: { kind: 'precommit', height: H, round: 1 } });
    expect(node.state.round).toBe(2);
    // Node 3 proposes round 2 itself: it re-proposes its valid value v1 (vr = 0) and, taking in its own
    // proposal at once, prevotes it. Round 3's proposer (node 0) re-proposes v2 with vr = 1.
    expect(votesOf(node, 'prevote', 2)).toEqual(['v1']);
    for (const sender of [0, 1, 2]) feed(node, asInput(vote('precommit', 2, null, sender)));
    feed(node, { kind: 'timeout', timer: { kind: 'precommit', height: H, round: 2 } });
    expect(node.state.round).toBe(3);
    feed(node, asInput(proposal(3, 'v2', 1)));
    expect(votesOf(node, 'prevote', 3)).toEqual(['v2']);
  });

  it('a proposer prevotes its own proposal in the same step, so both share one durable record', () => {
    const self = proposerOf(4, H, 0);
    const started = step(newNode().state, { kind: 'startHeight', height: H, membership: { count: 4, self } });
    expect(started.ready.valueRequests).toEqual([{ height: H, round: 0 }]);
    const proposed = step(started.state, { kind: 'value', height: H, round: 0, valueId: 'v1' });
    expect(proposed.ready.persist).not.toBeNull();
    expect(proposed.state.held.map((h) => [h.message.kind, h.message.valueId, h.seq])).toEqual([['proposal', 'v1', proposed.ready.persist!.seq], ['prevote', 'v1', proposed.ready.persist!.seq]]);
    // The signed proposal fed back by the host later changes nothing.
    const back = step(proposed.state, { kind: 'proposal', message: { ...proposal(0, 'v1'), sender: self }, valueValid: true });
    expect(back.ready.messages).toEqual([]);
    expect(back.ready.evidence).toEqual([]);
    expect(back.state.ownVotes).toEqual(proposed.state.ownVotes);
  });

  it('records validValue/validRound even after precommitting (lines 42-43) and re-proposes it (lines 15-16)', () => {
    const node = newNode();
    // Node 2 is the proposer of round 1 at height 1 (proposer = (h + r) mod n).
    expect(proposerOf(4, H, 1)).toBe(2);
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 2 } });
    feed(node, { kind: 'timeout', timer: { kind: 'propose', height: H, round: 0 } }); // prevote nil (lines 57-60)
    feed(node, asInput(proposal(0, 'v1')));
    for (const sender of [0, 1, 3]) feed(node, asInput(vote('prevote', 0, 'v1', sender)));
    // Still in step prevote (it prevoted nil): lines 36-41 lock and precommit v1.
    expect(node.state.validValue).toBe('v1');
    for (const sender of [0, 1, 3]) feed(node, asInput(vote('precommit', 0, null, sender)));
    const sent = feed(node, { kind: 'timeout', timer: { kind: 'precommit', height: H, round: 0 } });
    expect(sent).toContainEqual(expect.objectContaining({ kind: 'proposal', round: 1, valueId: 'v1', validRound: 0 }));
  });
});

describe('timeouts and round changes', () => {
  it('timeoutPropose → prevote nil (lines 57-60); 2f+1 prevotes arm timeoutPrevote (line 34-35) → precommit nil (61-64)', () => {
    const { nodes } = startAll(4);
    const node = nodes[3]!;
    feed(node, { kind: 'timeout', timer: { kind: 'propose', height: H, round: 0 } });
    expect(votesOf(node, 'prevote', 0)).toEqual([null]);
    feed(node, asInput(vote('prevote', 0, 'x', 0)));
    feed(node, asInput(vote('prevote', 0, 'y', 1)));
    expect(node.timers.some((t) => t.timer.kind === 'prevote')).toBe(false);
    feed(node, asInput(vote('prevote', 0, null, 2)));
    expect(node.timers.filter((t) => t.timer.kind === 'prevote')).toHaveLength(1);
    feed(node, { kind: 'timeout', timer: { kind: 'prevote', height: H, round: 0 } });
    expect(votesOf(node, 'precommit', 0)).toEqual([null]);
  });

  it('timeouts grow with the round (timeoutPropose(r) = base + r·delta)', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    for (let round = 0; round < 3; round++) {
      for (const sender of [0, 1, 2]) feed(node, asInput(vote('precommit', round, null, sender)));
      feed(node, { kind: 'timeout', timer: { kind: 'precommit', height: H, round } });
    }
    const proposeDelays = node.timers.filter((t) => t.timer.kind === 'propose').map((t) => t.delayMs);
    expect(proposeDelays).toEqual([0, 1, 2, 3].map((r) => DEFAULT_TIMEOUTS.proposeBaseMs + r * DEFAULT_TIMEOUTS.proposeDeltaMs));
  });

  it('f+1 messages of a higher round make a node skip to it (lines 55-56), f do not', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    feed(node, asInput(vote('prevote', 5, null, 0)));
    expect(node.state.round).toBe(0);
    feed(node, asInput(vote('precommit', 5, null, 1)));
    expect(node.state.round).toBe(5);
    expect(node.state.step).toBe('propose');
  });

  it('stale timeouts (other round or height) do nothing (lines 57, 61, 65 check h_p and round_p)', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    const before = node.state;
    feed(node, { kind: 'timeout', timer: { kind: 'propose', height: H, round: 3 } });
    feed(node, { kind: 'timeout', timer: { kind: 'precommit', height: H - 1, round: 0 } });
    expect(node.state.round).toBe(before.round);
    expect(node.state.step).toBe('propose');
    expect(node.sent).toEqual([]);
  });
});

describe('Byzantine input', () => {
  it('two different votes from one sender in one round are evidence; only the first counts', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    const step1 = step(node.state, asInput(vote('prevote', 0, 'x', 1)));
    const step2 = step(step1.state, asInput(vote('prevote', 0, 'y', 1)));
    expect(step2.ready.evidence).toHaveLength(1);
    expect(step2.ready.evidence[0]).toMatchObject({ sender: 1, round: 0, kind: 'prevote' });
    const step3 = step(step2.state, asInput(vote('prevote', 0, 'x', 1)));
    expect(step3.ready.evidence).toEqual([]); // a plain duplicate is no evidence
  });

  it('two different proposals from the round\'s proposer are evidence; a proposal from a non-proposer is ignored', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    const forged: ProposalMessage = { ...proposal(0, 'z'), sender: 2 };
    const a = step(node.state, asInput(forged));
    expect(a.state.proposals.size).toBe(0);
    const b = step(a.state, asInput({ ...proposal(0, 'v1'), validRound: -1 }));
    const c = step(b.state, asInput(proposal(0, 'v2')));
    expect(c.ready.evidence).toHaveLength(1);
    expect(c.ready.evidence[0]!.kind).toBe('proposal');
  });

  it('a message for a round beyond the look-ahead bound or a sender outside the membership is dropped', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    const far = step(node.state, asInput(vote('prevote', 5000, null, 0)));
    const outsider = step(far.state, asInput(vote('prevote', 0, null, 9)));
    expect(outsider.state.votes.size).toBe(0);
  });
});

describe('durability: the Ready contract', () => {
  it('holds a new vote until the record that contains it is acknowledged durable', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    const r = step(node.state, { kind: 'timeout', timer: { kind: 'propose', height: H, round: 0 } });
    expect(r.ready.messages).toEqual([]);
    expect(r.ready.persist?.record.ownVotes).toEqual([{ type: 'prevote', round: 0, valueId: null }]);
    const acked = step(r.state, { kind: 'persisted', seq: r.ready.persist!.seq });
    expect(acked.ready.messages).toEqual([expect.objectContaining({ kind: 'prevote', round: 0, valueId: null, sender: 3 })]);
  });

  it('a node restored from its durable record re-sends the same vote and never casts a different one in that round', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: H, membership: { count: 4, self: 3 } });
    feed(node, asInput(proposal(0, 'v1')));
    expect(votesOf(node, 'prevote', 0)).toEqual(['v1']);
    const restarted = newNode();
    restarted.state = restoreState(durableRecordOf(node.state), { count: 4, self: 3 });
    const resent = feed(restarted, { kind: 'resume' });
    expect(resent).toEqual([expect.objectContaining({ kind: 'prevote', round: 0, valueId: 'v1' })]);
    // The timeout that would have made it prevote nil finds it past the propose step.
    feed(restarted, { kind: 'timeout', timer: { kind: 'propose', height: H, round: 0 } });
    expect(votesOf(restarted, 'prevote', 0)).toEqual(['v1']); // only the re-send, no nil prevote
    // It keeps its lock across the restart when it had one.
    for (const sender of [0, 1, 2]) feed(restarted, asInput(vote('prevote', 0, 'v1', sender)));
    expect(restarted.state.lockedValue).toBe(null); // the proposal was lost with the memory: no lock without it
    feed(restarted, asInput(proposal(0, 'v1')));
    expect(restarted.state.lockedValue).toBe('v1');
    const again = restoreState(durableRecordOf(restarted.state), { count: 4, self: 3 });
    expect(again.lockedValue).toBe('v1');
    expect(again.lockedRound).toBe(0);
  });

  it('a decided height waits for startHeight and ignores later input of that height', () => {
    const node = newNode();
    feed(node, { kind: 'startHeight', height: 0, membership: { count: 1, self: 0 } });
    flood([node], feed(node, { kind: 'value', height: 0, round: 0, valueId: 'aa' }));
    expect(node.state.decision?.valueId).toBe('aa');
    const after = step(node.state, { kind: 'timeout', timer: { kind: 'precommit', height: 0, round: 0 } });
    expect(after.state.round).toBe(0);
    const next = step(after.state, { kind: 'startHeight', height: 1, membership: { count: 1, self: 0 } });
    expect(next.state.height).toBe(1);
    expect(next.ready.valueRequests).toEqual([{ height: 1, round: 0 }]);
  });
});
