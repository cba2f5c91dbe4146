// Shared pieces of the capture-order tests (acceptance 2): concurrent outside writers that remember
// exactly what each transaction changed (from RETURNING) and when its COMMIT was sent and answered, a
// consumer that follows the capture stream like a gateway (resuming by position after restarts), and
// the checks that the captured stream equals the committed changes, in commit order.
import { expect } from 'vitest';
import type { CapturedTransaction, Connector } from '../../connectors/connector.ts';

export const workloadTable = 'capture_accounts';
export const workloadDdl = `create table public.${workloadTable} (id integer primary key, value integer not null, tag text not null)`;

export interface ExpectedChange {
  readonly op: 'insert' | 'update' | 'delete';
  readonly id: number;
  /** value and tag after the change; null for deletes. */
  readonly after: { readonly value: number; readonly tag: string } | null;
}

export interface WriterTransaction {
  readonly tag: string;
  txid: string | null;
  readonly changes: ExpectedChange[];
  outcome: 'committed' | 'rolled-back' | 'failed' | 'commit-unknown';
  commitSentMs: number;
  commitAnsweredMs: number;
}

/** What a writer needs from its client: a statement inside the current transaction. */
export type Query = (text: string, params: readonly unknown[]) => Promise<readonly Record<string, unknown>[]>;

/** Random but reproducible choices (a tiny LCG), so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Ids any writer inserted and believes exist: shared, so writers contend on the same rows. */
export class LiveIds {
  private readonly ids: number[] = [];
  add(id: number): void {
    this.ids.push(id);
  }
  pick(random: () => number): number | undefined {
    if (this.ids.length === 0) return undefined;
    return this.ids[Math.floor(random() * this.ids.length)];
  }
}

/** The body of one writer transaction: 1–4 mixed operations, each recorded from RETURNING. */
export async function runOperations(query: Query, record: WriterTransaction, nextId: () => number, live: LiveIds, random: () => number): Promise<void> {
  const [txRow] = await query('select txid_current()::text as txid', []);
  record.txid = String(txRow?.['txid']);
  const operationCount = 1 + Math.floor(random() * 4);
  for (let index = 0; index < operationCount; index += 1) {
    const dice = random();
    const existing = live.pick(random);
    if (dice < 0.45 || existing === undefined) {
      const id = nextId();
      const rows = await query(`insert into public.${workloadTable} (id, value, tag) values ($1, $2, $3) returning id, value, tag`, [id, Math.floor(random() * 1000), record.tag]);
      for (const row of rows) record.changes.push({ op: 'insert', id: Number(row['id']), after: { value: Number(row['value']), tag: String(row['tag']) } });
      live.add(id);
    } else if (dice < 0.85) {
      const rows = await query(`update public.${workloadTable} set value = value + 1, tag = $2 where id = $1 returning id, value, tag`, [existing, record.tag]);
      for (const row of rows) record.changes.push({ op: 'update', id: Number(row['id']), after: { value: Number(row['value']), tag: String(row['tag']) } });
    } else {
      const rows = await query(`delete from public.${workloadTable} where id = $1 returning id`, [existing]);
      for (const row of rows) record.changes.push({ op: 'delete', id: Number(row['id']), after: null });
    }
  }
}

/**
 * Follows the capture stream like a gateway: reads after its last position, acknowledges now and
 * then, and survives connector restarts by resuming from the acknowledged position and skipping what
 * it already has (exactly-once by position).
 */
export class StreamFollower {
  readonly captured: CapturedTransaction[] = [];
  position: string | null = null;
  readErrors = 0;
  private stopping = false;
  private connector: Connector;
  private readonly done: Promise<void>;

  private readonly eager: boolean;

  /** `eager`: read again after 1 ms instead of sleeping when nothing is new (lands reads while commits are in flight). */
  constructor(connector: Connector, options: { readonly eager?: boolean } = {}) {
    this.connector = connector;
    this.eager = options.eager ?? false;
    this.done = this.follow();
  }

  private async follow(): Promise<void> {
    let idleRoundsAfterStop = 0;
    let batches = 0;
    while (idleRoundsAfterStop < 2) {
      const connector = this.connector;
      try {
        const batch = await connector.capture.read(this.position, { transactionsMax: 50, changesMax: 500 });
        for (const transaction of batch) {
          if (this.position !== null && connector.capture.comparePositions(transaction.position, this.position) <= 0) continue;
          this.captured.push(transaction);
          this.position = transaction.position;
        }
        batches += 1;
        if (batch.length > 0 && batches % 3 === 0 && this.position !== null) await connector.capture.acknowledge(this.position);
        if (batch.length === 0) {
          if (this.stopping) idleRoundsAfterStop += 1;
          else if (this.eager) await new Promise((resolve) => setTimeout(resolve, 1));
          else await connector.capture.waitForChanges(200);
        }
      } catch {
        // The database or the connector is restarting: wait and try again.
        this.readErrors += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Swaps in a freshly opened connector and rewinds to its acknowledged position. */
  async restartWith(open: () => Promise<Connector>): Promise<void> {
    const old = this.connector;
    const fresh = await open();
    const acknowledged = await fresh.capture.acknowledgedPosition();
    if (acknowledged !== null && this.position !== null) expect(fresh.capture.comparePositions(acknowledged, this.position)).toBeLessThanOrEqual(0);
    this.connector = fresh;
    await old.close();
  }

  current(): Connector {
    return this.connector;
  }

  async finish(): Promise<void> {
    this.stopping = true;
    await this.done;
  }
}

export function committedTransactions(writers: readonly WriterTransaction[]): readonly WriterTransaction[] {
  return writers.filter((transaction) => transaction.outcome === 'committed' && transaction.changes.length > 0);
}

/** PostgreSQL positions are "<batch>:<sequence>": real-time order is promised between batches. */
export function postgresBatchOf(position: string): bigint {
  return BigInt(position.split(':')[0] ?? '0');
}

/**
 * The captured stream must equal the committed transactions: same transactions (by source id), same
 * changes in statement order, nothing from rolled-back ones, no duplicates; and its order must be a
 * commit order: replaying it reproduces every before-image and the final table (so changes to the same
 * row come in the order they were made), and a transaction whose COMMIT was answered before another's
 * COMMIT was sent comes first — or, with `epochOf`, comes in an epoch (a PostgreSQL batch) no later.
 */
export function expectStreamEqualsCommits(
  captured: readonly CapturedTransaction[],
  writers: readonly WriterTransaction[],
  finalRows: ReadonlyMap<number, { readonly value: number; readonly tag: string }>,
  epochOf?: (position: string) => bigint,
): void {
  const committed = committedTransactions(writers);
  const byTxid = new Map(committed.map((transaction) => [transaction.txid, transaction]));
  const capturedIds = captured.map((transaction) => transaction.sourceTransactionId);
  expect(new Set(capturedIds).size).toBe(capturedIds.length);
  expect([...capturedIds].sort()).toEqual(committed.map((transaction) => transaction.txid).sort());
  for (const transaction of captured) {
    const expected = byTxid.get(transaction.sourceTransactionId);
    expect(transaction.changes.map((change) => ({ op: change.op, id: change.key['id'], after: change.after === null ? null : { value: change.after['value'], tag: change.after['tag'] } }))).toEqual(expected?.changes);
  }
  // Replay: every before-image must be the state the earlier transactions left.
  const state = new Map<number, { value: number; tag: string }>();
  for (const transaction of captured) {
    for (const change of transaction.changes) {
      const id = Number(change.key['id']);
      const before = change.before === null ? undefined : { value: Number(change.before['value']), tag: String(change.before['tag']) };
      expect(before).toEqual(change.op === 'insert' ? undefined : state.get(id));
      if (change.op === 'insert') expect(state.has(id)).toBe(false);
      if (change.after === null) state.delete(id);
      else state.set(id, { value: Number(change.after['value']), tag: String(change.after['tag']) });
    }
  }
  expect(new Map([...state].sort((a, b) => a[0] - b[0]))).toEqual(new Map([...finalRows].sort((a, b) => a[0] - b[0])));
  // Real-time order: answered-before-sent implies an earlier position (or an epoch no later).
  const indexOf = new Map(captured.map((transaction, index) => [transaction.sourceTransactionId, index]));
  const epochByTxid = new Map(captured.map((transaction) => [transaction.sourceTransactionId, epochOf?.(transaction.position) ?? 0n]));
  let orderedPairs = 0;
  for (const earlier of committed) {
    for (const later of committed) {
      if (earlier.commitAnsweredMs >= later.commitSentMs) continue;
      orderedPairs += 1;
      const first = earlier.txid ?? '';
      const second = later.txid ?? '';
      if (epochOf === undefined) expect((indexOf.get(first) ?? -1) < (indexOf.get(second) ?? -1)).toBe(true);
      else expect((epochByTxid.get(first) ?? -1n) <= (epochByTxid.get(second) ?? -1n)).toBe(true);
    }
  }
  expect(orderedPairs).toBeGreaterThan(0);
}
