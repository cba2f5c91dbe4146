// The introspection drift suite (./introspection-drift-suite.ts) on an in-memory PGlite.
import { createPgliteConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { describeWithPglite } from '../../support/databases.ts';
import { runIntrospectionDriftSuite } from './introspection-drift-suite.ts';

describeWithPglite('introspection drift: pglite', (fresh) => {
  runIntrospectionDriftSuite(async () => {
    const connector = await createPgliteConnector(fresh.db, { schemas: ['drift'] });
    return {
      connector,
      exec: async (sql) => {
        await fresh.db.exec(sql);
      },
      close: () => connector.close(),
    };
  });
});
