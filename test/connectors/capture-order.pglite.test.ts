// Acceptance 2 on PGlite: three concurrent writers using PGlite's own API (its one session interleaves
// their transactions; mixed INSERT/UPDATE/DELETE, some rolled back) while a follower reads the capture
// stream; mid-stream the connector restarts, then the database itself is closed and reopened from its
// data directory and the writers continue. Method: as for PostgreSQL (./capture-workload.ts): the
// stream must equal the committed changes, replay onto the final table, and respect commit order.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { expect, it, describe } from 'vitest';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';
import {
  LiveIds,
  StreamFollower,
  expectStreamEqualsCommits,
  postgresBatchOf,
  runOperations,
  seededRandom,
  workloadDdl,
  workloadTable,
  type WriterTransaction,
} from './capture-workload.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';

const writersCount = 3;
const transactionsPerWriterPerPhase = 25;
const rollbackShare = 0.2;

class Rollback extends Error {}

describe('capture order under concurrent outside writers (pglite)', () => {
  it('captures exactly the committed changes, in commit order, across a connector restart and a database restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'entente-pglite-capture-'));
    try {
      let db = (await openPglite(dataDir)).db;
      await db.exec(workloadDdl);
      const installer = await createPgliteConnector(db);
      await installer.capture.install([{ schema: 'public', name: workloadTable }]);
      await installer.close();

      const live = new LiveIds();
      const log: WriterTransaction[] = [];
      const writer = async (writerIndex: number, phase: number): Promise<void> => {
        const random = seededRandom(2000 + writerIndex * 10 + phase);
        let nextId = writerIndex * 1_000_000 + phase * 100_000;
        for (let index = 0; index < transactionsPerWriterPerPhase; index += 1) {
          const record: WriterTransaction = { tag: `w${writerIndex}-${phase}-${index}`, txid: null, changes: [], outcome: 'failed', commitSentMs: 0, commitAnsweredMs: 0 };
          log.push(record);
          const rollback = random() < rollbackShare;
          try {
            await db.transaction(async (tx) => {
              await runOperations(async (text, params) => (await tx.query<Record<string, unknown>>(text, [...params])).rows, record, () => (nextId += 1), live, random);
              if (rollback) throw new Rollback('rolled back on purpose');
              record.commitSentMs = performance.now();
            });
            record.commitAnsweredMs = performance.now();
            record.outcome = 'committed';
          } catch (error) {
            if (!(error instanceof Rollback)) throw error;
            record.outcome = 'rolled-back';
          }
          await new Promise((resolve) => setTimeout(resolve, random() * 3));
        }
      };
      const runPhase = (phase: number): Promise<void[]> => Promise.all(Array.from({ length: writersCount }, (_, index) => writer(index, phase)));

      const follower = new StreamFollower(await createPgliteConnector(db));
      const phaseOne = runPhase(1);
      await new Promise((resolve) => setTimeout(resolve, 30));
      await follower.restartWith(() => createPgliteConnector(db));
      await phaseOne;

      // Database restart: close PGlite and reopen it from its data directory.
      await follower.restartWith(async () => {
        const previous = db;
        await previous.close();
        db = await PGlite.create(dataDir);
        return createPgliteConnector(db);
      });
      await runPhase(2);
      await follower.finish();

      const final = await db.query<{ id: number; value: number; tag: string }>(`select id, value, tag from public.${workloadTable}`);
      const finalRows = new Map(final.rows.map((row) => [Number(row.id), { value: Number(row.value), tag: String(row.tag) }]));
      expect(log.filter((record) => record.outcome === 'rolled-back').length).toBeGreaterThan(0);
      expectStreamEqualsCommits(follower.captured, log, finalRows, postgresBatchOf);
      await follower.current().close();
      await db.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
