// The nested-reads suite (./nested-reads-suite.ts) on PGlite, in-process: two fresh databases.
import { describe } from 'vitest';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';
import { runNestedReadsSuite, type NestedSuiteDatabase } from './nested-reads-suite.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';

async function open(): Promise<NestedSuiteDatabase> {
  const db = (await openPglite(null)).db;
  const connector = await createPgliteConnector(db);
  return {
    connector,
    exec: async (sql) => {
      await db.exec(sql);
    },
    close: async () => {
      await connector.close();
      await db.close();
    },
  };
}

describe('nested reads: pglite', () => {
  runNestedReadsSuite(open, open);
});
