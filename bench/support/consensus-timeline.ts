// Turns the consensus steps of every gateway (gateway/ledger/consensus-trace.ts) into the time between
// steps, for `npm run bench:timeline`: each message's hop from the node that sent it to each node that
// received it, a proposal's checks, a snapshot's write until durable, a decision until its block is
// stored, and a height from its proposal until the last node stored it. The gateways share the machine's
// clock, so a hop is one node's step minus another's.
import type { TracedConsensusStep } from './bench-network.ts';
import { round } from './stats.ts';

export const timelineStages = [
  'proposalHop', // proposal sent by its proposer → received (signature checked) by another node
  'judge', // proposal received → its block checked (judged) on that node
  'prevoteHop', // prevote sent → received by another node
  'precommitHop', // precommit sent → received by another node
  'snapshotDurable', // snapshot a message waits for: write asked → durable (the fsync and the wake-ups around it)
  'proposedToDecided', // proposal sent → decided, on each node
  'decidedToStored', // decided → block stored (appended and synced), on each node
  'height', // proposal sent → the last node stored the block
] as const;

export type TimelineStage = (typeof timelineStages)[number];

export interface StageFigures {
  readonly samples: number;
  readonly p50: number;
  readonly p90: number;
}

export interface Timeline {
  /** Heights decided in round 0 that every node stored within the steps given (the others are left out). */
  readonly heights: number;
  /** Heights some node decided in a later round (a round timed out). */
  readonly laterRounds: number;
  readonly stages: Readonly<Record<TimelineStage, StageFigures>>;
}

type Of<S extends TracedConsensusStep['step']> = TracedConsensusStep & { readonly step: S };

/** The timeline of the heights in `steps` (every gateway's steps of one window, in any order). */
export function consensusTimeline(steps: readonly TracedConsensusStep[], nodeCount: number): Timeline {
  const samples = Object.fromEntries(timelineStages.map((stage) => [stage, [] as number[]])) as Record<TimelineStage, number[]>;
  const sent = new Map<string, number>();
  const byHeight = new Map<number, TracedConsensusStep[]>();
  const persisting = new Map<string, Of<'persisting'>>();
  let laterRounds = 0;
  for (const step of steps) {
    if (step.step === 'sent') sent.set(messageKey(step), step.atMs);
    if (step.step === 'persisting') persisting.set(`${step.node}/${step.seq}`, step);
    if (step.step === 'durable') {
      const asked = persisting.get(`${step.node}/${step.seq}`);
      if (asked?.awaited === true) samples.snapshotDurable.push(step.atMs - asked.atMs);
    }
    if ('height' in step) {
      const list = byHeight.get(step.height) ?? [];
      list.push(step);
      byHeight.set(step.height, list);
    }
  }
  let heights = 0;
  for (const list of byHeight.values()) {
    const decided = list.filter((s): s is Of<'decided'> => s.step === 'decided');
    const stored = list.filter((s): s is Of<'stored'> => s.step === 'stored');
    const proposal = list.find((s): s is Of<'sent'> => s.step === 'sent' && s.message === 'proposal' && s.round === 0);
    if (decided.some((s) => s.round > 0)) laterRounds += 1;
    if (proposal === undefined || stored.length < nodeCount || decided.some((s) => s.round > 0)) continue;
    heights += 1;
    samples.height.push(Math.max(...stored.map((s) => s.atMs)) - proposal.atMs);
    for (const d of decided) {
      samples.proposedToDecided.push(d.atMs - proposal.atMs);
      const store = stored.find((s) => s.node === d.node);
      if (store !== undefined) samples.decidedToStored.push(store.atMs - d.atMs);
    }
    for (const step of list) {
      if (step.step === 'received') {
        const at = sent.get(messageKey(step));
        if (at !== undefined) samples[`${step.message}Hop`].push(step.atMs - at);
      }
      if (step.step === 'judged') {
        const received = list.find((s) => s.step === 'received' && s.message === 'proposal' && s.node === step.node && s.round === step.round);
        if (received !== undefined) samples.judge.push(step.atMs - received.atMs);
      }
    }
  }
  const stages = Object.fromEntries(timelineStages.map((stage) => [stage, figures(samples[stage])])) as Record<TimelineStage, StageFigures>;
  return { heights, laterRounds, stages };
}

/** A message by its height, round, kind and sender: how a receiver's step finds the sender's. */
function messageKey(step: Of<'sent'> | Of<'received'>): string {
  return `${step.height}/${step.round}/${step.message}/${step.sender}`;
}

function figures(values: number[]): StageFigures {
  const sorted = values.sort((a, b) => a - b);
  const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN);
  return { samples: sorted.length, p50: at(0.5), p90: at(0.9) };
}
