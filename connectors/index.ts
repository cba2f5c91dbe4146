// Opens a connector from a database URL. Each family registers its URL schemes in `connectorFactories`
// (one line per family), so nothing above connectors/ needs to know which database it talks to.
//
//   postgres://… postgresql://…   PostgreSQL through `pg`
//   pglite:memory                 PGlite in-process, in memory (a fresh database)
//   pglite:<directory>            PGlite in-process, data kept in that directory
//   mysql://… mariadb://…         MySQL / MariaDB (connectors/mysql)
//   mongodb://… mongodb+srv://…   MongoDB (connectors/mongodb)
import { EntenteError } from '../common/errors.ts';
import type { CaptureMethod, Connector } from './connector.ts';

export interface OpenConnectorOptions {
  /** Schemas (PostgreSQL) introspected and served by default; default: the connection's own. */
  readonly schemas?: readonly string[];
  /**
   * PostgreSQL servers: how changes are captured. 'outbox-trigger' (the default) works everywhere;
   * 'logical-decoding' costs writers nothing but needs wal_level = logical and the REPLICATION attribute.
   */
  readonly capture?: CaptureMethod;
}

export type ConnectorFactory = (url: string, options: OpenConnectorOptions) => Promise<Connector>;

/**
 * URL scheme (without ':') → factory. Factories are imported lazily so that opening a PostgreSQL
 * connector never loads mysql2 or mongodb, and the reverse.
 */
export const connectorFactories: Readonly<Record<string, ConnectorFactory>> = {
  postgres: async (url, options) => (await import('./postgres/postgres-connector.ts')).openPostgresConnector(url, options),
  postgresql: async (url, options) => (await import('./postgres/postgres-connector.ts')).openPostgresConnector(url, options),
  pglite: async (url, options) => (await import('./postgres/postgres-connector.ts')).openPgliteConnector(url, options),
  mysql: async (url) => (await import('./mysql/mysql-connector.ts')).openMysqlConnector(url),
  mariadb: async (url) => (await import('./mysql/mysql-connector.ts')).openMysqlConnector(url),
  ...Object.fromEntries(['mongodb', 'mongodb+srv'].map((scheme): [string, ConnectorFactory] => [scheme, async (url, options) => (await import('./mongodb/mongodb-connector.ts')).openMongoConnector(url, options)])),
};

export async function openConnector(url: string, options: OpenConnectorOptions = {}): Promise<Connector> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const factory = scheme === undefined ? undefined : connectorFactories[scheme];
  if (factory === undefined) {
    const known = Object.keys(connectorFactories).map((name) => `${name}:`).join(', ');
    throw new EntenteError('CONFIG_INVALID', `Cannot open database URL "${redactUrl(url)}": unknown scheme. Use one of ${known} (e.g. postgres://user@host:5432/db or pglite:memory).`);
  }
  return factory(url, options);
}

/** The URL with any password replaced, safe for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
