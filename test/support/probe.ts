// Asks each database server whether it answers, once per test run (from the global setup).
import pg from 'pg';
import mysql from 'mysql2/promise';
import { findPgbouncer } from './pgbouncer.ts';
import { findMariadbBinaries } from './scratch-mariadb.ts';
import { findPostgresBinaries } from './scratch-postgres.ts';
import { mariadbSettings, postgresSettings, testDatabaseAgeSeconds, testDatabasePrefix } from './services.ts';

export interface Availability {
  readonly available: boolean;
  /** Why the server is not usable, and how to fix it; empty when available. */
  readonly reason: string;
}

const staleAfterSeconds = 6 * 3600;

export async function probePostgres(): Promise<Availability> {
  const settings = postgresSettings();
  const client = new pg.Client({ ...settings, database: 'postgres', connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await dropStalePostgresDatabases(client);
    return { available: true, reason: '' };
  } catch (error) {
    return {
      available: false,
      reason: `PostgreSQL at ${settings.host}:${settings.port} (user ${settings.user}) does not answer: ${message(error)}. Start it, or set PGHOST/PGPORT/PGUSER/PGPASSWORD.`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Logical-decoding capture needs wal_level = logical, a server setting that only a restart applies. */
export function probePostgresLogical(): Promise<Availability> {
  return probePostgresSetting('wal_level', 'logical', 'logical-decoding capture needs logical. Run ALTER SYSTEM SET wal_level = logical and restart the server (.ci/run does this).');
}

/** TLS connections need ssl = on, with a certificate and key the server can read. */
export function probePostgresTls(): Promise<Availability> {
  return probePostgresSetting('ssl', 'on', 'the TLS tests need it on. Give the server a certificate (ssl_cert_file, ssl_key_file), run ALTER SYSTEM SET ssl = on and reload it (.ci/run does this).');
}

/** The server answers and its setting `name` is `wanted`; `fix` says why it matters and how to get there. */
async function probePostgresSetting(name: string, wanted: string, fix: string): Promise<Availability> {
  const settings = postgresSettings();
  const client = new pg.Client({ ...settings, database: 'postgres', connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ value: string }>('select current_setting($1) as value', [name]);
    const value = rows[0]?.value ?? 'unknown';
    if (value === wanted) return { available: true, reason: '' };
    return { available: false, reason: `PostgreSQL at ${settings.host}:${settings.port} has ${name} = ${value}; ${fix}` };
  } catch (error) {
    return { available: false, reason: `PostgreSQL at ${settings.host}:${settings.port} (user ${settings.user}) does not answer: ${message(error)}.` };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The connector's pooled mode is tested through a real PgBouncer, which test/support/pgbouncer.ts starts. */
export function probePgbouncer(postgres: Availability): Availability {
  if (findPgbouncer() === null) return { available: false, reason: 'pgbouncer is not installed: apt-get install -y pgbouncer (.ci/run does this), or set PGBOUNCER_PATH.' };
  return postgres;
}

/** Server settings the shared server must not get are tested on a server of the test's own (scratch-postgres.ts). */
export function probePostgresBinaries(): Availability {
  if (findPostgresBinaries() === null) return { available: false, reason: 'the PostgreSQL server binaries (initdb, pg_ctl) are not found: install postgresql, or set PGBINDIR.' };
  return { available: true, reason: '' };
}

/** The same for MariaDB (scratch-mariadb.ts). */
export function probeMariadbBinaries(): Availability {
  if (findMariadbBinaries() === null) return { available: false, reason: 'the MariaDB server binaries (mariadbd, mariadb-install-db) are not found: install mariadb-server, or set MARIADBD.' };
  return { available: true, reason: '' };
}

export async function probeMariadb(): Promise<Availability> {
  const settings = mariadbSettings();
  let connection: mysql.Connection | undefined;
  try {
    connection = await mysql.createConnection({ ...settings, connectTimeout: 3000 });
    await dropStaleMariadbDatabases(connection);
    return { available: true, reason: '' };
  } catch (error) {
    return {
      available: false,
      reason: `MariaDB/MySQL at ${settings.host}:${settings.port} (user ${settings.user}) does not answer: ${message(error)}. Start it, or set MYSQL_HOST/MYSQL_PORT/MYSQL_USER/MYSQL_PASSWORD.`,
    };
  } finally {
    await connection?.end().catch(() => undefined);
  }
}

/** The MySQL connector's TLS tests need the server to offer TLS (a certificate, read at start). */
export async function probeMariadbTls(): Promise<Availability> {
  const settings = mariadbSettings();
  let connection: mysql.Connection | undefined;
  try {
    connection = await mysql.createConnection({ ...settings, connectTimeout: 3000 });
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT @@have_ssl AS have_ssl');
    const value = String(rows[0]?.['have_ssl'] ?? 'unknown');
    if (value === 'YES') return { available: true, reason: '' };
    return { available: false, reason: `MariaDB/MySQL at ${settings.host}:${settings.port} has have_ssl = ${value}; the TLS tests need it to offer TLS. Set ssl_cert and ssl_key in its option file and restart it (.ci/run does this).` };
  } catch (error) {
    return { available: false, reason: `MariaDB/MySQL at ${settings.host}:${settings.port} (user ${settings.user}) does not answer: ${message(error)}.` };
  } finally {
    await connection?.end().catch(() => undefined);
  }
}

// A test file that crashed cannot drop its database; the next run removes those older than a few hours.
async function dropStalePostgresDatabases(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${testDatabasePrefix}%`]);
  for (const { datname } of rows) {
    const age = testDatabaseAgeSeconds(datname);
    if (age !== undefined && age > staleAfterSeconds) await client.query(`drop database if exists "${datname}" with (force)`);
  }
}

async function dropStaleMariadbDatabases(connection: mysql.Connection): Promise<void> {
  const [rows] = await connection.query<mysql.RowDataPacket[]>('show databases like ?', [`${testDatabasePrefix}%`]);
  for (const row of rows) {
    const name = String(Object.values(row)[0]);
    const age = testDatabaseAgeSeconds(name);
    if (age !== undefined && age > staleAfterSeconds) await connection.query(`drop database if exists \`${name}\``);
  }
}

function message(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(message).join('; ');
  return error instanceof Error ? error.message || error.constructor.name : String(error);
}
