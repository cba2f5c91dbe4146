// Goal: the capture reader cuts the stream into source transactions exactly where the stored columns
// allow (a multi-row autocommit statement is one transaction; consecutive autocommit statements are
// separate; a rolled-back transaction leaves nothing; Entente's own back-to-back writes on one pooled
// connection stay separate), delivers one connection's back-to-back explicit transactions as one
// (the documented limit) in a way that re-reads identically, never splits a transaction across reads,
// and reads a transaction larger than changesMax whole.
// Method: a plain mysql2 connection plays the outside application on a captured table in this file's
// fresh database; results are read through the connector's capture API.
import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { describeWithMariadb } from '../support/databases.ts';
import { openMysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import type { CapturedTransaction, Connector } from '../../connectors/connector.ts';

describeWithMariadb('MySQL capture: transaction boundaries', (db) => {
  let connector: Connector;
  let outside: mysql.Connection;
  let position: string | null = null;
  const items = () => ({ schema: db.name, name: 'items' });
  const shape = (transactions: readonly CapturedTransaction[]) => transactions.map((transaction) => transaction.changes.map((change) => `${change.op}:${String(change.key['id'])}`));
  async function readNew(limits = { transactionsMax: 100, changesMax: 1000 }): Promise<readonly CapturedTransaction[]> {
    const transactions = await connector.capture.read(position, limits);
    if (transactions.length > 0) position = transactions.at(-1)?.position ?? position;
    return transactions;
  }

  beforeAll(async () => {
    outside = await mysql.createConnection({ ...db.settings, database: db.name });
    await outside.query('CREATE TABLE items (id INT NOT NULL PRIMARY KEY, v INT NOT NULL)');
    connector = await openMysqlConnector(db.url);
    await connector.capture.install([items()]);
  });
  afterAll(async () => {
    await connector?.close();
    await outside?.end();
  });

  it('separates autocommit statements and keeps a multi-row statement together', async () => {
    await outside.query('INSERT INTO items VALUES (1, 0), (2, 0), (3, 0)');
    await outside.query('UPDATE items SET v = v + 1 WHERE id IN (1, 3)');
    await outside.query('DELETE FROM items WHERE id = 2');
    await outside.query('START TRANSACTION');
    await outside.query('INSERT INTO items VALUES (9, 9)');
    await outside.query('ROLLBACK');
    expect(shape(await readNew())).toEqual([['insert:1', 'insert:2', 'insert:3'], ['update:1', 'update:3'], ['delete:2']]);
  });

  it("keeps Entente's own back-to-back writes separate, with their origins", async () => {
    await connector.write([{ op: 'insert', table: items(), values: { id: 10, v: 1 } }], { origin: 'a' });
    await connector.write([{ op: 'update', table: items(), key: { id: 10 }, values: { v: 2 } }], { origin: 'b' });
    await connector.write([{ op: 'update', table: items(), key: { id: 10 }, values: { v: 3 } }]);
    const transactions = await readNew();
    expect(shape(transactions)).toEqual([['insert:10'], ['update:10'], ['update:10']]);
    expect(transactions.map((transaction) => transaction.origin)).toEqual(['a', 'b', null]);
  });

  it('seals an explicit transaction before delivering it, so re-reads are identical', async () => {
    const start = position;
    await outside.query('START TRANSACTION');
    await outside.query('INSERT INTO items VALUES (20, 0)');
    await outside.query('INSERT INTO items VALUES (21, 0)');
    await outside.query('COMMIT');
    const first = await readNew();
    expect(shape(first)).toEqual([['insert:20', 'insert:21']]);
    // The same connection commits another explicit transaction right away: sealed apart from the first.
    await outside.query('START TRANSACTION');
    await outside.query('UPDATE items SET v = 5 WHERE id = 20');
    await outside.query('COMMIT');
    const second = await readNew();
    expect(shape(second)).toEqual([['update:20']]);
    expect(await connector.capture.read(start, { transactionsMax: 100, changesMax: 1000 })).toEqual([...first, ...second]);
  });

  it('delivers back-to-back explicit transactions of one connection, unsealed between them, as one — identically on every read', async () => {
    const start = position;
    for (const id of [30, 31]) {
      await outside.query('START TRANSACTION');
      await outside.query('INSERT INTO items VALUES (?, 0)', [id]);
      await outside.query('COMMIT');
    }
    const merged = await readNew();
    expect(shape(merged)).toEqual([['insert:30', 'insert:31']]);
    expect(await connector.capture.read(start, { transactionsMax: 100, changesMax: 1000 })).toEqual(merged);
  });

  it('does not block on a long-running outside transaction: the tail waits until it commits', async () => {
    const start = position;
    await outside.query('START TRANSACTION');
    await outside.query('INSERT INTO items VALUES (80, 0)');
    await outside.query('COMMIT');
    const longRunning = await mysql.createConnection({ ...db.settings, database: db.name });
    try {
      await longRunning.query('START TRANSACTION');
      await longRunning.query('INSERT INTO items VALUES (81, 0)'); // holds the commit-sequence lock
      const started = Date.now();
      expect(await readNew()).toEqual([]);
      expect(Date.now() - started).toBeLessThan(5_000);
      await longRunning.query('COMMIT');
    } finally {
      await longRunning.end();
    }
    expect(shape(await connector.capture.read(start, { transactionsMax: 100, changesMax: 1000 }))).toEqual([['insert:80'], ['insert:81']]);
    position = (await connector.capture.read(start, { transactionsMax: 100, changesMax: 1000 })).at(-1)?.position ?? position;
  });

  it('never splits a transaction across reads, and reads one larger than changesMax whole', async () => {
    await outside.query('INSERT INTO items VALUES (40, 0), (41, 0), (42, 0), (43, 0), (44, 0)');
    await outside.query('INSERT INTO items VALUES (50, 0), (51, 0)');
    await outside.query('INSERT INTO items VALUES (60, 0)');
    expect(shape(await readNew({ transactionsMax: 10, changesMax: 3 }))).toEqual([['insert:40', 'insert:41', 'insert:42', 'insert:43', 'insert:44']]);
    expect(shape(await readNew({ transactionsMax: 10, changesMax: 3 }))).toEqual([['insert:50', 'insert:51'], ['insert:60']]);
    await outside.query('INSERT INTO items VALUES (70, 0)');
    await outside.query('INSERT INTO items VALUES (71, 0)');
    expect(shape(await readNew({ transactionsMax: 1, changesMax: 100 }))).toEqual([['insert:70']]);
    expect(shape(await readNew({ transactionsMax: 1, changesMax: 100 }))).toEqual([['insert:71']]);
    expect(await readNew()).toEqual([]);
  });

  it('makes the installed set exactly the given tables', async () => {
    await outside.query('CREATE TABLE others (id INT NOT NULL PRIMARY KEY)');
    const others = { schema: db.name, name: 'others' };
    await connector.capture.install([items(), others]);
    expect(await connector.capture.installedTables()).toEqual([items(), others]);
    await connector.capture.install([items()]);
    expect(await connector.capture.installedTables()).toEqual([items()]);
    await outside.query('INSERT INTO others VALUES (1)');
    expect(await readNew()).toEqual([]);
  });
});
