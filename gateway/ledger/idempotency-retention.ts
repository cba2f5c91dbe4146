// Idempotency keys are kept for a retention period, then deleted: `entente_idempotency` gets a row per
// keyed mutation and grew without bound. A retry is answered from the key only while it is kept (clients
// retry within minutes; 24 hours by default, `limits.idempotencyKeyRetentionHours`), after which the same
// key is a new mutation. Deleting goes through the connector's list and write, in bounded pages, so it
// works alike on every database family.
import type { Connector, Filter } from '../../connectors/connector.ts';
import type { Logger } from '../server/logger.ts';
import { IDEMPOTENCY_TABLE } from './ledgered-write-path.ts';

/** Keys deleted per statement, and statements per sweep (the rest waits for a follow-up sweep). */
export const RETENTION_PAGE_ROWS = 500;
export const RETENTION_PAGES_PER_SWEEP_MAX = 20;
/** Longest time between sweeps; shorter retentions sweep four times per retention period. */
const SWEEP_INTERVAL_MS_MAX = 10 * 60_000;
/**
 * A sweep that stopped at its page cap with keys left is followed by another after this pause, not at
 * the next interval: with only the interval, at most 10,000 keys went every 10 minutes (17 a second),
 * so a gateway taking more keyed mutations than that kept a table that grew for ever.
 */
export const RETENTION_FOLLOW_UP_MS = 1_000;

export interface IdempotencyRetentionOptions {
  readonly connector: Connector;
  readonly retentionMs: number;
  readonly logger: Logger;
  /** The clock (tests move it). */
  readonly now?: () => number;
  /** Pause before a follow-up sweep (RETENTION_FOLLOW_UP_MS; tests shorten it). */
  readonly followUpMs?: number;
}

export class IdempotencyRetention {
  private readonly o: IdempotencyRetentionOptions;
  private readonly now: () => number;
  /** Rows written before the created_at column existed have none: they are at least as old as this start. */
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | null = null;
  private followUp: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  /** Whether the last sweep stopped at its page cap with a full page: keys may be left. */
  private cappedLastSweep = false;

  constructor(options: IdempotencyRetentionOptions) {
    if (!(Number.isFinite(options.retentionMs) && options.retentionMs > 0)) throw new RangeError('the idempotency key retention must be a positive number of milliseconds');
    this.o = options;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Sweeps now and then periodically, in the background (failures are logged and retried at the next sweep). */
  start(): void {
    const interval = Math.min(SWEEP_INTERVAL_MS_MAX, Math.max(1_000, Math.floor(this.o.retentionMs / 4)));
    const tick = (): void => {
      this.sweeping ??= this.sweep().catch((error: unknown) => {
        this.o.logger.warn({ err: error }, 'idempotency keys: deleting expired keys failed; retried at the next sweep');
        return 0;
      }).finally(() => {
        this.sweeping = null;
        if (this.cappedLastSweep && this.timer !== null && this.followUp === null) {
          this.followUp = setTimeout(() => {
            this.followUp = null;
            tick();
          }, this.o.followUpMs ?? RETENTION_FOLLOW_UP_MS);
          this.followUp.unref();
        }
      });
    };
    tick();
    this.timer = setInterval(tick, interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.followUp !== null) clearTimeout(this.followUp);
    this.followUp = null;
    await this.sweeping;
  }

  /** Deletes keys older than the retention (at most RETENTION_PAGES_PER_SWEEP_MAX pages); returns how many. */
  async sweep(): Promise<number> {
    const { connector } = this.o;
    const table = connector.replica.tableRef(IDEMPOTENCY_TABLE);
    const now = this.now();
    const expired: Filter[] = [{ column: 'created_at', op: 'lt', value: new Date(now - this.o.retentionMs).toISOString() }];
    if (now - this.startedAt >= this.o.retentionMs) expired.push({ column: 'created_at', op: 'isNull', value: true });
    const pageRows = Math.min(RETENTION_PAGE_ROWS, connector.limits.pageSizeMax, connector.limits.operationsPerWriteMax);
    let deleted = 0;
    this.cappedLastSweep = false;
    for (let page = 0; page < RETENTION_PAGES_PER_SWEEP_MAX; page++) {
      const { rows } = await connector.list({ table, where: { or: expired }, first: pageRows, columns: ['idempotency_key'] });
      if (rows.length === 0) break;
      await connector.write(rows.map((row) => ({ op: 'delete' as const, table, key: { idempotency_key: row['idempotency_key'] ?? null } })));
      deleted += rows.length;
      if (rows.length < pageRows) break;
      this.cappedLastSweep = page === RETENTION_PAGES_PER_SWEEP_MAX - 1;
    }
    if (deleted > 0) this.o.logger.info({ deleted, retentionHours: this.o.retentionMs / 3_600_000 }, 'idempotency keys: deleted keys past their retention');
    return deleted;
  }
}
