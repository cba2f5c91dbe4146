// Goal: installing capture again (every gateway start does) beside the partner's applications neither
// waits for nor blocks them. Creating a trigger takes an exclusive metadata lock on its table, which
// waits for every open transaction that has used the table (MariaDB's default lock_wait_timeout is a
// day) and queues every later statement on the table behind it. Method: an application connection
// opens a transaction that reads the captured table and keeps it open while `install` runs again; the
// install must finish, the triggers must be the same objects (not re-created), and the application's
// later insert must be captured. When the table's columns change, the next install does replace the
// triggers, so the new column is in the captured images; and a replacement that cannot get the lock
// waits without blocking anyone (NOWAIT, retried) and gives up after its deadline, naming the table.
// The replica's new columns (ensureTables, at every start and on a schema change) are added the same way.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connector } from '../../connectors/connector.ts';
import { openMysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import { describeWithMariadb } from '../support/databases.ts';

describeWithMariadb('MySQL trigger capture installed again beside open transactions', (db) => {
  let connector: Connector;
  let application: mysql.Connection;
  let orders: { readonly schema: string; readonly name: string };
  const triggers = async (): Promise<string[]> => {
    const [rows] = await application.query<mysql.RowDataPacket[]>(
      `SELECT CONCAT(TRIGGER_NAME, ' ', DATE_FORMAT(CREATED, '%Y-%m-%d %H:%i:%s.%f')) AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY 1`,
      [db.name],
    );
    return rows.map((row) => String(row['t']));
  };

  beforeAll(async () => {
    orders = { schema: db.name, name: 'orders' };
    application = await mysql.createConnection({ ...db.settings, database: db.name });
    await application.query('CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer VARCHAR(40) NOT NULL)');
    connector = await openMysqlConnector(db.url);
    await connector.capture.install([orders]);
  });
  afterAll(async () => {
    await application?.query('ROLLBACK').catch(() => undefined);
    await connector?.close();
    await application?.end();
  });

  it('installs again while an application transaction has the table open, without waiting for it or re-creating its triggers', async () => {
    const before = await triggers();
    expect(before).toHaveLength(3);
    await application.query('START TRANSACTION');
    await application.query('SELECT COUNT(*) FROM orders');
    await connector.capture.install([orders]);
    await application.query(`INSERT INTO orders (id, customer) VALUES (1, 'Legacy')`);
    await application.query('COMMIT');
    expect(await triggers()).toEqual(before);
    const captured = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
    expect(captured.flatMap((transaction) => transaction.changes.map((change) => change.after?.['customer']))).toEqual(['Legacy']);
    await connector.capture.acknowledge(captured.at(-1)!.position);
  });

  it('replaces the triggers when the table gains a column, so its images carry it', async () => {
    await application.query('ALTER TABLE orders ADD COLUMN note VARCHAR(40) NULL');
    const before = await triggers();
    await connector.capture.install([orders]);
    expect(await triggers()).not.toEqual(before);
    await application.query(`INSERT INTO orders (id, customer, note) VALUES (2, 'Noted', 'fragile')`);
    const position = await connector.capture.acknowledgedPosition();
    const captured = await connector.capture.read(position, { transactionsMax: 10, changesMax: 100 });
    expect(captured.flatMap((transaction) => transaction.changes.map((change) => change.after))).toEqual([{ id: 2, customer: 'Noted', note: 'fragile' }]);
  });

  /**
   * Runs `change` (given a 1.5 s lock wait) while the application keeps a transaction open on orders:
   * another session's insert meanwhile must not queue behind it, and it must give up naming the table.
   * The application's transaction is still open on return.
   */
  async function givesUpBesideOpenTransaction(change: (lockWaitMs: number) => Promise<void>, meanwhileId: number): Promise<void> {
    const other = await mysql.createConnection({ ...db.settings, database: db.name });
    try {
      await application.query('START TRANSACTION');
      await application.query('SELECT COUNT(*) FROM orders');
      const changing = change(1_500).then(() => undefined, (error: unknown) => error);
      // While the change retries, other sessions use the table as usual (no statement queues behind it).
      const started = performance.now();
      await other.query('INSERT INTO orders (id, customer) VALUES (?, ?)', [meanwhileId, 'Meanwhile']);
      expect(performance.now() - started).toBeLessThan(500);
      const failure = await changing;
      expect(failure).toMatchObject({ code: 'DB_CONFLICT' });
      expect((failure as Error).message).toContain('orders');
    } finally {
      await other.end();
    }
  }

  it('gives up replacing a trigger while a transaction keeps the table open, naming the table, without stalling the table meanwhile', async () => {
    await application.query('ALTER TABLE orders ADD COLUMN weight INT NULL');
    const before = await triggers();
    await givesUpBesideOpenTransaction((lockWaitMs) => connector.capture.install([orders], { lockWaitMs }), 3);
    expect(await triggers()).toEqual(before);
    await application.query('COMMIT');
    await connector.capture.install([orders]);
    expect(await triggers()).not.toEqual(before);
  });

  it('adds a replica column without waiting for, or queuing behind, an application reading the replica', async () => {
    const parts = { name: 'bolt__parts', primaryKey: ['sku'], columns: [{ name: 'sku', type: { kind: 'scalar', scalar: 'String' }, nullable: false }] } as const;
    await connector.replica.ensureTables([parts]);
    const table = connector.replica.tableRef('bolt__parts').name;
    const other = await mysql.createConnection({ ...db.settings, database: db.name });
    try {
      await application.query('START TRANSACTION');
      await application.query(`SELECT COUNT(*) FROM \`${table}\``);
      await connector.replica.ensureTables([parts]);
      const withStock = { ...parts, columns: [...parts.columns, { name: 'stock', type: { kind: 'scalar', scalar: 'Int' }, nullable: true }] } as const;
      const adding = connector.replica.ensureTables([withStock], { lockWaitMs: 1_500 }).then(() => undefined, (error: unknown) => error);
      const started = performance.now();
      await other.query(`SELECT COUNT(*) FROM \`${table}\``);
      expect(performance.now() - started).toBeLessThan(500);
      const failure = await adding;
      expect(failure).toMatchObject({ code: 'DB_CONFLICT' });
      expect((failure as Error).message).toContain(table);
      await application.query('COMMIT');
      await connector.replica.ensureTables([withStock]);
      const [columns] = await other.query<mysql.RowDataPacket[]>('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [db.name, table]);
      expect(columns.map((row) => row['c'])).toEqual(['sku', 'stock']);
    } finally {
      await other.end();
    }
  });

  it('uninstalls without queuing the table behind an open transaction: gives up after its deadline, then succeeds once it ends', async () => {
    const outboxExists = async (): Promise<boolean> => {
      const [rows] = await application.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [db.name, 'entente_outbox']);
      return Number(rows[0]!['n']) === 1;
    };
    const before = await triggers();
    await givesUpBesideOpenTransaction((lockWaitMs) => connector.capture.uninstall({ lockWaitMs }), 4);
    expect(await triggers()).toEqual(before);
    expect(await outboxExists()).toBe(true);
    await application.query('COMMIT');
    await connector.capture.uninstall();
    expect(await triggers()).toEqual([]);
    expect(await outboxExists()).toBe(false);
  });
});
