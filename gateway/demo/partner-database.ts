// A demo partner's own database: embedded PGlite in `<data>/<partner>/db`, created and filled on first
// start from `network/<partner>.sql`. The seeding plays the partner's existing business application
// (its ERP wrote these tables long before Entente), which is why it runs SQL on PGlite directly; the
// gateway itself only ever talks to the database through the connector built on top.
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { Connector } from '../../connectors/connector.ts';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';

export interface PartnerDatabase {
  readonly connector: Connector;
  /** True when this start created and seeded the database. */
  readonly seeded: boolean;
  close(): Promise<void>;
}

const seedDirectory = new URL('./network/', import.meta.url);

export async function openPartnerDatabase(partner: string, directory: string): Promise<PartnerDatabase> {
  const db = await PGlite.create(directory);
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
