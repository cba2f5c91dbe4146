// The nested-reads suite (./nested-reads-suite.ts) on a real PostgreSQL server. The demo tables and the
// typed partner's tables both live in `public`, so each gets a fresh database of its own.
import pg from 'pg';
import { describeWithPostgres, freshPostgresDatabase, type FreshDatabase } from '../support/databases.ts';
import { openConnector } from '../../connectors/index.ts';
import { runNestedReadsSuite, type NestedSuiteDatabase } from './nested-reads-suite.ts';

async function open(db: FreshDatabase): Promise<NestedSuiteDatabase> {
  const outside = new pg.Client({ connectionString: db.url });
  await outside.connect();
  const connector = await openConnector(db.url);
  return {
    connector,
    exec: async (sql) => {
      await outside.query(sql);
    },
    close: async () => {
      await connector.close();
      await outside.end();
    },
  };
}

describeWithPostgres('nested reads: postgres', (db) => {
  const typed = freshPostgresDatabase();
  runNestedReadsSuite(() => open(db), () => open(typed));
});
