// The replica migration suite (./replica-migration-suite.ts) on an in-memory PGlite.
import { createPgliteConnector } from '../../../connectors/postgres/postgres-connector.ts';
import { describeWithPglite } from '../../support/databases.ts';
import { runReplicaMigrationSuite } from './replica-migration-suite.ts';

describeWithPglite('replica migration: pglite', (fresh) => {
  runReplicaMigrationSuite(() => createPgliteConnector(fresh.db));
});
