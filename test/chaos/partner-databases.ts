// Direct SQL access to the partners' databases, as the legacy application and the final checks use it
// (never through a gateway): one small client shape over pg, mysql2 and PGlite, the replica table names
// each family uses, and the server-side "database restart" the shared servers allow (terminating the
// gateway's connections rather than restarting a server other engineers' tests use).
import mysql from 'mysql2/promise';
import pg from 'pg';
import { join } from 'node:path';
import type { ChaosNetwork, ChaosPartner } from './chaos-network.ts';
import { mariadbSettings, postgresSettings } from '../support/services.ts';
import { withMariadbAdmin, withPostgresAdmin } from '../support/databases.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';

/** Sessions of the legacy application carry this name, so a fault never terminates them. */
export const LEGACY_APPLICATION_NAME = 'chaos-legacy-app';

export type SqlRow = Record<string, unknown>;

export interface SqlClient {
  /** `$1`-style placeholders for PostgreSQL and PGlite, `?` for MariaDB. */
  query(text: string, params?: readonly unknown[]): Promise<SqlRow[]>;
  readonly placeholder: (n: number) => string;
  /** The qualified name of the replica of `owner`'s `table` in this database. */
  replicaTable(owner: string, table: string): string;
  close(): Promise<void>;
}

export async function openSqlClient(network: ChaosNetwork, partner: ChaosPartner, applicationName: string): Promise<SqlClient> {
  const family = partner.spec.family;
  if (family === 'pglite') {
    const db = (await openPglite(join(network.folder, partner.spec.partner, 'db'))).db;
    return {
      query: async (text, params) => (await db.query<SqlRow>(text, params as unknown[])).rows,
      placeholder: (n) => `$${n}`,
      replicaTable: (owner, table) => `entente_replica.${owner}__${table}`,
      close: () => db.close(),
    };
  }
  if (family === 'postgres') {
    const client = new pg.Client({ connectionString: partner.databaseUrl!, application_name: applicationName });
    client.on('error', () => undefined);
    await client.connect();
    return {
      query: async (text, params) => (await client.query<SqlRow>(text, params as unknown[])).rows,
      placeholder: (n) => `$${n}`,
      replicaTable: (owner, table) => `entente_replica.${owner}__${table}`,
      close: () => client.end(),
    };
  }
  const connection = await mysql.createConnection({ ...mariadbSettings(), database: partner.databaseName!, supportBigNumbers: true, bigNumberStrings: true });
  connection.on('error', () => undefined);
  return {
    query: async (text, params) => (await connection.query(text, params as unknown[]))[0] as SqlRow[],
    placeholder: () => '?',
    replicaTable: (owner, table) => `\`entente_replica_${owner}__${table}\``,
    close: () => connection.end(),
  };
}

/**
 * Terminates every session of the partner's gateway on the shared server (the legacy application's
 * sessions are spared): what the gateway sees when its database restarts. Returns how many it ended.
 */
export async function terminateGatewaySessions(partner: ChaosPartner): Promise<number> {
  if (partner.spec.family === 'postgres') {
    const rows = await withPostgresAdmin(postgresSettings(), (client) => client.query(
      'select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and application_name <> $2',
      [partner.databaseName, LEGACY_APPLICATION_NAME],
    ));
    return rows.rows.filter((row: { ended: boolean }) => row.ended).length;
  }
  if (partner.spec.family === 'mariadb') {
    return withMariadbAdmin(mariadbSettings(), async (connection) => {
      const [rows] = await connection.query('select id from information_schema.processlist where db = ? and id <> connection_id()', [partner.databaseName]);
      let ended = 0;
      for (const row of rows as { id: number }[]) {
        if (legacyMariadbSessions.has(row.id)) continue;
        await connection.query(`kill connection ${Number(row.id)}`).then(() => (ended += 1), () => undefined);
      }
      return ended;
    });
  }
  throw new Error(`${partner.spec.partner}'s database is embedded: restart its gateway instead`);
}

/** MariaDB has no application name on a session: the legacy writer registers its connection ids here. */
export const legacyMariadbSessions = new Set<number>();
