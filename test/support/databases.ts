// Each test file gets its own fresh database: created with a unique name before the file's tests run
// and dropped after, so test files run concurrently without seeing each other's data.
//
//   describeWithPostgres('orders', (db) => { it('…', async () => { const client = new pg.Client(db.url) … }) });
//
// Without a server (and without CI=true) the block is reported as skipped, with the reason in its name.
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import pg from 'pg';
import mysql from 'mysql2/promise';
import type { PGlite } from '@electric-sql/pglite';
import {
  mariadbSettings,
  mysqlUrl,
  newTestDatabaseName,
  postgresSettings,
  postgresUrl,
  type ServerSettings,
  type ServiceName,
} from './services.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';

export interface FreshDatabase {
  /** Database name; valid once the block's beforeAll hooks have run. */
  readonly name: string;
  /** Connection URL (postgres://… or mysql://…) for that database. */
  readonly url: string;
  readonly settings: ServerSettings;
}

export interface FreshPglite {
  readonly db: PGlite;
}

type Body<T> = (resource: T) => void;

export function describeWithPostgres(title: string, body: Body<FreshDatabase>): void {
  describeWithService('postgres', title, () => body(freshPostgresDatabase()));
}

/** PostgreSQL with wal_level = logical, for logical-decoding capture. */
export function describeWithLogicalPostgres(title: string, body: Body<FreshDatabase>): void {
  describeWithService('postgresLogical', title, () => body(freshPostgresDatabase()));
}

/** PostgreSQL reached through a PgBouncer the block starts (test/support/pgbouncer.ts). */
export function describeWithPgbouncer(title: string, body: Body<FreshDatabase>): void {
  describeWithService('pgbouncer', title, () => body(freshPostgresDatabase()));
}

export function describeWithMariadb(title: string, body: Body<FreshDatabase>): void {
  describeWithService('mariadb', title, () => body(freshMariadbDatabase()));
}

export function describeWithPglite(title: string, body: Body<FreshPglite>): void {
  describe(title, () => body(freshPglite()));
}

/** A describe block that runs only if the service answered in the global setup (always, under CI=true). */
export function describeWithService(service: ServiceName, title: string, body: () => void): void {
  const availability = inject(service);
  if (availability.available) {
    describe(title, body);
    return;
  }
  describe.skip(`${title} [skipped: ${availability.reason}]`, () => {
    it(`needs ${service}`, () => undefined);
  });
}

export function serviceAvailable(service: ServiceName): boolean {
  return inject(service).available;
}

/** Registers hooks that create a fresh PostgreSQL database before the enclosing block and drop it after. */
export function freshPostgresDatabase(): FreshDatabase {
  const settings = postgresSettings();
  const handle = lazyHandle(settings, (name) => postgresUrl(settings, name));
  beforeAll(async () => {
    const name = newTestDatabaseName();
    await withPostgresAdmin(settings, (client) => client.query(`create database "${name}"`));
    handle.set(name);
  });
  afterAll(async () => {
    if (!handle.created) return;
    await withPostgresAdmin(settings, (client) => client.query(`drop database if exists "${handle.name}" with (force)`));
  });
  return handle.value;
}

/** Registers hooks that create a fresh MariaDB/MySQL database before the enclosing block and drop it after. */
export function freshMariadbDatabase(): FreshDatabase {
  const settings = mariadbSettings();
  const handle = lazyHandle(settings, (name) => mysqlUrl(settings, name));
  beforeAll(async () => {
    const name = newTestDatabaseName();
    await withMariadbAdmin(settings, (connection) => connection.query(`create database \`${name}\` character set utf8mb4 collate utf8mb4_bin`));
    handle.set(name);
  });
  afterAll(async () => {
    if (!handle.created) return;
    await withMariadbAdmin(settings, (connection) => connection.query(`drop database if exists \`${handle.name}\``));
  });
  return handle.value;
}

/** An in-memory PGlite instance (PGlite is embedded: every instance is a fresh database). */
export function freshPglite(): FreshPglite {
  let instance: PGlite | undefined;
  beforeAll(async () => {
    instance = (await openPglite(null)).db;
  });
  afterAll(async () => {
    await instance?.close();
  });
  return {
    get db(): PGlite {
      if (instance === undefined) throw new Error('PGlite is created in beforeAll; use it inside a test or hook');
      return instance;
    },
  };
}

export async function withPostgresAdmin<T>(settings: ServerSettings, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...settings, database: 'postgres', connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function withMariadbAdmin<T>(settings: ServerSettings, work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ ...settings, connectTimeout: 5000 });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

function lazyHandle(settings: ServerSettings, urlFor: (name: string) => string) {
  let name: string | undefined;
  const value: FreshDatabase = {
    get name(): string {
      if (name === undefined) throw new Error('the test database is created in beforeAll; use it inside a test or hook');
      return name;
    },
    get url(): string {
      return urlFor(value.name);
    },
    settings,
  };
  return {
    value,
    get created(): boolean {
      return name !== undefined;
    },
    get name(): string {
      return value.name;
    },
    set(created: string): void {
      name = created;
    },
  };
}
