// Goal: installing capture is an explicit, idempotent, removable CLI step (`entente install-capture`,
// `entente uninstall-capture`), and its errors are usage errors that say what to type. Method: drive
// the CLI in-process (main() with captured output) against a fresh PostgreSQL database and check the
// triggers in the catalog.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres } from '../support/databases.ts';
import { runCli } from '../support/cli.ts';

const run = runCli;

describeWithPostgres('entente install-capture / uninstall-capture', (db) => {
  let admin: pg.Client;
  const triggers = async (): Promise<readonly string[]> =>
    (await admin.query(`select tgrelid::regclass::text as name from pg_trigger where tgname = 'entente_capture' order by 1`)).rows.map((row: { name: string }) => row.name);

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query('create table orders (id int primary key, total numeric); create table notes (body text); create table items (id int primary key)');
  });
  afterAll(async () => {
    await admin?.end();
  });

  it('installs on the named tables, idempotently, and changes the set when run again', async () => {
    const first = await run('install-capture', '--db', db.url, '--table', 'public.orders');
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('public.orders');
    expect(await run('install-capture', '--db', db.url, '--table', 'public.orders')).toMatchObject({ code: 0 });
    expect(await triggers()).toEqual(['orders']);
    expect(await run('install-capture', '--db', db.url, '--all')).toMatchObject({ code: 0 });
    expect(await triggers()).toEqual(['items', 'orders']);
  });

  it('explains what to type when the tables are missing or malformed', async () => {
    const none = await run('install-capture', '--db', db.url);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--table schema.table');
    const malformed = await run('install-capture', '--db', db.url, '--table', 'orders');
    expect(malformed.code).toBe(2);
    const withoutKey = await run('install-capture', '--db', db.url, '--table', 'public.notes');
    expect(withoutKey.code).toBe(1);
    expect(withoutKey.stderr).toMatch(/no primary key/);
  });

  it('removes every trigger, table and function it installed', async () => {
    const removed = await run('uninstall-capture', '--db', db.url);
    expect(removed.code).toBe(0);
    expect(await triggers()).toEqual([]);
    const leftovers = await admin.query(`select count(*)::int as n from pg_namespace where nspname = 'entente'`);
    expect(leftovers.rows[0]?.n).toBe(0);
  });
});
