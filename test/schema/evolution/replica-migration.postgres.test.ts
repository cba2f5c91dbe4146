// The replica migration suite (./replica-migration-suite.ts) on a real PostgreSQL server, through openConnector.
import { openConnector } from '../../../connectors/index.ts';
import { describeWithPostgres } from '../../support/databases.ts';
import { runReplicaMigrationSuite } from './replica-migration-suite.ts';

describeWithPostgres('replica migration: postgres', (db) => {
  runReplicaMigrationSuite(() => openConnector(db.url));
});
