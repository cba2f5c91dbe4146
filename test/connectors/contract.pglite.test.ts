// The connector contract suite (./contract-suite.ts) against PGlite, in-process, through the same
// connector code as PostgreSQL (only the SqlExecutor differs). Goal: acceptance 1 on PGlite. Method: a
// fresh in-memory PGlite per file, the fixture in schema "fixture", seeded with PGlite's own API.
import { describeWithPglite } from '../support/databases.ts';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';
import { runContractSuite } from './contract-suite.ts';
import { allFixtureFeatures } from './fixture.ts';
import { postgresFixtureDdl, postgresInsertStatement } from './postgres-fixture.ts';

describeWithPglite('connector contract: pglite', (fresh) => {
  runContractSuite({
    label: 'pglite',
    features: allFixtureFeatures,
    async open() {
      await fresh.db.exec(postgresFixtureDdl('fixture'));
      const connector = await createPgliteConnector(fresh.db, { schemas: ['fixture'] });
      return {
        connector,
        namespace: 'fixture',
        async insertOutside(table, rows) {
          await fresh.db.transaction(async (tx) => {
            for (const row of rows) {
              const statement = postgresInsertStatement('fixture', table, row);
              await tx.query(statement.text, [...statement.values]);
            }
          });
        },
        openAnother: () => createPgliteConnector(fresh.db, { schemas: ['fixture'] }),
        close: () => connector.close(),
      };
    },
  });
});
