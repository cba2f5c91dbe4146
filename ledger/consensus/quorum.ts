// Thresholds and proposer rotation for one height's membership (equal voting power).
// n nodes tolerate f = floor((n - 1) / 3) Byzantine ones. A quorum is the smallest q such that any two
// quorums intersect in at least f + 1 nodes, i.e. in at least one honest node: q = ceil((n + f + 1) / 2).
// That is 2f + 1 when n = 3f + 1 (the paper's setting) and 1 when n = 1. The same formula as
// ledger/membership.ts `quorumSize`; test/consensus checks the two agree for every n up to 64.
import type { NodeIndex } from './types.ts';

export function faultsTolerated(count: number): number {
  return Math.floor((count - 1) / 3);
}

/** "2f + 1" of the paper, generalised to any n. */
export function quorum(count: number): number {
  return Math.ceil((count + faultsTolerated(count) + 1) / 2);
}

/** "f + 1": enough senders that at least one is honest (line 55's round skip). */
export function honestWitness(count: number): number {
  return faultsTolerated(count) + 1;
}

/** proposer(h, r): rotates by membership index, shifted by height so the first round's proposer rotates too. */
export function proposerOf(count: number, height: number, round: number): NodeIndex {
  return (height + round) % count;
}
