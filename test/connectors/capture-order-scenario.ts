// The capture-order scenario of acceptance 2 on real PostgreSQL, shared by the trigger-capture and the
// logical-decoding test files (see capture-order.postgres.test.ts for what it does and why).
import pg from 'pg';
import { expect } from 'vitest';
import type { CaptureMethod } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import {
  LiveIds,
  StreamFollower,
  expectStreamEqualsCommits,
  runOperations,
  seededRandom,
  workloadDdl,
  workloadTable,
  type WriterTransaction,
} from './capture-workload.ts';

const writersCount = 3;
const transactionsPerWriter = 70;
const rollbackShare = 0.2;
const slowCommitShare = 0.15;

/**
 * The whole scenario against one fresh database, with the capture method under test; `epochOf` as in
 * expectStreamEqualsCommits (trigger capture orders by batch; logical decoding by commit exactly).
 */
export async function runCaptureOrderScenario(url: string, capture: CaptureMethod, epochOf?: (position: string) => bigint): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(workloadDdl);
  const open = () => openConnector(url, { schemas: ['public'], capture });
  const installer = await open();
  await installer.capture.install([{ schema: 'public', name: workloadTable }]);
  await installer.close();
  // Slow committers: for some transactions a deferred trigger sleeps at COMMIT, after every change
  // drew its sequence number, so transactions commit in another order than their last changes were
  // made — the case that must not reorder changes to the same row nor skip a late committer.
  await admin.query(`
    create function public.slow_commit() returns trigger language plpgsql as $$
    begin
      if current_setting('test.slow_commit', true) = 'on' then perform pg_sleep(0.03); end if;
      return null;
    end $$;
    create constraint trigger slow_commit after insert or update or delete on public.${workloadTable}
      deferrable initially deferred for each row execute function public.slow_commit();`);

  // Eager: polls every millisecond when idle, so reads land while commits are in flight.
  const follower = new StreamFollower(await open(), { eager: true });
  const live = new LiveIds();
  const log: WriterTransaction[] = [];
  let finishedTransactions = 0;

  const writer = async (writerIndex: number): Promise<void> => {
    const random = seededRandom(1000 + writerIndex);
    let nextId = writerIndex * 1_000_000;
    let client: pg.Client | undefined;
    for (let index = 0; index < transactionsPerWriter; index += 1) {
      const record: WriterTransaction = { tag: `w${writerIndex}-${index}`, txid: null, changes: [], outcome: 'failed', commitSentMs: 0, commitAnsweredMs: 0 };
      log.push(record);
      let committing = false;
      try {
        if (client === undefined) {
          client = new pg.Client({ connectionString: url });
          client.on('error', () => undefined);
          await client.connect();
        }
        const session = client;
        await session.query('begin');
        if (random() < slowCommitShare) await session.query(`set local test.slow_commit = 'on'`);
        await runOperations(async (text, params) => (await session.query(text, [...params])).rows, record, () => (nextId += 1), live, random);
        if (random() < rollbackShare) {
          await session.query('rollback');
          record.outcome = 'rolled-back';
        } else {
          committing = true;
          record.commitSentMs = performance.now();
          await session.query('commit');
          record.commitAnsweredMs = performance.now();
          record.outcome = 'committed';
        }
      } catch {
        record.outcome = committing ? 'commit-unknown' : 'failed';
        const broken = client;
        client = undefined;
        await broken?.end().catch(() => undefined);
      }
      finishedTransactions += 1;
      await new Promise((resolve) => setTimeout(resolve, random() * 4));
    }
    await client?.end();
  };

  const total = writersCount * transactionsPerWriter;
  const waitUntil = async (condition: () => boolean): Promise<void> => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  const chaos = (async () => {
    await waitUntil(() => finishedTransactions >= total / 3);
    await follower.restartWith(open);
    await waitUntil(() => finishedTransactions >= (2 * total) / 3);
    const terminated = await admin.query('select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');
    expect(Number(terminated.rows[0]?.['n'])).toBeGreaterThan(0);
  })();
  await Promise.all([...Array.from({ length: writersCount }, (_, index) => writer(index)), chaos]);

  // A COMMIT cut off by the termination may or may not have happened: ask the server.
  for (const record of log) {
    if (record.outcome !== 'commit-unknown' || record.txid === null) continue;
    const status = await admin.query('select txid_status($1::bigint) as status', [record.txid]);
    record.outcome = status.rows[0]?.['status'] === 'committed' ? 'committed' : 'failed';
  }
  await follower.finish();
  const final = await admin.query(`select id, value, tag from public.${workloadTable}`);
  const finalRows = new Map(final.rows.map((row) => [Number(row['id']), { value: Number(row['value']), tag: String(row['tag']) }]));

  expect(log.filter((record) => record.outcome === 'rolled-back').length).toBeGreaterThan(0);
  expect(follower.readErrors).toBeGreaterThanOrEqual(0);
  expectStreamEqualsCommits(follower.captured, log, finalRows, epochOf);
  await follower.current().close();
  await admin.end();
}
