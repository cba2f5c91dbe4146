// The ledger's own work on a partner's MySQL/MariaDB (capture reads, acknowledgements, replica apply)
// runs on connections of its own: when every pooled connection is busy with clients' statements, a
// capture read still answers at once instead of queueing behind them.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, it } from 'vitest';
import type { Connector } from '../../connectors/connector.ts';
import { openMysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import { describeWithMariadb } from '../support/databases.ts';
import { expectCaptureReadBesideBlockedClients } from './ledger-lane-scenario.ts';

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
    // Ten client reads: eight hold the pool's eight connections waiting for the lock, two wait for a connection.
    await expectCaptureReadBesideBlockedClients({
      connector,
      table: items(),
      blockedReads: 10,
      // A WRITE table lock: every other session's read of lane_items waits for UNLOCK TABLES.
      lock: () => outside.query('LOCK TABLES lane_items WRITE'),
      unlock: () => outside.query('UNLOCK TABLES'),
    });
  });
});
