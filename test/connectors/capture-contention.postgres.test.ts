// Goal: the PostgreSQL capture stream never skips, duplicates or reorders changes to the same row, and
// every reader cuts it the same way — under heavy contention. Method: 8 outside writers hammer 12 hot
// keys (upserts, increments, deletes, multi-key updates in random order that deadlock, savepoints
// rolled back, whole transactions rolled back, commits delayed 20 ms after the last change, transactions
// held open across many reads). Two readers follow at once with different limits, restarting now and
// then from their own position; neither acknowledges until the end. Checks: both streams are identical
// (same transactions, positions and changes); positions only grow; the captured transactions are exactly
// the committed ones that changed something, with as many changes as the writers saw; replaying the
// after-images in stream order reproduces every before-image and the final table.
import pg from 'pg';
import { expect, it } from 'vitest';
import type { CapturedTransaction, Connector } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithPostgres } from '../support/databases.ts';
import { seededRandom } from './capture-workload.ts';

const table = 'contended';
const writersCount = 8;
const transactionsPerWriter = 40;
const hotKeys = 12;

interface Outcome {
  txid: string;
  changes: number;
  committed: boolean;
}

/** Follows the stream like a gateway that has not acknowledged yet; reopens its connector now and then. */
class Reader {
  readonly stream: CapturedTransaction[] = [];
  private position: string | null = null;
  private stopping = false;
  private connector: Connector | undefined;
  readonly done: Promise<void>;
  private readonly open: () => Promise<Connector>;
  private readonly limits: { readonly transactionsMax: number; readonly changesMax: number };
  private readonly restartEveryReads: number;

  constructor(open: () => Promise<Connector>, limits: { readonly transactionsMax: number; readonly changesMax: number }, restartEveryReads: number) {
    this.open = open;
    this.limits = limits;
    this.restartEveryReads = restartEveryReads;
    this.done = this.follow();
  }

  private async follow(): Promise<void> {
    let reads = 0;
    let idleAfterStop = 0;
    while (idleAfterStop < 2) {
      this.connector ??= await this.open();
      const batch = await this.connector.capture.read(this.position, this.limits);
      for (const transaction of batch) {
        if (this.position !== null) expect(this.connector.capture.comparePositions(transaction.position, this.position)).toBe(1);
        this.stream.push(transaction);
        this.position = transaction.position;
      }
      reads += 1;
      if (reads % this.restartEveryReads === 0) {
        await this.connector.close();
        this.connector = undefined;
      }
      if (batch.length === 0) {
        if (this.stopping) idleAfterStop += 1;
        else await new Promise((resolve) => setTimeout(resolve, 2));
      }
    }
    await this.connector?.close();
  }

  async finish(): Promise<void> {
    this.stopping = true;
    await this.done;
  }
}

describeWithPostgres('capture under contention on the same rows (postgres)', (db) => {
  it('delivers one identical, complete stream to every reader, with same-row changes in the order they were made', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`create table public.${table} (id integer primary key, value integer not null, tag text not null)`);
    // Commits delayed after the last change: last-change order and COMMIT order then differ often.
    await admin.query(`
      create function public.slow_commit() returns trigger language plpgsql as $$
      begin
        if current_setting('test.slow_commit', true) = 'on' then perform pg_sleep(0.02); end if;
        return null;
      end $$;
      create constraint trigger slow_commit after insert or update or delete on public.${table}
        deferrable initially deferred for each row execute function public.slow_commit();`);
    const installer = await openConnector(db.url, { schemas: ['public'] });
    await installer.capture.install([{ schema: 'public', name: table }]);
    await installer.close();

    const open = (): Promise<Connector> => openConnector(db.url, { schemas: ['public'] });
    const readers = [new Reader(open, { transactionsMax: 7, changesMax: 20 }, 5), new Reader(open, { transactionsMax: 500, changesMax: 2000 }, 11)];
    const outcomes: Outcome[] = [];

    const writer = async (writerIndex: number): Promise<void> => {
      const random = seededRandom(7000 + writerIndex);
      const key = (): number => 1 + Math.floor(random() * hotKeys);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      for (let index = 0; index < transactionsPerWriter; index += 1) {
        const tag = `w${writerIndex}-${index}`;
        const outcome: Outcome = { txid: '', changes: 0, committed: false };
        const run = async (text: string, params: readonly unknown[]): Promise<void> => {
          const result = await client.query(text, [...params]);
          outcome.changes += result.rowCount ?? 0;
        };
        try {
          await client.query('begin');
          outcome.txid = String((await client.query('select txid_current()::text as txid')).rows[0]?.['txid']);
          if (random() < 0.2) await client.query(`set local test.slow_commit = 'on'`);
          const operations = 1 + Math.floor(random() * 4);
          for (let operation = 0; operation < operations; operation += 1) {
            const dice = random();
            if (dice < 0.35) {
              await run(`insert into public.${table} (id, value, tag) values ($1, 0, $2) on conflict (id) do update set value = ${table}.value + 1, tag = excluded.tag`, [key(), tag]);
            } else if (dice < 0.6) {
              await run(`update public.${table} set value = value + 1, tag = $2 where id = $1`, [key(), tag]);
            } else if (dice < 0.72) {
              await run(`delete from public.${table} where id = $1`, [key()]);
            } else if (dice < 0.87) {
              // Several keys in random order: deadlocks happen and abort the whole transaction.
              await run(`update public.${table} set value = value + 10, tag = $3 where id in ($1, $2)`, [key(), key(), tag]);
            } else {
              // A change rolled back to a savepoint must never appear.
              await client.query('savepoint undo');
              await client.query(`update public.${table} set value = -1, tag = 'undone' where id = $1`, [key()]);
              await client.query('rollback to savepoint undo');
            }
            if (random() < 0.03) await new Promise((resolve) => setTimeout(resolve, 30 + random() * 50));
          }
          if (random() < 0.15) {
            await client.query('rollback');
          } else {
            await client.query('commit');
            outcome.committed = true;
          }
        } catch (error) {
          expect(['40P01', '40001']).toContain((error as { code?: string }).code);
          await client.query('rollback');
        }
        outcomes.push(outcome);
      }
      await client.end();
    };
    await Promise.all(Array.from({ length: writersCount }, (_, index) => writer(index)));
    await Promise.all(readers.map((reader) => reader.finish()));

    const [first, second] = readers.map((reader) => reader.stream) as [CapturedTransaction[], CapturedTransaction[]];
    // One stream, whoever reads it and however it is paged.
    expect(second).toEqual(first);
    // Exactly the committed transactions that changed something, each with all its changes.
    const committed = outcomes.filter((outcome) => outcome.committed && outcome.changes > 0);
    expect(outcomes.some((outcome) => !outcome.committed)).toBe(true);
    expect(new Set(first.map((transaction) => transaction.sourceTransactionId)).size).toBe(first.length);
    expect(first.map((transaction) => transaction.sourceTransactionId).sort()).toEqual(committed.map((outcome) => outcome.txid).sort());
    const changesByTxid = new Map(committed.map((outcome) => [outcome.txid, outcome.changes]));
    for (const transaction of first) expect(transaction.changes.length).toBe(changesByTxid.get(transaction.sourceTransactionId));
    // Replay in stream order: every before-image is the state the stream had built, and so is the table.
    const state = new Map<number, { value: number; tag: string }>();
    const image = (row: Readonly<Record<string, unknown>> | null): { value: number; tag: string } | undefined =>
      row === null ? undefined : { value: Number(row['value']), tag: String(row['tag']) };
    for (const transaction of first) {
      for (const change of transaction.changes) {
        const id = Number(change.key['id']);
        expect(image(change.before), `before-image of ${id} in ${transaction.sourceTransactionId} at ${transaction.position}`).toEqual(state.get(id));
        const after = image(change.after);
        if (after === undefined) state.delete(id);
        else state.set(id, after);
      }
    }
    const final = await admin.query(`select id, value, tag from public.${table} order by id`);
    expect([...state.entries()].sort((a, b) => a[0] - b[0])).toEqual(final.rows.map((row) => [Number(row['id']), { value: Number(row['value']), tag: String(row['tag']) }]));
    expect(first.length).toBeGreaterThan(writersCount * transactionsPerWriter * 0.4);
    await admin.end();
  }, 180_000);
});
