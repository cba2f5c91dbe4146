// The fault mixes the simulator runs. Each seed runs one mix; `npm test` and the soak cycle through all
// of them so every seed range covers every kind of fault, with 4 and with 7 nodes.

export type ByzantineBehaviour =
  /** Sends nothing at all (withholds every message). */
  | 'silent'
  /** Sends conflicting proposals and votes, each signed with its real key, to different halves of the peers. */
  | 'equivocate'
  /** Behaves, and also sends junk: malformed messages, forged senders, bad signatures, blocks that do not match. */
  | 'garbage'
  /** Forgets its lock every step and equivocates: the adversary that breaks a core that skips the lock check. */
  | 'amnesia'
  /** Sends each message to a random subset of peers only. */
  | 'selective';

export interface FaultMix {
  readonly name: string;
  readonly nodes: number;
  /** Byzantine nodes (at most f); the highest indices are the Byzantine ones. */
  readonly byzantine: number;
  readonly behaviour: ByzantineBehaviour;
  readonly lossProbability: number;
  readonly duplicateProbability: number;
  readonly delayMsMax: number;
  readonly partitions: boolean;
  readonly crashes: boolean;
  /** Timer rates differ per node by up to ±this fraction. */
  readonly clockSkew: number;
  /** Time from a record's write to its fsync; a crash in between loses the record. */
  readonly fsyncMsMax: number;
  /** How long a node waits before fetching blocks from a peer that is ahead. Safety must not depend on it. */
  readonly syncIntervalMs: number;
}

const base = { lossProbability: 0, duplicateProbability: 0, delayMsMax: 20, partitions: false, crashes: false, clockSkew: 0, fsyncMsMax: 2, syncIntervalMs: 300 } as const;

function mixesFor(nodes: number): FaultMix[] {
  const f = Math.floor((nodes - 1) / 3);
  return [
    { ...base, name: `calm-${nodes}`, nodes, byzantine: 0, behaviour: 'silent' },
    { ...base, name: `lossy-${nodes}`, nodes, byzantine: 0, behaviour: 'silent', lossProbability: 0.15, duplicateProbability: 0.1, delayMsMax: 150, clockSkew: 0.3 },
    { ...base, name: `partitions-${nodes}`, nodes, byzantine: 0, behaviour: 'silent', partitions: true, lossProbability: 0.05, delayMsMax: 80 },
    { ...base, name: `crashes-${nodes}`, nodes, byzantine: 0, behaviour: 'silent', crashes: true, fsyncMsMax: 30, lossProbability: 0.05, duplicateProbability: 0.05 },
    { ...base, name: `silent-f-${nodes}`, nodes, byzantine: f, behaviour: 'silent', lossProbability: 0.05, delayMsMax: 60 },
    { ...base, name: `equivocate-${nodes}`, nodes, byzantine: f, behaviour: 'equivocate', delayMsMax: 40 },
    { ...base, name: `garbage-${nodes}`, nodes, byzantine: f, behaviour: 'garbage', lossProbability: 0.05, duplicateProbability: 0.05 },
    { ...base, name: `amnesia-partitions-${nodes}`, nodes, byzantine: f, behaviour: 'amnesia', partitions: true, lossProbability: 0.1, delayMsMax: 100 },
    { ...base, name: `selective-crashes-${nodes}`, nodes, byzantine: f, behaviour: 'selective', crashes: true, fsyncMsMax: 20, clockSkew: 0.2 },
    { ...base, name: `lock-attack-${nodes}`, nodes, byzantine: f, behaviour: 'amnesia', partitions: true, lossProbability: 0.2, delayMsMax: 150, syncIntervalMs: 5000 },
    { ...base, name: `everything-${nodes}`, nodes, byzantine: f, behaviour: 'amnesia', partitions: true, crashes: true, lossProbability: 0.1, duplicateProbability: 0.1, delayMsMax: 120, clockSkew: 0.3, fsyncMsMax: 30 },
  ];
}

export const FAULT_MIXES: readonly FaultMix[] = [...mixesFor(4), ...mixesFor(7)];

/** The mix a seed runs: seeds cycle through the mixes, so any contiguous range covers them all. */
export function mixForSeed(seed: number, mixes: readonly FaultMix[] = FAULT_MIXES): FaultMix {
  return mixes[seed % mixes.length]!;
}
