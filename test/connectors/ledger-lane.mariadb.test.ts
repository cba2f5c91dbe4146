// The ledger's own work on a partner's MySQL/MariaDB (capture reads, acknowledgements, replica apply)
// runs on connections of its own: when every pooled connection is busy with clients' statements, a
// capture read still answers at once instead of queueing behind them.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connector } from '../../connectors/connector.ts';
import { openMysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import { describeWithMariadb } from '../support/databases.ts';

describeWithMariadb('MySQL connector: the ledger lane', (db) => {
  let connector: Connector;
  let outside: mysql.Connection;
  const items = (): { schema: string; name: string } => ({ schema: db.name, name: 'lane_items' });
  beforeAll(async () => {
    outside = await mysql.createConnection({ ...db.settings, database: db.name });
    await outside.query('CREATE TABLE lane_items (id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL)');
    connector = await openMysqlConnector(db.url, { connectionsMax: 8 });
    await connector.capture.install([items()]);
  });
  afterAll(async () => {
    await connector?.close();
    await outside?.end();
  });

  it('answers a capture read while every pooled connection waits on a lock the clients queue behind', async () => {
    await outside.query("INSERT INTO lane_items VALUES (1, 'first')");
    const before = connector.statementCount();
    // A WRITE table lock: every other session's read of lane_items waits for UNLOCK TABLES.
    await outside.query('LOCK TABLES lane_items WRITE');
    // Ten client reads: eight hold the pool's eight connections waiting for the lock, two wait for a connection.
    const blocked = Array.from({ length: 10 }, () => connector.list({ table: items(), first: 10 }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The lock goes 1.5 s from now whatever happens, so a read that queues still ends (and fails below).
    const released = new Promise((resolve) => setTimeout(resolve, 1_500)).then(() => outside.query('UNLOCK TABLES'));
    const started = performance.now();
    const read = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
    const readMs = performance.now() - started;
    await released;
    const lists = await Promise.all(blocked);
    expect(read.flatMap((t) => t.changes.map((c) => c.after?.['label']))).toEqual(['first']);
    // Without the lane the read queued behind the ten reads, which wait for the lock until the unlock above.
    expect(readMs).toBeLessThan(250);
    expect(lists.every((list) => list.rows.length === 1)).toBe(true);
    expect(connector.statementCount() - before).toBeGreaterThanOrEqual(11); // the lane's statements count too
  });
});
