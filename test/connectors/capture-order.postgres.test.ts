// Acceptance 2 on real PostgreSQL: three concurrent writers outside Entente (plain pg clients, mixed
// INSERT/UPDATE/DELETE on shared rows, some transactions rolled back on purpose, some aborted by
// deadlocks, some slowed between drawing their commit number and committing) while a follower reads
// the capture stream. Mid-stream the connector is closed and a new
// one resumes from the acknowledged position; later every backend of the test database is terminated
// (pg_terminate_backend — the "database restart" as the writers, the pool and the LISTEN connection
// see it; the server itself is shared with other test files and is not restarted). Method: compare the
// captured stream with what each writer's RETURNING says it committed, replay the stream against the
// before-images and the final table, and check real-time commit order.
import { it } from 'vitest';
import { describeWithPostgres } from '../support/databases.ts';
import { postgresBatchOf } from './capture-workload.ts';
import { runCaptureOrderScenario } from './capture-order-scenario.ts';

describeWithPostgres('capture order under concurrent outside writers (postgres)', (db) => {
  it('captures exactly the committed changes, in commit order, across a connector restart and terminated backends', async () => {
    await runCaptureOrderScenario(db.url, 'outbox-trigger', postgresBatchOf);
  }, 120_000);
});
