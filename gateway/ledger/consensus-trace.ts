// Where a ledger height's time goes, step by step (issue #7): with ENTENTE_TRACE_CONSENSUS=1 the gateway's
// ledger node writes every consensus step it takes (proposal or vote sent, received, proposal judged,
// snapshot persisting and durable, decided, stored) as one JSON line on stderr:
//   {"consensusTrace":"acme","node":0,"atMs":1795930000123.456,"step":"sent","height":7,...}
// `atMs` is wall-clock time with sub-millisecond precision, shared by every process on one machine, so the
// lines of several gateways merge into one timeline per height: `npm run bench:timeline` does that and
// reports the time between the steps (a message's hop from sender to receiver, a snapshot's fsync, ...).
// Off by default. Lines are buffered and written every FLUSH_INTERVAL_MS, so tracing adds no write per
// step to the path it times.
import type { ConsensusTraceStep } from '../../ledger/node/consensus-host.ts';

export const CONSENSUS_TRACE_ENV = 'ENTENTE_TRACE_CONSENSUS';
const FLUSH_INTERVAL_MS = 200;
/** Buffered text that forces a write before the interval (a burst of heights). */
const BUFFER_CHARS_MAX = 256 * 1024;

/** The consensus-step writer for this gateway's ledger node, or undefined when tracing is off. */
export function consensusTraceFromEnv(partner: string, nodeIndex: number): ((step: ConsensusTraceStep) => void) | undefined {
  if (process.env[CONSENSUS_TRACE_ENV] !== '1') return undefined;
  let buffered = '';
  const flush = (): void => {
    if (buffered === '') return;
    process.stderr.write(buffered);
    buffered = '';
  };
  setInterval(flush, FLUSH_INTERVAL_MS).unref();
  process.once('exit', flush);
  const prefix = `{"consensusTrace":${JSON.stringify(partner)},"node":${nodeIndex},"atMs":`;
  return (step) => {
    const atMs = performance.timeOrigin + performance.now();
    buffered += `${prefix}${atMs.toFixed(3)},${JSON.stringify(step).slice(1)}\n`;
    if (buffered.length > BUFFER_CHARS_MAX) flush();
  };
}
