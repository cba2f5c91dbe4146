// The introspection drift suite (./introspection-drift-suite.ts) on a real PostgreSQL server.
import pg from 'pg';
import { openConnector } from '../../../connectors/index.ts';
import { describeWithPostgres } from '../../support/databases.ts';
import { runIntrospectionDriftSuite } from './introspection-drift-suite.ts';

describeWithPostgres('introspection drift: postgres', (db) => {
  runIntrospectionDriftSuite(async () => {
    const outside = new pg.Client({ connectionString: db.url });
    await outside.connect();
    const connector = await openConnector(db.url, { schemas: ['drift'] });
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
