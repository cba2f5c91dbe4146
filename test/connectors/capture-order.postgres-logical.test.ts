// Acceptance 2 with logical-decoding capture: the same three concurrent outside writers, rollbacks,
// deadlocks, slow committers, connector restart and terminated backends (the walsender too) as
// capture-order.postgres.test.ts; here the stream must follow commit order exactly.
import { it } from 'vitest';
import { describeWithLogicalPostgres } from '../support/databases.ts';
import { runCaptureOrderScenario } from './capture-order-scenario.ts';

describeWithLogicalPostgres('capture order under concurrent outside writers (postgres, logical decoding)', (db) => {
  it('captures exactly the committed changes, in commit order, across a connector restart and terminated backends', async () => {
    await runCaptureOrderScenario(db.url, 'logical-decoding');
  }, 120_000);
});
