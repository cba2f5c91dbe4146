// The replication stream's flow control: while paused, the server's frames stay in the kernel's buffer
// instead of being read one commit at a time (a paused socket reads until its buffer reaches its high
// water mark, 16 KiB by default: ~90 single-row commits, each a wake-up of this process).
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithLogicalPostgres } from '../support/databases.ts';
import { ReplicationStream } from '../../connectors/postgres/replication-stream.ts';
import { decodePgoutput } from '../../connectors/postgres/pgoutput.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describeWithLogicalPostgres('replication stream: pausing', (db) => {
  let admin: pg.Client;
  const slot = `entente_stream_test_${process.pid}`;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`create table notes (id serial primary key, body text not null); create publication stream_test for table notes`);
    await admin.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  });
  afterAll(async () => {
    await admin?.query('select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null', [slot]).catch(() => undefined);
    await admin?.query('select pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
    await admin?.end();
  });

  it('reads at most one chunk while paused, and everything once resumed', async () => {
    let commits = 0;
    const stream = await ReplicationStream.start({
      connectionString: db.url,
      slot,
      publication: 'stream_test',
      startLsn: 0n,
      onMessage: (message) => {
        if (decodePgoutput(message).tag === 'commit') commits += 1;
      },
      onKeepalive: () => undefined,
    });
    try {
      await admin.query(`insert into notes (body) values ('before the pause')`);
      for (let waited = 0; commits < 1 && waited < 5000; waited += 10) await sleep(10);
      expect(commits).toBe(1);

      stream.pause();
      const readBefore = stream.bytesRead;
      const total = 300;
      // One commit at a time, each streamed by the server as it is flushed: ~54 KiB in small frames.
      for (let index = 0; index < total; index += 1) await admin.query('insert into notes (body) values ($1)', [`row ${index}`]);
      await sleep(200);
      const readWhilePaused = stream.bytesRead - readBefore;
      expect(commits).toBe(1);
      // The first chunk to arrive stops the reading; the old default went on to 16 KiB.
      expect(readWhilePaused).toBeLessThan(4096);

      stream.resume();
      for (let waited = 0; commits < 1 + total && waited < 10_000; waited += 10) await sleep(10);
      expect(commits).toBe(1 + total);
      expect(stream.bytesRead - readBefore).toBeGreaterThan(total * 100);
    } finally {
      await stream.close();
    }
  });
});
