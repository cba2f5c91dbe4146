// The short chaos run for CI (issue #12, acceptance 2): the same four real gateway processes, load and
// checks as `npm run chaos`, with one fault of each kind (the database fault: server-side session kills,
// not the slower PGlite gateway restart). A failure prints the summary with the fault timeline, the
// seed and, when the settle sentinel hangs, every gateway's /ready; CHAOS_SEED=<n> replays the choices.
// Needs PostgreSQL and MariaDB. It runs in CI (CI=true) and with CHAOS_SHORT=1; a plain local `npm test`
// leaves it out: four gateway processes take a minute or more of both cores.
import { expect, it } from 'vitest';
import { describeWithService } from '../support/databases.ts';
import { runChaos } from './chaos-run.ts';

const wanted = process.env['CI'] === 'true' || process.env['CHAOS_SHORT'] === '1';

describeWithService('postgres', 'chaos, short: four gateway processes under load and one fault of each kind', () => {
  describeWithService('mariadb', 'with a MariaDB partner', () => {
    it.skipIf(!wanted)('keeps every acknowledged change exactly once, replicas equal to their sources, heads equal and ledgers verifiable', async () => {
      const seed = process.env['CHAOS_SEED'] === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env['CHAOS_SEED']);
      const result = await runChaos({ seed, faultWindowMs: 10_000, overrunMs: 240_000, faultsPerKindMin: 1, embeddedDatabaseRestart: false, log: () => undefined });
      expect(result.problems, result.summary()).toEqual([]);
      expect(result.load.apiAcknowledged, result.summary()).toBeGreaterThan(0);
    }, 420_000);
  });
});
