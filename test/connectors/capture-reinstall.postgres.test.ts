// Goal: a gateway restart (which runs capture `install` again) never waits for, blocks or deadlocks the
// partner's own applications. Found in CI: `install` took a SHARE lock on the outbox (CREATE INDEX IF
// NOT EXISTS locks the table before it finds the index) and then asked for the captured table's lock
// (CREATE OR REPLACE TRIGGER); a legacy transaction that had written that table and then fired its
// trigger into the outbox closed the cycle, and PostgreSQL aborted one of the two with "deadlock
// detected". Method: a plain pg client opens a transaction that holds a write lock on the captured
// table, `install` runs again, then the client inserts (its trigger writes the outbox) and commits.
// Install must finish while that transaction is open, both must succeed, and the row must be captured.
// A trigger that is not ours as installed (disabled, or a different definition) is still replaced, and
// a first install behind a long transaction gives up after its deadline with an error naming the table.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connector } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithPostgres } from '../support/databases.ts';

const orders = { schema: 'public', name: 'orders' };
const lines = { schema: 'public', name: 'lines' };

describeWithPostgres('trigger capture install while applications write (postgres)', (db) => {
  let legacy: pg.Client;
  let admin: pg.Client;
  let connector: Connector;

  beforeAll(async () => {
    legacy = new pg.Client({ connectionString: db.url });
    admin = new pg.Client({ connectionString: db.url });
    await legacy.connect();
    await admin.connect();
    await admin.query('create table orders (id int primary key, customer text not null); create table lines (id int primary key, sku text not null)');
    connector = await openConnector(db.url, { schemas: ['public'] });
    await connector.capture.install([orders]);
  });
  afterAll(async () => {
    await legacy?.query('rollback').catch(() => undefined);
    await connector?.close();
    await legacy?.end();
    await admin?.end();
  });

  it('installs again while a legacy transaction holds a write lock on a captured table, without waiting for or deadlocking it', async () => {
    await legacy.query('begin');
    // A write lock on orders, and no outbox row yet: the order in which the deadlock formed.
    await legacy.query('update orders set customer = customer where false');
    await connector.capture.install([orders]);
    await legacy.query(`insert into orders (id, customer) values (1, 'Legacy')`);
    await legacy.query('commit');
    const captured = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
    expect(captured.flatMap((transaction) => transaction.changes.map((change) => change.after?.['customer']))).toEqual(['Legacy']);
    await connector.capture.acknowledge(captured.at(-1)!.position);
  });

  it('replaces a capture trigger that was disabled or redefined', async () => {
    await admin.query('alter table orders disable trigger entente_capture');
    await connector.capture.install([orders]);
    await admin.query(`insert into orders (id, customer) values (2, 'After re-enable')`);
    await admin.query(`create or replace trigger entente_capture after insert on orders for each row execute function entente.capture_row('public', 'orders')`);
    await connector.capture.install([orders]);
    await admin.query(`update orders set customer = 'Updated' where id = 2`);
    const captured = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
    expect(captured.flatMap((transaction) => transaction.changes.map((change) => `${change.op}:${String(change.after?.['customer'])}`))).toEqual(['insert:After re-enable', 'update:Updated']);
    await connector.capture.acknowledge(captured.at(-1)!.position);
  });

  it('gives up installing on a table a transaction keeps locked, naming the table, and leaves capture as it was', async () => {
    await legacy.query('begin');
    await legacy.query(`insert into lines (id, sku) values (1, 'B-1')`);
    const started = performance.now();
    const failure = await connector.capture.install([orders, lines], { lockWaitMs: 1_500 }).then(() => undefined, (error: unknown) => error);
    const waitedMs = performance.now() - started;
    await legacy.query('commit');
    expect(failure).toMatchObject({ code: 'DB_CONFLICT' });
    expect(String((failure as Error).message)).toContain('"public"."lines"');
    expect(waitedMs).toBeGreaterThanOrEqual(1_400);
    expect(await connector.capture.installedTables()).toEqual([orders]);
    // Once the transaction is gone the same install goes through.
    await connector.capture.install([orders, lines]);
    expect(await connector.capture.installedTables()).toEqual([lines, orders]);
  });

  const captureObjects = async (): Promise<{ triggers: number; outbox: boolean }> => {
    const { rows } = await admin.query<{ triggers: string; outbox: boolean }>(
      `select (select count(*) from pg_trigger where tgname = 'entente_capture') as triggers, to_regclass('entente.capture_outbox') is not null as outbox`,
    );
    return { triggers: Number(rows[0]!.triggers), outbox: rows[0]!.outbox };
  };

  it('gives up uninstalling while a transaction keeps a captured table open, naming it, and leaves capture whole', async () => {
    await legacy.query('begin');
    await legacy.query('select count(*) from orders');
    const failure = await connector.capture.uninstall({ lockWaitMs: 1_500 }).then(() => undefined, (error: unknown) => error);
    await legacy.query('commit');
    expect(failure).toMatchObject({ code: 'DB_CONFLICT' });
    expect(String((failure as Error).message)).toContain('"public"."orders"');
    expect(await captureObjects()).toEqual({ triggers: 2, outbox: true });
    expect(await connector.capture.installedTables()).toEqual([lines, orders]);
  });

  it('uninstalls once a long transaction ends, while the table\'s other users go on meanwhile instead of queuing behind it', async () => {
    await legacy.query('begin');
    await legacy.query('select count(*) from orders');
    const uninstalling = connector.capture.uninstall({ lockWaitMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // A statement queued behind a DROP TRIGGER that waits for the open transaction would wait as long as it.
    const started = performance.now();
    await admin.query(`insert into orders (id, customer) values (20, 'Meanwhile')`);
    expect(performance.now() - started).toBeLessThan(1_000);
    await legacy.query('commit');
    await uninstalling;
    expect(await captureObjects()).toEqual({ triggers: 0, outbox: false });
  });
});
