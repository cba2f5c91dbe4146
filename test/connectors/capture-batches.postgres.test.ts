// Goal: the trigger capture's batches are read through their stored membership, so a backlog is read
// in pages that each cost what they return, with the same stream a single read gives; and an install
// made before batches had a membership keeps its unacknowledged batches when `install` runs again.
// Method: plain pg clients write interleaved transactions (one held open across a cut, so txid order
// and stream order differ) into a fresh PostgreSQL database; the connector reads them in pages of a
// few transactions and all at once, before and after the membership table is dropped and rebuilt by
// `install`, and acknowledges everything at the end. Then a transaction the last cut's snapshot did not
// list (its id at the snapshot's xmax) must be delivered when it commits.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CapturedTransaction, Connector } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithPostgres } from '../support/databases.ts';

interface StreamEntry {
  readonly position: string;
  readonly ids: readonly unknown[];
}

const summary = (transactions: readonly CapturedTransaction[]): StreamEntry[] =>
  transactions.map((transaction) => ({ position: transaction.position, ids: transaction.changes.map((change) => change.after?.['id'] ?? change.before?.['id']) }));

async function readAll(connector: Connector, from: string | null, transactionsMax: number): Promise<{ entries: StreamEntry[]; reads: number }> {
  const entries: StreamEntry[] = [];
  let position = from;
  let reads = 0;
  for (;;) {
    const batch = await connector.capture.read(position, { transactionsMax, changesMax: 10_000 });
    reads += 1;
    if (batch.length === 0) return { entries, reads };
    entries.push(...summary(batch));
    position = batch.at(-1)!.position;
  }
}

describeWithPostgres('trigger capture batches (postgres)', (db) => {
  let writerA: pg.Client;
  let writerB: pg.Client;
  let connector: Connector;
  let nextId = 1;

  const insert = async (client: pg.Client, rows: number): Promise<void> => {
    for (let row = 0; row < rows; row += 1) await client.query('insert into items (id, label) values ($1, $2)', [nextId++, `item ${nextId}`]);
  };
  const count = async (table: string): Promise<number> => Number((await writerA.query(`select count(*)::int as n from entente.${table}`)).rows[0].n);

  beforeAll(async () => {
    writerA = new pg.Client({ connectionString: db.url });
    writerB = new pg.Client({ connectionString: db.url });
    await writerA.connect();
    await writerB.connect();
    await writerA.query('create table items (id int primary key, label text not null); create table notes (body text)');
    connector = await openConnector(db.url);
    await connector.introspect({ schemas: ['public'] });
    await connector.capture.install([{ schema: 'public', name: 'items' }]);
  });
  afterAll(async () => {
    await connector?.close();
    await writerA?.end();
    await writerB?.end();
  });

  it('reads a backlog in pages as the same stream one read gives, and keeps it across a rebuilt membership', async () => {
    // Batch 1: B's transaction opens first (smaller txid) and stays open while A commits 40 transactions.
    await writerB.query('begin');
    await insert(writerB, 2);
    for (let transaction = 0; transaction < 40; transaction += 1) {
      if (transaction % 3 === 0) {
        await writerA.query('begin');
        await insert(writerA, 3);
        await writerA.query('commit');
      } else {
        await insert(writerA, 1);
      }
    }
    const firstRead = await readAll(connector, null, 1_000);
    expect(firstRead.entries).toHaveLength(40);
    // Batch 2: B commits late, then a backlog of 200 more transactions, one of them rolled back.
    await insert(writerB, 1);
    await writerB.query('commit');
    for (let transaction = 0; transaction < 200; transaction += 1) await insert(transaction % 2 === 0 ? writerA : writerB, 1);
    await writerA.query('begin');
    await insert(writerA, 2);
    await writerA.query('rollback');

    const after = firstRead.entries.at(-1)!.position;
    const paged = await readAll(connector, after, 7);
    const whole = await readAll(connector, after, 10_000);
    expect(paged.entries).toEqual(whole.entries);
    expect(paged.entries).toHaveLength(201);
    expect(paged.reads).toBeGreaterThanOrEqual(29);
    // B's transaction comes first in batch 2 (its last change is before the backlog's), with all three rows.
    expect(paged.entries[0]!.ids).toHaveLength(3);
    expect(await count('capture_batch_transactions')).toBe(241);

    // An install from before the membership table: its batches are placed again from their snapshots.
    await connector.capture.acknowledge(firstRead.entries[19]!.position);
    const beforeUpgrade = await readAll(connector, null, 10_000);
    expect(beforeUpgrade.entries).toHaveLength(20 + 201);
    await writerA.query('drop table entente.capture_batch_transactions');
    await connector.capture.install([{ schema: 'public', name: 'items' }]);
    expect(await count('capture_batch_transactions')).toBe(221);
    expect((await readAll(connector, null, 5)).entries).toEqual(beforeUpgrade.entries);

    // Acknowledging the end prunes the outbox and the membership.
    await connector.capture.acknowledge(beforeUpgrade.entries.at(-1)!.position);
    expect(await count('capture_batch_transactions')).toBe(0);
    expect(await count('capture_outbox')).toBe(0);
    expect((await readAll(connector, null, 10)).entries).toEqual([]);
  }, 60_000);

  it('delivers a transaction the last cut saw neither as committed nor as in progress, once it commits', async () => {
    // A takes a transaction id first (on an uncaptured table), then B takes the next one and writes a
    // captured row, then A writes one and commits. The cut's snapshot then ends at B's id (its xmax is
    // the last completed id + 1) and does not list B as in progress, although B's row was written
    // before A's: only "at or above xmax" finds B after it commits.
    await writerA.query('begin');
    await writerA.query(`insert into notes (body) values ('takes an id')`);
    await writerB.query('begin');
    await insert(writerB, 1);
    await insert(writerA, 1);
    await writerA.query('commit');
    const before = await readAll(connector, null, 100);
    expect(before.entries.map((entry) => entry.ids.length)).toEqual([1]);
    await writerB.query('commit');
    const after = await readAll(connector, before.entries.at(-1)!.position, 100);
    expect(after.entries.map((entry) => entry.ids)).toEqual([[nextId - 2]]);
    await connector.capture.acknowledge(after.entries.at(-1)!.position);
  });
});
