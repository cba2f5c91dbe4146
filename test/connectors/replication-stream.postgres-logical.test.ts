// The replication stream's flow control: while paused, the server's frames stay in the kernel's buffer
// instead of being read one commit at a time (a paused socket reads until its buffer reaches its high
// water mark, 16 KiB by default: ~90 single-row commits, each a wake-up of this process). Over TLS too,
// where the socket node-postgres pauses is the TLS socket wrapped around ours.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithLogicalPostgres, serviceAvailable } from '../support/databases.ts';
import { ReplicationStream } from '../../connectors/postgres/replication-stream.ts';
import { decodePgoutput } from '../../connectors/postgres/pgoutput.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describeWithLogicalPostgres('replication stream: pausing', (db) => {
  let admin: pg.Client;
  const slotPrefix = `entente_stream_test_${process.pid}`;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`create table notes (id serial primary key, body text not null); create publication stream_test for table notes`);
  });
  afterAll(async () => {
    const slots = await admin?.query<{ slot_name: string }>('select slot_name from pg_replication_slots where slot_name like $1', [`${slotPrefix}%`]).catch(() => undefined);
    for (const { slot_name: slot } of slots?.rows ?? []) {
      await admin.query('select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null', [slot]).catch(() => undefined);
      await admin.query('select pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
    }
    await admin?.end();
  });

  it('reads at most one chunk while paused, and everything once resumed', () => pausedReading(false));

  // Needs ssl = on (.ci/run turns it on; under CI=true the global setup insists on it).
  it.skipIf(!serviceAvailable('postgresTls'))('does the same over TLS', () => pausedReading(true));

  async function pausedReading(tls: boolean): Promise<void> {
    // A slot of its own, starting here: the other case's commits stay out of this one's count.
    const slot = `${slotPrefix}_${tls ? 'tls' : 'tcp'}`;
    await admin.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    let commits = 0;
    const stream = await ReplicationStream.start({
      connectionString: tls ? `${db.url}?sslmode=no-verify` : db.url,
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
      const [walsender] = (await admin.query<{ ssl: boolean }>('select s.ssl from pg_stat_ssl s join pg_replication_slots r on r.active_pid = s.pid where r.slot_name = $1', [slot])).rows;
      expect(walsender?.ssl).toBe(tls);

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
  }
});
