// Goal (issue #9, acceptance 2): trigger capture on MariaDB delivers exactly the committed changes, in
// commit order, none missing or duplicated, while 3 outside writers run concurrently with rollbacks,
// across a connector restart mid-stream and a simulated server restart.
// Method: three plain mysql2 connections run random transactions (insert/update/delete on a shared key
// range, so they conflict; ~15% rolled back; some autocommit statements). Every transaction also
// inserts a marker row into tx_log, so the set of committed transactions is what tx_log holds — even
// for a COMMIT whose reply was lost to a KILL. A reader plays the ledger: it appends what it reads,
// skips positions it already has (exactly-once by position) and acknowledges only some of the time,
// so restarts re-deliver. The "server restart" is simulated by KILLing every connection to this test
// database (other test files share the MariaDB server, so it is not actually restarted). Checks: the
// set of captured markers equals tx_log; each writer's markers arrive in its own commit order; replaying
// the stream, every before-image equals the previous after-image of that key (so conflicting writes
// arrive in commit order) and the result equals the final table; re-delivered transactions are
// identical to the first delivery; Entente's own write carries its origin.
import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { describeWithMariadb, withMariadbAdmin } from '../support/databases.ts';
import { openMysqlConnector } from '../../connectors/mysql/mysql-connector.ts';
import type { CapturedTransaction, Connector, Row } from '../../connectors/connector.ts';

const writersCount = 3;
const transactionsPerWriter = 90;
const keyRange = 12;

interface Ledger {
  readonly transactions: CapturedTransaction[];
  lastPosition: string | null;
  redelivered: number;
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describeWithMariadb('MySQL trigger capture under concurrent outside writers', (db) => {
  let connector: Connector;
  beforeAll(async () => {
    await withMariadbAdmin(db.settings, async (admin) => {
      await admin.query(`CREATE TABLE \`${db.name}\`.items (id INT NOT NULL PRIMARY KEY, writer TINYINT NOT NULL, v INT NOT NULL, note VARCHAR(60) NULL)`);
      await admin.query(`CREATE TABLE \`${db.name}\`.tx_log (uid VARCHAR(40) NOT NULL PRIMARY KEY, writer TINYINT NOT NULL, n INT NOT NULL)`);
    });
    connector = await openMysqlConnector(db.url, { pollIntervalMs: 10 });
    await connector.capture.install([{ schema: db.name, name: 'items' }, { schema: db.name, name: 'tx_log' }]);
  });
  afterAll(async () => {
    await connector?.close();
  });

  async function readInto(target: Connector, ledger: Ledger, acknowledge: boolean): Promise<number> {
    const batch = await target.capture.read(ledger.lastPosition === null ? await target.capture.acknowledgedPosition() : ledger.lastPosition, { transactionsMax: 7, changesMax: 25 });
    let added = 0;
    for (const transaction of batch) {
      if (ledger.lastPosition !== null && target.capture.comparePositions(transaction.position, ledger.lastPosition) <= 0) {
        // Re-delivered after a restart: must be identical to what the ledger already holds.
        const earlier = ledger.transactions.find((candidate) => candidate.position === transaction.position);
        expect(earlier).toEqual(transaction);
        ledger.redelivered += 1;
        continue;
      }
      ledger.transactions.push(transaction);
      ledger.lastPosition = transaction.position;
      added += 1;
    }
    if (acknowledge && ledger.lastPosition !== null) await target.capture.acknowledge(ledger.lastPosition);
    return added;
  }

  async function writer(index: number, stop: { killed: boolean }): Promise<{ rolledBack: number; deadlocks: number; reconnects: number }> {
    const next = random(1000 + index);
    const stats = { rolledBack: 0, deadlocks: 0, reconnects: 0 };
    const connect = async () => {
      const connection = await mysql.createConnection({ ...db.settings, database: db.name });
      await connection.query('SET SESSION innodb_lock_wait_timeout = 10');
      return connection;
    };
    let connection = await connect();
    for (let n = 0; n < transactionsPerWriter; n += 1) {
      const uid = `w${index}-${n}`;
      try {
        if (next() < 0.15) {
          await connection.query('INSERT INTO tx_log (uid, writer, n) VALUES (?, ?, ?)', [uid, index, n]); // autocommit statement
          continue;
        }
        await connection.query('START TRANSACTION');
        const operations = 1 + Math.floor(next() * 3);
        for (let op = 0; op < operations; op += 1) {
          const id = 1 + Math.floor(next() * keyRange);
          const kind = next();
          if (kind < 0.4) await connection.query('INSERT INTO items (id, writer, v, note) VALUES (?, ?, 0, ?) ON DUPLICATE KEY UPDATE v = v + 100, note = VALUES(note)', [id, index, uid]);
          else if (kind < 0.8) await connection.query('UPDATE items SET v = v + 1, note = ? WHERE id = ?', [uid, id]);
          else await connection.query('DELETE FROM items WHERE id = ?', [id]);
        }
        await connection.query('INSERT INTO tx_log (uid, writer, n) VALUES (?, ?, ?)', [uid, index, n]);
        if (next() < 0.15) {
          await connection.query('ROLLBACK');
          stats.rolledBack += 1;
        } else await connection.query('COMMIT');
      } catch (error) {
        const errno = (error as { errno?: number }).errno;
        if (errno === 1213 || errno === 1205) {
          stats.deadlocks += 1;
          await connection.query('ROLLBACK').catch(() => undefined);
          continue;
        }
        if (!stop.killed) throw error;
        // Killed by the simulated server restart: whether the last COMMIT landed is decided by tx_log.
        stats.reconnects += 1;
        await connection.end().catch(() => undefined);
        connection = await connect();
      }
    }
    await connection.end();
    return stats;
  }

  it('captures exactly the committed changes in commit order across connector and server restarts', { timeout: 120_000 }, async () => {
    const ledger: Ledger = { transactions: [], lastPosition: null, redelivered: 0 };
    const stop = { killed: false };
    const writers = Array.from({ length: writersCount }, (_, index) => writer(index, stop));
    let done = false;
    const allWriters = Promise.all(writers).finally(() => {
      done = true;
    });

    // Phase 1: read with the first connector, acknowledging only every other batch.
    let reads = 0;
    while (ledger.transactions.length < 60 && !done) {
      reads += 1;
      await readInto(connector, ledger, reads % 2 === 0);
      await connector.capture.waitForChanges(200);
    }
    // Entente's own write, with an origin, interleaved with the outside writers.
    const [own] = await connector.write([{ op: 'upsert', table: { schema: db.name, name: 'tx_log' }, values: { uid: 'entente-1', writer: 9, n: 0 } }], { origin: 'mutation-42' });
    expect(own?.row['uid']).toBe('entente-1');

    // Connector restart mid-stream: the new one starts from the acknowledged position (re-delivery).
    await readInto(connector, ledger, false);
    await connector.close();
    connector = await openMysqlConnector(db.url, { pollIntervalMs: 10 });
    const resumeFrom = await connector.capture.acknowledgedPosition();
    ledger.lastPosition = resumeFrom === null ? null : ledger.lastPosition;
    const afterRestart: Ledger = { transactions: ledger.transactions, lastPosition: ledger.lastPosition, redelivered: 0 };
    // Re-read from the acknowledged position: everything after it that the ledger has comes again, identical.
    const replay = await connector.capture.read(resumeFrom, { transactionsMax: 1000, changesMax: 5000 });
    for (const transaction of replay) {
      const earlier = ledger.transactions.find((candidate) => candidate.position === transaction.position);
      if (earlier !== undefined) {
        expect(transaction).toEqual(earlier);
        afterRestart.redelivered += 1;
      }
    }

    // Phase 2: keep reading; when the ledger has grown, KILL every connection to the database.
    while (ledger.transactions.length < 140 && !done) {
      try {
        await readInto(connector, ledger, true);
      } catch {
        // reads may fail while connections are being killed; the next round retries
      }
      await connector.capture.waitForChanges(200).catch(() => undefined);
    }
    stop.killed = true;
    const killed = await withMariadbAdmin(db.settings, async (admin) => {
      const [rows] = await admin.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [db.name]);
      for (const row of rows as { id: number }[]) await admin.query(`KILL CONNECTION ${Number(row.id)}`).catch(() => undefined);
      return (rows as unknown[]).length;
    });

    // Phase 3: drain until the writers are done and nothing is left.
    const stats = await allWriters;
    for (let idle = 0; idle < 3; ) {
      const added = await readInto(connector, ledger, true).catch(() => 0);
      idle = added === 0 ? idle + 1 : 0;
    }

    const [committedRows, finalItems] = await withMariadbAdmin(db.settings, async (admin) => {
      const [log] = await admin.query(`SELECT uid, writer, n FROM \`${db.name}\`.tx_log ORDER BY uid`);
      const [items] = await admin.query(`SELECT id, writer, v, note FROM \`${db.name}\`.items ORDER BY id`);
      return [log as { uid: string; writer: number; n: number }[], items as Row[]];
    });

    const changes = ledger.transactions.flatMap((transaction) => transaction.changes);
    const markers = changes.filter((change) => change.table.name === 'tx_log').map((change) => String(change.after?.['uid']));
    // Nothing missing, nothing duplicated.
    expect(new Set(markers).size).toBe(markers.length);
    expect([...markers].sort()).toEqual(committedRows.map((row) => row.uid).sort());
    // Each writer's transactions in its own commit order.
    for (let index = 0; index < writersCount; index += 1) {
      const own = markers.filter((uid) => uid.startsWith(`w${index}-`)).map((uid) => Number(uid.split('-')[1]));
      expect(own).toEqual([...own].sort((a, b) => a - b));
    }
    // Every captured transaction holds whole source transactions: it ends with a marker.
    for (const transaction of ledger.transactions) expect(transaction.changes.at(-1)?.table.name).toBe('tx_log');
    const merged = ledger.transactions.filter((transaction) => transaction.changes.filter((change) => change.table.name === 'tx_log').length > 1).length;
    // Entente's own write carries its origin; outside writers' transactions carry none.
    const ownTransaction = ledger.transactions.find((transaction) => transaction.changes.some((change) => change.after?.['uid'] === 'entente-1'));
    expect(ownTransaction?.origin).toBe('mutation-42');
    expect(ownTransaction?.changes).toHaveLength(1);
    expect(ledger.transactions.filter((transaction) => transaction.origin !== null)).toHaveLength(1);
    // Replay in order: before-images chain, and the result is the final table.
    const state = new Map<string, Row>();
    for (const change of changes.filter((candidate) => candidate.table.name === 'items')) {
      const key = String(change.key['id']);
      if (change.op === 'insert') expect(state.has(key)).toBe(false);
      else expect(change.before).toEqual(state.get(key));
      if (change.after === null) state.delete(key);
      else state.set(key, change.after);
    }
    expect([...state.values()].sort((a, b) => Number(a['id']) - Number(b['id']))).toEqual(finalItems);
    // Positions strictly increase.
    const positions = ledger.transactions.map((transaction) => transaction.position);
    expect([...positions].sort()).toEqual(positions);
    expect(new Set(positions).size).toBe(positions.length);

    console.info(
      `capture test: ${ledger.transactions.length} transactions, ${changes.length} changes, ${committedRows.length} committed markers; ` +
        `rolled back ${stats.reduce((sum, entry) => sum + entry.rolledBack, 0)}, deadlocks ${stats.reduce((sum, entry) => sum + entry.deadlocks, 0)}, ` +
        `writer reconnects ${stats.reduce((sum, entry) => sum + entry.reconnects, 0)}, connections killed ${killed}, ` +
        `re-delivered after connector restart ${afterRestart.redelivered + ledger.redelivered}, merged back-to-back transactions ${merged}`,
    );
    expect(killed).toBeGreaterThan(0);
    expect(afterRestart.redelivered + ledger.redelivered).toBeGreaterThan(0);
  });
});
