// The ledger's own work on a partner's PostgreSQL (capture reads, acknowledgements, replica apply) runs on
// connections of its own: when every pooled connection is busy with clients' statements, a capture read
// still answers at once instead of queueing behind them.
import pg from 'pg';
import { afterAll, beforeAll, it } from 'vitest';
import type { Connector } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithPostgres } from '../support/databases.ts';
import { expectCaptureReadBesideBlockedClients } from './ledger-lane-scenario.ts';

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
    // Twelve client reads: ten hold the pool's ten connections waiting for the lock, two wait for a connection.
    await expectCaptureReadBesideBlockedClients({
      connector,
      table: { schema: 'public', name: 'lane_items' },
      blockedReads: 12,
      lock: async () => {
        await outside.query('begin');
        await outside.query('lock table lane_items in access exclusive mode');
      },
      unlock: () => outside.query('commit'),
    });
  });
});
