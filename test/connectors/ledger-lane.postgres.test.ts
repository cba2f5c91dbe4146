// The ledger's own work on a partner's PostgreSQL (capture reads, acknowledgements, replica apply) runs on
// connections of its own: when every pooled connection is busy with clients' statements, a capture read
// still answers at once instead of queueing behind them.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connector } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithPostgres } from '../support/databases.ts';

describeWithPostgres('PostgreSQL connector: the ledger lane', (db) => {
  let connector: Connector;
  let outside: pg.Client;
  beforeAll(async () => {
    outside = new pg.Client({ connectionString: db.url });
    await outside.connect();
    await outside.query('create table lane_items (id int primary key, label text not null)');
    connector = await openConnector(db.url, { schemas: ['public'] });
    await connector.capture.install([{ schema: 'public', name: 'lane_items' }]);
  });
  afterAll(async () => {
    await connector?.close();
    await outside?.end();
  });

  it('answers a capture read while every pooled connection waits on a lock the clients queue behind', async () => {
    await outside.query("insert into lane_items values (1, 'first')");
    const before = connector.statementCount();
    await outside.query('begin');
    await outside.query('lock table lane_items in access exclusive mode');
    // Twelve client reads: ten hold the pool's ten connections waiting for the lock, two wait for a connection.
    const blocked = Array.from({ length: 12 }, () => connector.list({ table: { schema: 'public', name: 'lane_items' }, first: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The lock goes 1.5 s from now whatever happens, so a read that queues still ends (and fails below).
    const released = new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => outside.query('commit'));
    const started = performance.now();
    const read = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
    const readMs = performance.now() - started;
    await released;
    const lists = await Promise.all(blocked);
    expect(read.flatMap((t) => t.changes.map((c) => c.after?.['label']))).toEqual(['first']);
    // Before the lane the read queued behind the twelve reads, which wait for the lock until the commit above.
    expect(readMs).toBeLessThan(250);
    expect(lists.every((list) => list.rows.length === 1)).toBe(true);
    expect(connector.statementCount() - before).toBeGreaterThanOrEqual(13); // the lane's statements count too
  });
});
