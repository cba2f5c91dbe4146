// New PGlite databases start from a cached copy of an empty one (connectors/postgres/pglite-open.ts).
// What must hold: every database, however opened, runs with Entente's settings; each database is still a separate, fresh one; an existing database opens as it is; a
// damaged template costs time, never a database; a cache directory others could write is not used.
// Every test uses its own cache directory (none touches the user's), and each initdb here costs seconds,
// so the tests share the work where they can.
import { chmod, copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGLITE_SHARED_BUFFERS, openPglite, templatePath } from '../../connectors/postgres/pglite-open.ts';

describe('PGlite databases from the cached template', () => {
  let folder: string;
  let cache: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'entente-pglite-template-'));
    cache = join(folder, 'cache');
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('makes one database by initdb and keeps it, private to this user; the others, opened at the same time, start from it, each its own', async () => {
    const opened = await Promise.all([null, join(folder, 'disk'), null].map((directory) => openPglite(directory, { cacheDirectory: cache })));
    try {
      expect(opened.map((one) => one.origin).sort()).toEqual(['initdb', 'template', 'template']);
      expect((await stat(cache)).mode & 0o777).toBe(0o700);
      expect((await stat(templatePath(cache))).mode & 0o777).toBe(0o600);
      const [first, onDisk, inMemory] = opened.map((one) => one.db) as [PGlite, PGlite, PGlite];
      for (const db of [first, onDisk, inMemory]) expect((await db.query('show shared_buffers')).rows).toEqual([{ shared_buffers: PGLITE_SHARED_BUFFERS }]);
      await first.exec('create table only_in_first (id int primary key); insert into only_in_first values (1)');
      for (const db of [onDisk, inMemory]) {
        const tables = await db.query<{ name: string }>("select tablename as name from pg_tables where schemaname = 'public'");
        expect(tables.rows).toEqual([]);
        const version = await db.query<{ version: string }>('select version()');
        expect(version.rows[0]?.version).toMatch(/^PostgreSQL/);
      }
      await onDisk.exec("create table orders (id int primary key, note text); insert into orders values (7, 'kept')");
    } finally {
      await Promise.all(opened.map((one) => one.db.close()));
    }
  });

  it('opens an existing database as it is, without the template', async () => {
    const reopened = await openPglite(join(folder, 'disk'), { cacheDirectory: cache });
    try {
      expect(reopened.origin).toBe('existing');
      expect((await reopened.db.query('show shared_buffers')).rows).toEqual([{ shared_buffers: PGLITE_SHARED_BUFFERS }]);
      expect((await reopened.db.query('select id, note from orders')).rows).toEqual([{ id: 7, note: 'kept' }]);
    } finally {
      await reopened.db.close();
    }
  });

  it('takes the cache directory from ENTENTE_CACHE_DIR when none is given, and "off" turns the cache off', async () => {
    const saved = process.env['ENTENTE_CACHE_DIR'];
    try {
      process.env['ENTENTE_CACHE_DIR'] = cache;
      const fromEnvironment = await openPglite(null);
      await fromEnvironment.db.close();
      process.env['ENTENTE_CACHE_DIR'] = 'off';
      const uncached = await openPglite(null);
      await uncached.db.close();
      expect([fromEnvironment.origin, uncached.origin]).toEqual(['template', 'initdb']);
    } finally {
      if (saved === undefined) delete process.env['ENTENTE_CACHE_DIR'];
      else process.env['ENTENTE_CACHE_DIR'] = saved;
    }
  });

  it('replaces a damaged template: the database is created by initdb, works, and the next one starts from the new template', async () => {
    await writeFile(templatePath(cache), 'not a tarball', { mode: 0o600 });
    const target = join(folder, 'after-damage');
    const created = await openPglite(target, { cacheDirectory: cache });
    try {
      expect(created.origin).toBe('initdb');
      await created.db.exec('create table t (id int); insert into t values (1)');
      expect((await created.db.query('select count(*)::int as n from t')).rows).toEqual([{ n: 1 }]);
    } finally {
      await created.db.close();
    }
    const next = await openPglite(null, { cacheDirectory: cache });
    expect(next.origin).toBe('template');
    await next.db.close();
  });

  it('does not use a cache directory that other users may write', async () => {
    // A good template, planted in a directory anyone could have written it to.
    const shared = join(folder, 'shared-cache');
    await mkdir(shared, { mode: 0o700 });
    await copyFile(templatePath(cache), templatePath(shared));
    await chmod(shared, 0o777);
    const before = await stat(templatePath(shared));
    const refused = await openPglite(null, { cacheDirectory: shared });
    try {
      expect(refused.origin).toBe('initdb');
    } finally {
      await refused.db.close();
    }
    expect((await stat(templatePath(shared))).mtimeMs).toBe(before.mtimeMs);
  });
});
