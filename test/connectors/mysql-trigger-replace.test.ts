// Goal: on MySQL, which has no CREATE OR REPLACE TRIGGER, a capture trigger that must change (its
// table's columns changed) is replaced by DROP then CREATE without missing a change made in between,
// and without a long metadata-lock wait that would queue the table's statements behind it. There is no
// MySQL server here, so the statements the MySQL path runs (`runDdlWithShortLockWaits`: LOCK TABLES …
// WRITE, DROP, CREATE, UNLOCK TABLES, with lock_wait_timeout = 1) are run against MariaDB, which accepts
// them the same way. Method: one session inserts rows as fast as it can while another replaces the
// table's trigger 30 times; every committed row must have been logged by a trigger. (Run with
// `lockTable: false`, the plain DROP then CREATE, the same test misses rows.) Then a transaction that
// keeps the table open makes the replacement give up after its deadline, naming the table, leaving the
// trigger as it was and the session's lock settings restored.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runDdlWithShortLockWaits } from '../../connectors/mysql/mysql-lock-waits.ts';
import type { SessionRun } from '../../connectors/mysql/mysql-writer.ts';
import { describeWithMariadb } from '../support/databases.ts';

describeWithMariadb('MySQL trigger replacement under the table lock', (db) => {
  let ddl: mysql.Connection;
  let writer: mysql.Connection;
  const target = (): string => `\`${db.name}\`.\`orders\``;
  const triggerStatements = (mark: string): string[] => [
    `DROP TRIGGER IF EXISTS \`${db.name}\`.\`orders_logged\``,
    `CREATE TRIGGER \`orders_logged\` AFTER INSERT ON \`orders\` FOR EACH ROW INSERT INTO \`order_log\` (order_id, mark) VALUES (NEW.id, '${mark}')`,
  ];
  /** Like the connector's ledger lane: one transaction on one connection, rolled back if `work` throws. */
  const session = async (work: (run: SessionRun) => Promise<void>): Promise<void> => {
    const run: SessionRun = async (statement) => {
      await ddl.query(statement.text, statement.params as unknown[]);
      return { rows: [], affectedRows: 0, insertId: 0 };
    };
    await ddl.query('START TRANSACTION');
    try {
      await work(run);
      await ddl.query('COMMIT');
    } catch (error) {
      await ddl.query('ROLLBACK');
      throw error;
    }
  };
  const triggerBody = async (): Promise<string> => {
    const [rows] = await writer.query<mysql.RowDataPacket[]>('SELECT ACTION_STATEMENT AS body FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?', [db.name, 'orders_logged']);
    return String(rows[0]?.['body']);
  };

  beforeAll(async () => {
    ddl = await mysql.createConnection({ ...db.settings, database: db.name });
    writer = await mysql.createConnection({ ...db.settings, database: db.name });
    await ddl.query('CREATE TABLE orders (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB');
    await ddl.query('CREATE TABLE order_log (seq INT NOT NULL AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, mark CHAR(1) NOT NULL) ENGINE=InnoDB');
    for (const statement of triggerStatements('a')) await ddl.query(statement);
  });
  afterAll(async () => {
    await writer?.query('ROLLBACK').catch(() => undefined);
    await ddl?.end();
    await writer?.end();
  });

  it('replaces a trigger 30 times beside a busy writer, and every committed row is logged', async () => {
    let writing = true;
    let inserted = 0;
    const writes = (async () => {
      while (writing) await writer.query('INSERT INTO orders (id) VALUES (?)', [++inserted]);
    })();
    for (let i = 0; i < 30; i++) {
      await runDdlWithShortLockWaits(session, 10_000, 'Replacing a trigger', target(), triggerStatements(i % 2 === 0 ? 'b' : 'a'), { lockTable: true });
      // Give the writer room between replacements, so that each replacement meets inserts in flight.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    writing = false;
    await writes;
    const [[counts]] = await writer.query<mysql.RowDataPacket[]>(
      'SELECT (SELECT COUNT(*) FROM orders) AS rows_written, (SELECT COUNT(DISTINCT order_id) FROM order_log) AS rows_logged, (SELECT COUNT(*) FROM order_log) AS log_entries, (SELECT COUNT(DISTINCT mark) FROM order_log) AS marks',
    );
    expect(Number(counts!['rows_written'])).toBeGreaterThan(100);
    expect({ logged: Number(counts!['rows_logged']), entries: Number(counts!['log_entries']) }).toEqual({ logged: Number(counts!['rows_written']), entries: Number(counts!['rows_written']) });
    // Both trigger versions logged rows: the replacements happened while the writer wrote.
    expect(Number(counts!['marks'])).toBe(2);
  });

  it('gives up after its deadline while a transaction keeps the table open, naming the table and leaving the trigger and the session as they were', async () => {
    const before = await triggerBody();
    await writer.query('START TRANSACTION');
    await writer.query('SELECT COUNT(*) FROM orders');
    const started = performance.now();
    const failure = await runDdlWithShortLockWaits(session, 1_500, 'Replacing a trigger', target(), triggerStatements('c'), { lockTable: true }).then(() => null, (error: unknown) => error);
    const waitedMs = performance.now() - started;
    await writer.query('COMMIT');
    expect(failure).toMatchObject({ code: 'DB_CONFLICT' });
    expect((failure as Error).message).toContain('orders');
    // Each attempt waits at most a second for the lock: the deadline plus at most one attempt.
    expect(waitedMs).toBeGreaterThanOrEqual(1_500);
    expect(waitedMs).toBeLessThan(3_500);
    expect(await triggerBody()).toEqual(before);
    const [[settings]] = await ddl.query<mysql.RowDataPacket[]>('SELECT @@SESSION.lock_wait_timeout AS wait');
    expect(Number(settings!['wait'])).toBe(86_400);
    // No table lock was left on the DDL session: another session writes the table at once.
    await writer.query('INSERT INTO orders (id) VALUES (-1)');
    await runDdlWithShortLockWaits(session, 1_500, 'Replacing a trigger', target(), triggerStatements('c'), { lockTable: true });
    expect(await triggerBody()).toContain(`'c'`);
  });
});
