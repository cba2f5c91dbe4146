// A demo partner's own database: embedded PGlite in `<data>/<partner>/db`, created and filled on first
// start from `network/<partner>.sql`. The seeding plays the partner's existing business application
// (its ERP wrote these tables long before Entente), which is why it runs SQL on PGlite directly; the
// gateway itself only ever talks to the database through the connector built on top.
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import type { Connector } from '../../connectors/connector.ts';
import { openConnector, redactUrl } from '../../connectors/index.ts';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';
import { EntenteError } from '../../common/errors.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';

export interface PartnerDatabase {
  readonly connector: Connector;
  /** True when this start created and seeded the database. */
  readonly seeded: boolean;
  close(): Promise<void>;
}

const seedDirectory = new URL('./network/', import.meta.url);

export async function openPartnerDatabase(partner: string, directory: string): Promise<PartnerDatabase> {
  const db = (await openPglite(directory)).db;
  try {
    const existing = await db.query<{ tables: number }>("select count(*)::int as tables from pg_tables where schemaname = 'public'");
    const seeded = (existing.rows[0]?.tables ?? 0) === 0;
    if (seeded) await db.exec(await readFile(new URL(`${partner}.sql`, seedDirectory), 'utf8'));
    const connector = await createPgliteConnector(db);
    return {
      connector,
      seeded,
      close: async () => {
        await connector.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

export const demoSchemaDirectory = new URL('./network/', import.meta.url);

/**
 * `entente demo --db postgres://…/<base>`: partner p gets the database `<base>_<p>` on that server
 * (dashes become underscores), created and seeded on first start; `fresh` drops exactly those first.
 */
export async function openPartnerPostgres(partner: string, serverUrl: string, fresh: boolean): Promise<PartnerDatabase> {
  const url = new URL(serverUrl);
  const base = decodeURIComponent(url.pathname.slice(1)) || 'entente_demo';
  const name = `${base}_${partner.replaceAll('-', '_')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
  } catch (error) {
    throw new EntenteError('DB_UNREACHABLE', `Cannot connect to ${redactUrl(serverUrl)} to create the demo databases: ${(error as Error).message}. Check the URL and that the server is running.`, { cause: error });
  }
  try {
    if (fresh) await admin.query(`drop database if exists "${name}" with (force)`);
    const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${encodeURIComponent(name)}`;
  const partnerUrl = url.toString();
  const seeding = new pg.Client({ connectionString: partnerUrl });
  await seeding.connect();
  let seeded: boolean;
  try {
    const existing = await seeding.query<{ tables: number }>("select count(*)::int as tables from pg_tables where schemaname = 'public'");
    seeded = (existing.rows[0]?.tables ?? 0) === 0;
    if (seeded) await seeding.query(await readFile(new URL(`${partner}.sql`, seedDirectory), 'utf8'));
  } finally {
    await seeding.end();
  }
  const connector = await openConnector(partnerUrl);
  return { connector, seeded, close: () => connector.close() };
}
