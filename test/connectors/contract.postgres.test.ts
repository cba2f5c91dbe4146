// The connector contract suite (./contract-suite.ts) against a real PostgreSQL 15 server, through
// openConnector('postgres://…'). Goal: acceptance 1 on PostgreSQL. Method: a fresh database per file,
// the fixture in schema "fixture", seeded with a plain pg client playing "another application".
import { describeWithPostgres } from '../support/databases.ts';
import { runContractSuite } from './contract-suite.ts';
import { allFixtureFeatures } from './fixture.ts';
import { openPostgresContractDatabase } from './postgres-contract-database.ts';

describeWithPostgres('connector contract: postgres', (db) => {
  runContractSuite({ label: 'postgres', features: allFixtureFeatures, open: () => openPostgresContractDatabase(db.url) });
});
