// What a restarted owner reads again from its capture stream (the tail not yet acknowledged) must reach the
// ledger exactly once: the committed part is recognised, the rest is published. Real ledger nodes (three,
// in this process); the capture stream is stood in for, so the test controls exactly what is read again.
//   - A source transaction larger than one batch, of which only the first batch committed before the stop:
//     its origin is on the ledger, yet its last change is not (before: marked done, the change never
//     reached the ledger).
//   - A capture origin too old for the node's bounded index of transient origins: published again, it is
//     answered from the committed transaction ids, and the ledger holds it once.
//   - Acknowledging keeps failing: reading pauses once too much waits for it, and goes on when it works.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CapturedChange, CapturedTransaction, ChangeCapture, Connector } from '../../connectors/connector.ts';
import { CAPTURE_ORIGIN_PREFIX, CapturePublisher, type CapturePublisherOptions, type PublishedTransaction } from '../../gateway/ledger/capture-publisher.ts';
import { transactionForChange } from '../../gateway/ledger/change-codec.ts';
import { createLogger } from '../../gateway/server/logger.ts';
import { BATCH_TXS_MAX, LedgerNode } from '../../ledger/node/ledger-node.ts';
import { createTestNetwork, partnerName } from '../../ledger/testing/test-network.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { findType, type UnifiedSchema } from '../../schema/policy.ts';
import { until } from '../support/eventually.ts';
import { tempFolder } from '../support/temp-folder.ts';

const owner = partnerName(0);
const itemSdl = `type Item @key(fields: "id") @table(name: "items", schema: "public") @grant(partners: ["*"], operations: [READ]) {
  id: BigInt! @column(name: "id", type: "bigint")
  name: String! @column(name: "name", type: "text")
}`;
const keySecret = new Uint8Array(32).fill(7);

interface StoodInCapture {
  /** What each read returns. */
  readonly next: () => readonly CapturedTransaction[];
  readonly acknowledged: string[];
  acknowledgeFails: boolean;
}

/** Reads that return these, one per read, then nothing. */
function readsOf(...reads: (readonly CapturedTransaction[])[]): () => readonly CapturedTransaction[] {
  return () => reads.shift() ?? [];
}

function publisherOver(node: Pick<LedgerNode, 'height'> | LedgerNode, unified: Pick<UnifiedSchema, 'types'>, capture: StoodInCapture, published: PublishedTransaction[], extra: Partial<CapturePublisherOptions> = {}): CapturePublisher {
  const stream: Pick<ChangeCapture, 'install' | 'acknowledgedPosition' | 'read' | 'waitForChanges' | 'acknowledge'> = {
    install: async () => undefined,
    acknowledgedPosition: async () => null,
    // A turn of the event loop per read, as a database round trip would take.
    read: () => new Promise((resolve) => setImmediate(() => resolve(capture.next()))),
    waitForChanges: (_timeoutMs, signal) => new Promise((resolve) => {
      const timer = setTimeout(resolve, 5);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    }),
    acknowledge: async (position) => {
      if (capture.acknowledgeFails) throw new Error('the database refuses (test)');
      capture.acknowledged.push(position);
    },
  };
  const connector = { capture: stream, limits: { pageSizeMax: 1_000 }, list: async () => ({ rows: [], hasNextPage: false, orderColumns: [] }) } as unknown as Connector;
  return new CapturePublisher({
    connector, unified: unified as UnifiedSchema, partner: owner, node: node as LedgerNode, keySecret,
    changeFeed: { publish: () => undefined } as unknown as CapturePublisherOptions['changeFeed'],
    logger: createLogger({ level: 'silent' }), onPublished: (entry) => published.push(entry), ...extra,
  });
}

describe('capture publisher: the tail a restart reads again', () => {
  const root = tempFolder('entente-publisher-restart-');
  const network = createTestNetwork({ nodes: 3, ownership: new Map([['Item', owner]]) });
  const unified = composeSchemas([{ path: `${owner}.graphql`, partner: owner, source: itemSdl }]);
  const type = findType(unified, 'Item')!;
  const itemChange = (id: number): CapturedChange => ({ table: type.table, op: 'insert', key: { id: String(id) }, after: { id: String(id), name: `item ${id}` }, before: null });
  const sourceTransaction = (position: string, changes: readonly CapturedChange[]): CapturedTransaction => ({ position, sourceTransactionId: position, origin: null, committedAt: null, changes });
  let nodes: LedgerNode[] = [];

  beforeAll(async () => {
    // The owner's node indexes only its 2 newest capture origins.
    nodes = network.secretKeys.map((secretKey, i) => new LedgerNode({
      genesis: network.genesis, secretKey, ledgerDirectory: join(root(), partnerName(i)), listenHost: '127.0.0.1', listenPort: 0, emptyBlockDelayMs: 200,
      transientOrigin: (origin) => origin.startsWith(CAPTURE_ORIGIN_PREFIX), transientOriginsMax: 2,
    }));
    const ports = await Promise.all(nodes.map((node) => node.start()));
    for (const node of nodes) node.connectPeers(Object.fromEntries(ports.map((port, i) => [partnerName(i), `ws://127.0.0.1:${port}`])));
  });

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  });

  it('publishes the rest of a source transaction whose first batch alone committed before the stop', async () => {
    const changes = Array.from({ length: BATCH_TXS_MAX + 1 }, (_, i) => itemChange(i));
    const made = changes.map((change, i) => transactionForChange(unified, type, change, `${CAPTURE_ORIGIN_PREFIX}big`, keySecret, i));
    const first = made.slice(0, BATCH_TXS_MAX);
    await nodes[0]!.publish(first.map((m) => m.transaction), first.map((m) => m.payloads));
    expect(nodes[0]!.committedOrigin(`${CAPTURE_ORIGIN_PREFIX}big`)).toBeGreaterThan(0);

    const capture: StoodInCapture = { next: readsOf([sourceTransaction('big', changes)]), acknowledged: [], acknowledgeFails: false };
    const published: PublishedTransaction[] = [];
    const publisher = publisherOver(nodes[0]!, unified, capture, published);
    await publisher.start();
    try {
      await until(() => published.length === 1, 30_000);
      expect(published[0]!.transactionIds).toHaveLength(BATCH_TXS_MAX + 1);
      const heights = published[0]!.transactionIds.map((id) => nodes[0]!.committedTransaction(id));
      expect(heights.every((height) => height !== undefined && height <= published[0]!.height)).toBe(true);
      await until(() => capture.acknowledged.includes('big'));
    } finally {
      await publisher.stop();
    }
  }, 60_000);

  it('answers a capture origin the node no longer indexes from the committed ids, and commits it once', async () => {
    const capture: StoodInCapture = { next: readsOf([sourceTransaction('p1', [itemChange(10_001)])], [sourceTransaction('p2', [itemChange(10_002)])], [sourceTransaction('p3', [itemChange(10_003)])]), acknowledged: [], acknowledgeFails: false };
    const published: PublishedTransaction[] = [];
    const publisher = publisherOver(nodes[0]!, unified, capture, published);
    await publisher.start();
    await until(() => published.length === 3, 30_000);
    await publisher.stop();
    expect(nodes[0]!.committedOrigin(`${CAPTURE_ORIGIN_PREFIX}p1`)).toBeUndefined();
    expect(nodes[0]!.committedOrigin(`${CAPTURE_ORIGIN_PREFIX}p3`)).toBe(published[2]!.height);

    // A restart reads p1 again.
    const again: PublishedTransaction[] = [];
    const restarted = publisherOver(nodes[0]!, unified, { next: readsOf([sourceTransaction('p1', [itemChange(10_001)])]), acknowledged: [], acknowledgeFails: false }, again);
    await restarted.start();
    try {
      await until(() => again.length === 1, 30_000);
      expect({ height: again[0]!.height, transactionIds: again[0]!.transactionIds }).toEqual({ height: published[0]!.height, transactionIds: published[0]!.transactionIds });
      const head = nodes[0]!.height;
      let copies = 0;
      for (let height = 1; height <= head; height++) copies += nodes[0]!.blockStore.readBlockSync(height)!.transactions.filter((tx) => tx.origin === `${CAPTURE_ORIGIN_PREFIX}p1`).length;
      expect(copies).toBe(1);
    } finally {
      await restarted.stop();
    }
  }, 60_000);
});

describe('capture publisher: acknowledging keeps failing', () => {
  it('pauses reading once too much waits for an acknowledgement, and goes on once it works', async () => {
    let position = 0;
    // Endless captured work (no owned types: each source transaction settles at once, nothing is published).
    const next = (): readonly CapturedTransaction[] => [{ position: String(++position), sourceTransactionId: String(position), origin: null, committedAt: null, changes: [] }];
    const capture: StoodInCapture = { next, acknowledged: [], acknowledgeFails: true };
    const published: PublishedTransaction[] = [];
    const publisher = publisherOver({ height: 0 }, { types: [] }, capture, published, { unacknowledgedMax: 10 });
    await publisher.start();
    try {
      await until(() => position >= 10);
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(position).toBe(10);
      capture.acknowledgeFails = false;
      await until(() => position >= 100, 10_000);
    } finally {
      await publisher.stop();
    }
  });
});
