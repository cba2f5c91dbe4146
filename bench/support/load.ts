// Load shapes shared by the benchmarks: closed-loop saturation (N clients back to back) and an open-loop
// fixed rate (operations start on schedule whether or not earlier ones finished, so queueing shows in
// the latency instead of slowing the offered load down).
import { percentiles, round, type Percentiles } from './stats.ts';

export interface Throughput {
  readonly operationsPerSecond: number;
  readonly latencyMs: Percentiles;
  readonly operations: number;
  readonly errors: number;
}

/** Errors are counted, not thrown, so one refused request does not end a phase; the first is logged. */
function errorCounter(label: string): { count: number; note(error: unknown): void } {
  const counter = {
    count: 0,
    note(error: unknown) {
      if (counter.count++ === 0) console.error(`${label}: first error: ${(error as Error).message}`);
    },
  };
  return counter;
}

/** `clients` loops, each issuing `operation` back to back for `seconds`. */
export async function saturate(label: string, clients: number, seconds: number, operation: (index: number) => Promise<unknown>): Promise<Throughput> {
  const latencies: number[] = [];
  const errors = errorCounter(label);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let counter = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const index = counter++;
        const begin = performance.now();
        try {
          await operation(index);
          latencies.push(performance.now() - begin);
        } catch (error) {
          errors.note(error);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { operationsPerSecond: round(latencies.length / elapsed, 0), latencyMs: percentiles(latencies), operations: latencies.length, errors: errors.count };
}

/** Operations started at `ratePerSecond` for `seconds` (open loop); throughput counts completions over the whole run. */
export async function paced(label: string, ratePerSecond: number, seconds: number, operation: (index: number) => Promise<unknown>): Promise<Throughput> {
  const latencies: number[] = [];
  const errors = errorCounter(label);
  const total = Math.round(ratePerSecond * seconds);
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let index = 0; index < total; index += 1) {
    const due = started + (index * 1000) / ratePerSecond;
    const wait = due - performance.now();
    // Timers fire at >= 1 ms granularity: start everything that is due, then sleep until the next one.
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const begin = performance.now();
    pending.push(operation(index).then(() => void latencies.push(performance.now() - begin), (error: unknown) => errors.note(error)));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  return { operationsPerSecond: round(latencies.length / elapsed, 0), latencyMs: percentiles(latencies), operations: latencies.length, errors: errors.count };
}

export function describeThroughput(t: Throughput): string {
  return `${t.operationsPerSecond}/s  p50 ${t.latencyMs.p50} ms  p99 ${t.latencyMs.p99} ms${t.errors > 0 ? `  (${t.errors} errors)` : ''}`;
}
