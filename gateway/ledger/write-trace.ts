// Where a mutation's time goes on its way to the ledger, for finding what to cut (issue #7): with
// ENTENTE_TRACE_WRITES=1 the write path times every owned mutation through each stage — database
// commit, capture read, signed batch, proposal, decision, block stored, answer — and every
// REPORT_INTERVAL_MS writes one JSON line to stderr with each stage's p50/p90 (ms) over that window.
// Off by default: it costs a few timestamps and an array push per mutation.
import type { PublishTrace } from './capture-publisher.ts';

export const TRACE_ENV = 'ENTENTE_TRACE_WRITES';
const REPORT_INTERVAL_MS = 2_000;
/** Samples kept per window (beyond it, the rest of the window is not sampled). */
const WINDOW_SAMPLES_MAX = 50_000;

export function writeTraceEnabled(): boolean {
  return process.env[TRACE_ENV] === '1';
}

/** Stage → duration (ms), in the order a mutation passes them. */
type Stages = Record<(typeof stageNames)[number], number>;

const stageNames = [
  'database', // resolver's write start → the database transaction committed
  'untilRead', // committed → the capture read that found it started (poll or nudge wait, a read already under way)
  'read', // that capture read's own duration
  'sign', // read returned → batch signed and gossiped
  'untilProposed', // gossiped → a block holding it proposed (own) or judged valid (a peer's proposal)
  'consensus', // proposed → decided (prevotes, precommits and their durable snapshots)
  'store', // decided → block stored (checks, append, fdatasync)
  'answer', // stored → the waiting mutation resumed (settle, callbacks, event loop)
  'total', // resolver's write start → answer
] as const;

export class WriteTrace {
  private window: Stages[] = [];
  /** Distinct blocks and capture reads the window's mutations went through (mutations per block and per read). */
  private readonly heights = new Set<number>();
  private readonly reads = new Set<number>();
  private readonly timer: NodeJS.Timeout;
  private readonly label: string;

  constructor(label: string) {
    this.label = label;
    this.timer = setInterval(() => this.report(), REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  record(startedAt: number, committedAt: number, height: number, trace: PublishTrace | undefined, answeredAt: number): void {
    if (trace === undefined || this.window.length >= WINDOW_SAMPLES_MAX) return;
    this.heights.add(height);
    this.reads.add(trace.readStartedAt);
    const { readStartedAt, capturedAt, publishedAt } = trace;
    const proposedAt = trace.proposedAt ?? Number.NaN;
    const decidedAt = trace.decidedAt ?? Number.NaN;
    const storedAt = trace.storedAt ?? Number.NaN;
    this.window.push({
      database: committedAt - startedAt,
      untilRead: readStartedAt - committedAt,
      read: capturedAt - readStartedAt,
      sign: publishedAt - capturedAt,
      untilProposed: proposedAt - publishedAt,
      consensus: decidedAt - proposedAt,
      store: storedAt - decidedAt,
      answer: answeredAt - storedAt,
      total: answeredAt - startedAt,
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.report();
  }

  private report(): void {
    const samples = this.window;
    if (samples.length === 0) return;
    this.window = [];
    const stages: Record<string, { p50: number; p90: number }> = {};
    for (const name of stageNames) {
      const values = samples.map((s) => s[name]).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
      if (values.length === 0) continue;
      stages[name] = { p50: round1(values[Math.floor(values.length * 0.5)]!), p90: round1(values[Math.floor(values.length * 0.9)]!) };
    }
    // A negative "untilRead": the read that found the change had started before its commit returned here.
    const perBlock = round1(samples.length / Math.max(1, this.heights.size));
    const perRead = round1(samples.length / Math.max(1, this.reads.size));
    this.heights.clear();
    this.reads.clear();
    process.stderr.write(`${JSON.stringify({ writeTrace: this.label, samples: samples.length, mutationsPerBlock: perBlock, mutationsPerRead: perRead, stages })}\n`);
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
