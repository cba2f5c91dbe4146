// The contract suite's database on a real PostgreSQL server: the fixture in schema "fixture", seeded
// by a plain pg client playing "another application", and the connector opened with `options` (the
// capture method is what the postgres and postgres-logical contract files differ in).
import pg from 'pg';
import { openConnector, type OpenConnectorOptions } from '../../connectors/index.ts';
import type { ContractDatabase } from './contract-suite.ts';
import { postgresFixtureDdl, postgresInsertStatement } from './postgres-fixture.ts';

export async function openPostgresContractDatabase(url: string, options: OpenConnectorOptions = {}): Promise<ContractDatabase> {
  const open = () => openConnector(url, { ...options, schemas: ['fixture'] });
  const outside = new pg.Client({ connectionString: url });
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
}
