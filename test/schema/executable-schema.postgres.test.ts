// The executable-schema suite (./executable-suite.ts) on a real PostgreSQL server, through openConnector.
import pg from 'pg';
import { describeWithPostgres } from '../support/databases.ts';
import { openConnector } from '../../connectors/index.ts';
import { runExecutableSchemaSuite } from './executable-suite.ts';

describeWithPostgres('executable schema: postgres', (db) => {
  runExecutableSchemaSuite(async () => {
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
  });
});
