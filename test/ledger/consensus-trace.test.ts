// The consensus trace (ConsensusHost's `trace` event, gateway/ledger/consensus-trace.ts) on three real
// ledger nodes: every node reports each step of every height, a receiver's step comes after its sender's,
// every durable snapshot was asked for first, and bench:timeline's analysis reads the result.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { consensusTimeline } from '../../bench/support/consensus-timeline.ts';
import type { TracedConsensusStep } from '../../bench/support/bench-network.ts';
import { CONSENSUS_TRACE_ENV, consensusTraceFromEnv } from '../../gateway/ledger/consensus-trace.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { LedgerNode } from '../../ledger/node/ledger-node.ts';
import { partnerName, createTestNetwork } from '../../ledger/testing/test-network.ts';
import { commitPayloads, createPayload, type Transaction } from '../../ledger/transaction.ts';
import { until } from '../support/eventually.ts';
import { tempFolder } from '../support/temp-folder.ts';

const root = tempFolder('entente-consensus-trace-');
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('consensus trace', () => {
  it('reports every step of every height on every node, in causal order, and bench:timeline reads it', async () => {
    const network = createTestNetwork({ nodes: 3 });
    const steps: TracedConsensusStep[] = [];
    const nodes = network.secretKeys.map((secretKey, i) => new LedgerNode({
      genesis: network.genesis, secretKey, ledgerDirectory: join(root(), partnerName(i)), listenHost: '127.0.0.1', listenPort: 0, emptyBlockDelayMs: 60_000,
      traceConsensus: (step) => steps.push({ ...step, consensusTrace: partnerName(i), node: i, atMs: performance.timeOrigin + performance.now() }),
    }));
    try {
      const ports = await Promise.all(nodes.map((node) => node.start()));
      const urls = Object.fromEntries(ports.map((port, i) => [partnerName(i), `ws://127.0.0.1:${port}`]));
      for (const node of nodes) node.connectPeers(urls);
      let last = 0;
      for (let i = 0; i < 6; i += 1) {
        const payloads = [createPayload(partnerName(1), new TextEncoder().encode(`k${i}`))];
        const tx: Transaction = { operation: 'create', entityType: 'Type0', key: `k${i}`, owner: partnerName(0), origin: `test:k${i}`, commitments: commitPayloads(nodeHasher, payloads) };
        last = (await nodes[0]!.publish([tx], [payloads])).height;
      }
      await Promise.all(nodes.map((node) => until(() => node.height >= last)));

      for (let height = 1; height <= last; height += 1) {
        for (let node = 0; node < 3; node += 1) {
          expect(steps.some((s) => s.step === 'stored' && s.height === height && s.node === node), `node ${node} stored height ${height}`).toBe(true);
        }
      }
      type MessageStep = Extract<TracedConsensusStep, { readonly message: unknown }>;
      const isMessageStep = (s: TracedConsensusStep): s is MessageStep => s.step === 'sent' || s.step === 'received';
      const messageSteps = steps.filter(isMessageStep);
      const sentAt = new Map(messageSteps.filter((s) => s.step === 'sent').map((s) => [`${s.height}/${s.round}/${s.message}/${s.sender}`, s.atMs]));
      const received = messageSteps.filter((s) => s.step === 'received');
      expect(received.length).toBeGreaterThanOrEqual(4 * last); // at least a quorum's votes of each kind
      for (const r of received) {
        const sent = sentAt.get(`${r.height}/${r.round}/${r.message}/${r.sender}`);
        expect(sent, `the sender traced the ${r.message} node ${r.node} received`).toBeDefined();
        expect(r.atMs).toBeGreaterThanOrEqual(sent!);
      }
      const withSeq = steps.filter((s): s is Extract<TracedConsensusStep, { readonly seq: number }> => s.step === 'persisting' || s.step === 'durable');
      for (const durable of withSeq.filter((s) => s.step === 'durable')) {
        expect(withSeq.some((s) => s.step === 'persisting' && s.node === durable.node && s.seq === durable.seq && s.atMs <= durable.atMs)).toBe(true);
      }

      const timeline = consensusTimeline(steps, 3);
      expect(timeline.heights + timeline.laterRounds).toBeGreaterThanOrEqual(last - 1); // the first height may have waited for connections
      expect(timeline.stages.height.samples).toBe(timeline.heights);
      for (const stage of ['proposalHop', 'prevoteHop', 'precommitHop', 'snapshotDurable', 'decidedToStored', 'height'] as const) {
        expect(timeline.stages[stage].samples, stage).toBeGreaterThan(0);
        expect(timeline.stages[stage].p50, stage).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
    }
  }, 60_000);

  it('is off unless ENTENTE_TRACE_CONSENSUS=1, and then writes one JSON line per step with the node and the time', async () => {
    vi.stubEnv(CONSENSUS_TRACE_ENV, '');
    expect(consensusTraceFromEnv('acme', 0)).toBeUndefined();
    vi.stubEnv(CONSENSUS_TRACE_ENV, '1');
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const trace = consensusTraceFromEnv('acme', 2)!;
    const before = performance.timeOrigin + performance.now();
    trace({ step: 'decided', height: 7, round: 0 });
    trace({ step: 'durable', seq: 12 });
    await until(() => written.length > 0);
    const lines = written.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      { consensusTrace: 'acme', node: 2, atMs: expect.any(Number), step: 'decided', height: 7, round: 0 },
      { consensusTrace: 'acme', node: 2, atMs: expect.any(Number), step: 'durable', seq: 12 },
    ]);
    expect(lines[0]!['atMs'] as number).toBeGreaterThanOrEqual(Math.floor(before));
  });
});
