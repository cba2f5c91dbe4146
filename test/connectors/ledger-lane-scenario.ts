// The ledger-lane scenario both server connectors run: an outside session holds a lock on a table, more
// client reads than the pool has connections queue behind it, and a capture read must still answer at
// once on the lane's own connections. Before the lane it queued behind them until the lock went.
import { expect } from 'vitest';
import type { Connector, TableRef } from '../../connectors/connector.ts';

export interface LaneScenario {
  readonly connector: Connector;
  /** A table holding one row labelled 'first', captured. */
  readonly table: TableRef;
  /** Client reads to start: the pool's connections, plus a few that wait for one. */
  readonly blockedReads: number;
  /** Takes a lock every client read of `table` waits for. */
  lock(): Promise<unknown>;
  unlock(): Promise<unknown>;
}

export async function expectCaptureReadBesideBlockedClients(scenario: LaneScenario): Promise<void> {
  const { connector } = scenario;
  const before = connector.statementCount();
  await scenario.lock();
  const blocked = Array.from({ length: scenario.blockedReads }, () => connector.list({ table: scenario.table, first: 10 }));
  await new Promise((resolve) => setTimeout(resolve, 300));
  // The lock goes 1.5 s from now whatever happens, so a read that queues still ends (and fails below).
  const released = new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => scenario.unlock());
  const started = performance.now();
  const read = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
  const readMs = performance.now() - started;
  await released;
  const lists = await Promise.all(blocked);
  expect(read.flatMap((t) => t.changes.map((c) => c.after?.['label']))).toEqual(['first']);
  // Without the lane the read queued behind the client reads, which wait for the lock until it goes.
  expect(readMs).toBeLessThan(250);
  expect(lists.every((list) => list.rows.length === 1)).toBe(true);
  // The lane's statements count too.
  expect(connector.statementCount() - before).toBeGreaterThanOrEqual(scenario.blockedReads + 1);
}
