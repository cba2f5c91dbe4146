// The executable-schema suite (./executable-suite.ts) on PGlite, in-process.
import { describeWithPglite } from '../support/databases.ts';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';
import { runExecutableSchemaSuite } from './executable-suite.ts';

describeWithPglite('executable schema: pglite', (fresh) => {
  runExecutableSchemaSuite(async () => {
    const connector = await createPgliteConnector(fresh.db);
    return {
      connector,
      exec: async (sql) => {
        await fresh.db.exec(sql);
      },
      close: () => connector.close(),
    };
  });
});
