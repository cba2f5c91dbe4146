// Logical-decoding capture beyond the contract suite: the CLI installs and removes it (publication,
// REPLICA IDENTITY FULL, slot — and puts each table's identity back); an update that leaves a large
// (TOASTed, not resent by the server) value unchanged still delivers the whole after-image; a role
// without the REPLICATION attribute gets an error naming the grant; PGlite refuses the option. Installing
// again (every gateway start does) while an application has a table open in a transaction takes no lock
// on it: REPLICA IDENTITY FULL, an ACCESS EXCLUSIVE lock, is set only when missing; an install that does
// need that lock gives up after its deadline, naming the table and the session, and changes nothing.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithLogicalPostgres } from '../support/databases.ts';
import { isEntenteError } from '../../common/errors.ts';
import { openConnector } from '../../connectors/index.ts';
import { runCli } from '../support/cli.ts';

const run = runCli;

describeWithLogicalPostgres('logical-decoding capture: install, TOAST, privileges', (db) => {
  let admin: pg.Client;
  const role = `entente_norepl_${process.pid}`;
  const identities = async (): Promise<Record<string, string>> =>
    Object.fromEntries((await admin.query(`select relname, relreplident::text as identity from pg_class where relname in ('docs', 'items') order by 1`)).rows.map((row: { relname: string; identity: string }) => [row.relname, row.identity]));
  const slots = async (): Promise<number> => Number((await admin.query('select count(*) as n from pg_replication_slots where database = current_database()')).rows[0]?.n);

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('create table docs (id int primary key, title text, body text); create table items (id int primary key, name text)');
  });
  afterAll(async () => {
    await admin?.query(`drop owned by ${role}`).catch(() => undefined);
    await admin?.query(`drop role if exists ${role}`).catch(() => undefined);
    await admin?.end();
  });

  it('installs through the CLI (publication, full replica identity, slot) and uninstalls back to what was there', async () => {
    const installed = await run('install-capture', '--db', db.url, '--capture', 'logical-decoding', '--table', 'public.docs');
    expect(installed).toMatchObject({ code: 0 });
    expect(installed.stdout).toContain('logical-decoding');
    expect(await identities()).toEqual({ docs: 'f', items: 'd' });
    expect(await slots()).toBe(1);
    const published = await admin.query(`select tablename from pg_publication_tables where pubname = 'entente_capture'`);
    expect(published.rows.map((row: { tablename: string }) => row.tablename)).toEqual(['docs']);
    // Run again with another set: the publication and identities follow.
    expect(await run('install-capture', '--db', db.url, '--capture', 'logical-decoding', '--table', 'public.items')).toMatchObject({ code: 0 });
    expect(await identities()).toEqual({ docs: 'd', items: 'f' });
    expect(await run('uninstall-capture', '--db', db.url, '--capture', 'logical-decoding')).toMatchObject({ code: 0 });
    expect(await identities()).toEqual({ docs: 'd', items: 'd' });
    expect(await slots()).toBe(0);
    expect((await admin.query(`select count(*)::int as n from pg_namespace where nspname = 'entente'`)).rows[0]?.n).toBe(0);
    expect((await admin.query(`select count(*)::int as n from pg_publication`)).rows[0]?.n).toBe(0);
  });

  it('installs again without waiting for an application that has the table open; a change it cannot lock gives up, naming the table', async () => {
    const application = new pg.Client({ connectionString: db.url });
    await application.connect();
    const connector = await openConnector(db.url, { schemas: ['public'], capture: 'logical-decoding' });
    try {
      await connector.capture.install([{ schema: 'public', name: 'docs' }]);
      await application.query('begin');
      await application.query('select count(*) from docs; select count(*) from items');
      await connector.capture.install([{ schema: 'public', name: 'docs' }]);
      const failure = await connector.capture.install([{ schema: 'public', name: 'docs' }, { schema: 'public', name: 'items' }], { lockWaitMs: 1_000 }).then(() => undefined, (error: unknown) => error);
      expect(failure).toMatchObject({ code: 'DB_CONFLICT' });
      expect((failure as Error).message).toContain('"public"."items"');
      expect((failure as Error).message).toContain(String((await application.query('select pg_backend_pid() as pid')).rows[0]?.pid));
      expect(await identities()).toEqual({ docs: 'f', items: 'd' });
      await application.query('commit');
      await connector.capture.install([{ schema: 'public', name: 'docs' }, { schema: 'public', name: 'items' }]);
      expect(await identities()).toEqual({ docs: 'f', items: 'f' });
      // Uninstalling restores the identities under the same discipline: it gives up beside the open
      // reader (the slot is already gone then), and running it again finishes.
      await application.query('begin');
      await application.query('select count(*) from docs');
      const stuck = await connector.capture.uninstall({ lockWaitMs: 1_000 }).then(() => undefined, (error: unknown) => error);
      expect(stuck).toMatchObject({ code: 'DB_CONFLICT' });
      expect((stuck as Error).message).toContain('"public"."docs"');
      expect(await identities()).toEqual({ docs: 'f', items: 'f' });
      await application.query('commit');
      await connector.capture.uninstall();
      expect(await identities()).toEqual({ docs: 'd', items: 'd' });
      expect(await slots()).toBe(0);
    } finally {
      await application.query('rollback').catch(() => undefined);
      await application.end();
      await connector.close();
    }
  });

  it('delivers the whole after-image when an update leaves a TOASTed value unchanged', async () => {
    const connector = await openConnector(db.url, { schemas: ['public'], capture: 'logical-decoding' });
    try {
      await connector.capture.install([{ schema: 'public', name: 'docs' }]);
      // Random text does not compress, so it is stored out of line (TOASTed).
      const body = Array.from({ length: 40_000 }, (_, index) => String.fromCharCode(97 + ((index * 7919) % 26))).join('') + Math.random().toString(36);
      await admin.query('insert into docs (id, title, body) values (1, $1, $2)', ['first', body]);
      await admin.query(`update docs set title = 'second' where id = 1`);
      const transactions = await connector.capture.read(null, { transactionsMax: 10, changesMax: 100 });
      expect(transactions.map((transaction) => transaction.changes[0]?.op)).toEqual(['insert', 'update']);
      const update = transactions[1]?.changes[0];
      expect(update?.after).toEqual({ id: 1, title: 'second', body });
      expect(update?.before).toEqual({ id: 1, title: 'first', body });
      expect(transactions[1]?.committedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      await connector.capture.uninstall();
    } finally {
      await connector.close();
    }
  });

  it('delivers what committed while the reader was idle (its socket paused), even if the server ended the stream meanwhile', async () => {
    const connector = await openConnector(db.url, { schemas: ['public'], capture: 'logical-decoding' });
    try {
      await connector.capture.install([{ schema: 'public', name: 'items' }]);
      expect(await connector.capture.read(null, { transactionsMax: 10, changesMax: 10 })).toEqual([]);
      // Idle: no read or wait in progress, so nothing reads the stream while these commit.
      for (let id = 1; id <= 300; id += 1) await admin.query('insert into items (id, name) values ($1, $2)', [id, `item ${id}`]);
      const first = await connector.capture.read(null, { transactionsMax: 1000, changesMax: 1000 });
      expect(first.map((transaction) => transaction.changes[0]?.after?.['id'])).toEqual(Array.from({ length: 300 }, (_, index) => index + 1));
      await connector.capture.acknowledge(first.at(-1)!.position);
      // While idle again, the server ends the stream (as when another reader takes the slot over): the
      // notice waits unread in the paused socket, and the next read must start a new stream, not return empty.
      await admin.query(`select pg_terminate_backend(active_pid) from pg_replication_slots where database = current_database() and active_pid is not null`);
      await admin.query(`insert into items (id, name) values (301, 'after the stream ended')`);
      const second = await connector.capture.read(first.at(-1)!.position, { transactionsMax: 10, changesMax: 10 });
      expect(second.map((transaction) => transaction.changes[0]?.after?.['name'])).toEqual(['after the stream ended']);
      await connector.capture.uninstall();
    } finally {
      await connector.close();
    }
  });

  it('names the REPLICATION attribute when the role lacks it', async () => {
    await admin.query(`create role ${role} login`);
    await admin.query(`grant create on database "${db.name}" to ${role}; alter table docs owner to ${role}`);
    const url = new URL(db.url);
    url.username = role;
    url.password = '';
    const connector = await openConnector(url.toString(), { schemas: ['public'], capture: 'logical-decoding' });
    try {
      const error = await connector.capture.install([{ schema: 'public', name: 'docs' }]).catch((caught: unknown) => caught);
      expect(isEntenteError(error, 'DB_PRIVILEGE_MISSING')).toBe(true);
      expect((error as Error).message).toContain('ALTER ROLE <role> REPLICATION');
    } finally {
      await connector.close();
    }
  });

  it('is refused on PGlite with a message that says what to use instead', async () => {
    const error = await openConnector('pglite:memory', { capture: 'logical-decoding' }).catch((caught: unknown) => caught);
    expect(isEntenteError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/PGlite has no replication connections/);
  });
});
