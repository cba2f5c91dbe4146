// The connector contract suite (./contract-suite.ts) against a real PostgreSQL 15 server, through
// openConnector('postgres://…'). Goal: acceptance 1 on PostgreSQL. Method: a fresh database per file,
// the fixture in schema "fixture", seeded with a plain pg client playing "another application".
import pg from 'pg';
import { describeWithPostgres } from '../support/databases.ts';
import { openConnector } from '../../connectors/index.ts';
import { runContractSuite } from './contract-suite.ts';
import { allFixtureFeatures } from './fixture.ts';
import { postgresFixtureDdl, postgresInsertStatement } from './postgres-fixture.ts';

describeWithPostgres('connector contract: postgres', (db) => {
  runContractSuite({
    label: 'postgres',
    features: allFixtureFeatures,
    async open() {
      const outside = new pg.Client({ connectionString: db.url });
      await outside.connect();
      await outside.query(postgresFixtureDdl('fixture'));
      const connector = await openConnector(db.url, { schemas: ['fixture'] });
      return {
        connector,
        namespace: 'fixture',
        async insertOutside(table, rows) {
          await outside.query('begin');
          for (const row of rows) {
            const statement = postgresInsertStatement('fixture', table, row);
            await outside.query(statement.text, [...statement.values]);
          }
          await outside.query('commit');
        },
        openAnother: () => openConnector(db.url, { schemas: ['fixture'] }),
        async close() {
          await connector.close();
          await outside.end();
        },
      };
    },
  });
});
