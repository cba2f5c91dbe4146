// Shared body of the two fresh-database test files: create, use and drop a database on each engine,
// asserting that nothing from the other file (running concurrently) is visible.
import { afterAll, expect, it } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { mariadbSettings, postgresSettings } from '../support/services.ts';
import { describeWithMariadb, describeWithPglite, describeWithPostgres, withMariadbAdmin, withPostgresAdmin } from '../support/databases.ts';

export function exerciseIsolation(marker: string): void {
  let name = '';
  let mariadbName = '';
  describeWithPostgres(`fresh PostgreSQL database (${marker})`, (db) => {
    it('is empty, private to this file and writable', async () => {
      name = db.name;
      const client = new pg.Client(db.url);
      await client.connect();
      try {
        await client.query('create table marker (owner text primary key)');
        await client.query('insert into marker values ($1)', [marker]);
        await new Promise((resolve) => setTimeout(resolve, 200)); // let the twin write its own marker
        const { rows } = await client.query('select owner from marker');
        expect(rows).toEqual([{ owner: marker }]);
      } finally {
        await client.end();
      }
    });
  });
  // File-level hooks run after the describe block's own afterAll, which drops the database.
  afterAll(async () => {
    if (name === '') return;
    const { rowCount } = await withPostgresAdmin(postgresSettings(), (client) => client.query('select 1 from pg_database where datname = $1', [name]));
    expect(rowCount).toBe(0);
  });

  describeWithMariadb(`fresh MariaDB database (${marker})`, (db) => {
    it('is empty, private to this file and writable', async () => {
      mariadbName = db.name;
      const connection = await mysql.createConnection({ uri: db.url });
      try {
        await connection.query('create table marker (owner varchar(20) primary key)');
        await connection.query('insert into marker values (?)', [marker]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const [rows] = await connection.query('select owner from marker');
        expect(rows).toEqual([{ owner: marker }]);
      } finally {
        await connection.end();
      }
    });
  });
  afterAll(async () => {
    if (mariadbName === '') return;
    const [rows] = await withMariadbAdmin(mariadbSettings(), (connection) => connection.query('show databases like ?', [mariadbName]));
    expect(rows).toEqual([]);
  });

  describeWithPglite(`fresh PGlite database (${marker})`, (handle) => {
    it('is empty and writable', async () => {
      const { rows: before } = await handle.db.query("select count(*)::int as n from pg_tables where schemaname = 'public'");
      expect(before).toEqual([{ n: 0 }]);
      await handle.db.exec('create table marker (owner text primary key)');
      await handle.db.query('insert into marker values ($1)', [marker]);
      const { rows } = await handle.db.query('select owner from marker');
      expect(rows).toEqual([{ owner: marker }]);
    });
  });
}
