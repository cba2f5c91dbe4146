// The connector contract suite (./contract-suite.ts) against PostgreSQL with logical-decoding capture
// (`capture: 'logical-decoding'`, wal_level = logical): the same expectations as trigger capture —
// the suite's capture tests do not know which method delivers the changes.
import { describeWithLogicalPostgres } from '../support/databases.ts';
import { runContractSuite } from './contract-suite.ts';
import { allFixtureFeatures } from './fixture.ts';
import { openPostgresContractDatabase } from './postgres-contract-database.ts';

describeWithLogicalPostgres('connector contract: postgres, logical-decoding capture', (db) => {
  runContractSuite({ label: 'postgres-logical', features: allFixtureFeatures, open: () => openPostgresContractDatabase(db.url, { capture: 'logical-decoding' }) });
});
