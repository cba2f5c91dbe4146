// Where the test suite finds its database servers. Settings come from the standard environment
// variables (PGHOST, PGPORT, PGUSER, PGPASSWORD; MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD)
// with the defaults of a developer machine.

export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/**
 * postgresLogical: the same PostgreSQL server, with wal_level = logical (logical-decoding capture).
 * postgresTls: the same PostgreSQL server, with ssl = on (connections that ask for TLS).
 * mariadbTls: the same MariaDB/MySQL server, offering TLS (have_ssl = YES).
 * pgbouncer: the pgbouncer program (started per test file in front of that server), and the server.
 * postgresBinaries: initdb and pg_ctl, for a server of a test's own (test/support/scratch-postgres.ts).
 * mariadbBinaries: mariadbd and mariadb-install-db, likewise (test/support/scratch-mariadb.ts).
 */
export type ServiceName = 'postgres' | 'postgresLogical' | 'postgresTls' | 'pgbouncer' | 'postgresBinaries' | 'mariadb' | 'mariadbTls' | 'mariadbBinaries';

export function postgresSettings(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  return {
    host: env['PGHOST'] ?? '127.0.0.1',
    port: Number(env['PGPORT'] ?? 5432),
    user: env['PGUSER'] ?? 'postgres',
    password: env['PGPASSWORD'] ?? '',
  };
}

export function mariadbSettings(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  return {
    host: env['MYSQL_HOST'] ?? '127.0.0.1',
    port: Number(env['MYSQL_PORT'] ?? 3306),
    user: env['MYSQL_USER'] ?? 'root',
    password: env['MYSQL_PASSWORD'] ?? '',
  };
}

export function postgresUrl(settings: ServerSettings, database: string): string {
  const auth = settings.password === '' ? encodeURIComponent(settings.user) : `${encodeURIComponent(settings.user)}:${encodeURIComponent(settings.password)}`;
  return `postgres://${auth}@${settings.host}:${settings.port}/${encodeURIComponent(database)}`;
}

export function mysqlUrl(settings: ServerSettings, database: string): string {
  const auth = settings.password === '' ? encodeURIComponent(settings.user) : `${encodeURIComponent(settings.user)}:${encodeURIComponent(settings.password)}`;
  return `mysql://${auth}@${settings.host}:${settings.port}/${encodeURIComponent(database)}`;
}

/** CI=true turns a missing server from "skip these tests" into "fail the run". */
export function servicesRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['CI'] === 'true' || env['CI'] === '1';
}

/** Test databases are named entente_t_<epoch seconds>_<random>, so stale ones can be recognised by age. */
export const testDatabasePrefix = 'entente_t_';

export function newTestDatabaseName(): string {
  const random = Math.random().toString(36).slice(2, 10);
  return `${testDatabasePrefix}${Math.floor(Date.now() / 1000)}_${random}`;
}

export function testDatabaseAgeSeconds(name: string, nowMs = Date.now()): number | undefined {
  const match = /^entente_t_(\d+)_/.exec(name);
  return match?.[1] === undefined ? undefined : nowMs / 1000 - Number(match[1]);
}
