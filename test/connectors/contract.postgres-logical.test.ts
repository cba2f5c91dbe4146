// The connector contract suite (./contract-suite.ts) against PostgreSQL with logical-decoding capture
// (`capture: 'logical-decoding'`, wal_level = logical): the same expectations as trigger capture —
// the suite's capture tests do not know which method delivers the changes.
import pg from 'pg';
import { describeWithLogicalPostgres } from '../support/databases.ts';
import { openConnector } from '../../connectors/index.ts';
import { runContractSuite } from './contract-suite.ts';
import { allFixtureFeatures } from './fixture.ts';
import { postgresFixtureDdl, postgresInsertStatement } from './postgres-fixture.ts';

describeWithLogicalPostgres('connector contract: postgres, logical-decoding capture', (db) => {
  const open = () => openConnector(db.url, { schemas: ['fixture'], capture: 'logical-decoding' });
  runContractSuite({
    label: 'postgres-logical',
    features: allFixtureFeatures,
    async open() {
      const outside = new pg.Client({ connectionString: db.url });
      await outside.connect();
      await outside.query(postgresFixtureDdl('fixture'));
      const connector = await open();
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
        openAnother: open,
        async close() {
          await connector.close();
          await outside.end();
        },
      };
    },
  });
});
