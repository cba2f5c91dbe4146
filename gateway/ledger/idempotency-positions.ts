// Where each keyed mutation landed on the ledger, written into its idempotency row. A retry names the
// first attempt's transaction and height; the write path knows them from memory only for mutations
// published since this gateway started (and only the newest RECENT_PUBLISHED_MAX), so a retry after a
// restart answered with a null ledger height even under syncMode LEDGER. The capture publisher flushes
// this before every acknowledgement of the capture position: a position is only acknowledged once the
// idempotency rows of everything up to it name their block, and anything not yet flushed when the
// gateway stops is read again from the capture stream on restart and recorded then.
import { isEntenteError } from '../../common/errors.ts';
import type { Connector, WriteOperation } from '../../connectors/connector.ts';
import type { Logger } from '../server/logger.ts';

/** Positions waiting to be written; beyond it the oldest are dropped (their retries answer without a height). */
export const PENDING_POSITIONS_MAX = 100_000;

export interface LedgerPosition {
  readonly height: number;
  readonly transactionId: string | null;
}

export interface IdempotencyPositionsOptions {
  readonly connector: Connector;
  /** The idempotency table's name among the connector's replica tables. */
  readonly table: string;
  readonly logger: Logger;
}

export class IdempotencyPositions {
  private readonly o: IdempotencyPositionsOptions;
  /** By idempotency key; a later record for the same key replaces the earlier one. */
  private toWrite = new Map<string, LedgerPosition>();
  /** Taken by the flush under way, until written: still pending to a retry that reads its row meanwhile. */
  private writing = new Map<string, LedgerPosition>();
  private droppedWarned = false;

  constructor(options: IdempotencyPositionsOptions) {
    this.o = options;
  }

  /** A position recorded but not written yet. */
  pending(idempotencyKey: string): LedgerPosition | undefined {
    return this.toWrite.get(idempotencyKey) ?? this.writing.get(idempotencyKey);
  }

  record(idempotencyKey: string, position: LedgerPosition): void {
    this.toWrite.delete(idempotencyKey);
    this.toWrite.set(idempotencyKey, position);
    if (this.toWrite.size <= PENDING_POSITIONS_MAX) return;
    this.toWrite.delete(this.toWrite.keys().next().value!);
    if (!this.droppedWarned) {
      this.droppedWarned = true;
      this.o.logger.warn({ limit: PENDING_POSITIONS_MAX }, 'idempotency keys: too many ledger positions wait to be written (is the database slow?); the oldest are dropped, and their retries answer without a ledger height');
    }
  }

  /** Writes every pending position, in bounded transactions; on failure the unwritten ones stay pending. */
  async flush(): Promise<void> {
    if (this.toWrite.size === 0) return;
    this.writing = this.toWrite;
    this.toWrite = new Map();
    const entries = [...this.writing];
    const pageSize = Math.max(1, this.o.connector.limits.operationsPerWriteMax);
    let written = 0;
    try {
      for (; written < entries.length; written += pageSize) await this.writePage(entries.slice(written, written + pageSize));
    } catch (error) {
      // Put back what was not written, unless a newer record for the same key arrived meanwhile.
      for (const [key, position] of entries.slice(written)) if (!this.toWrite.has(key)) this.toWrite.set(key, position);
      throw error;
    } finally {
      this.writing = new Map();
    }
  }

  private async writePage(page: readonly (readonly [string, LedgerPosition])[]): Promise<void> {
    const table = this.o.connector.replica.tableRef(this.o.table);
    const update = ([key, position]: readonly [string, LedgerPosition]): WriteOperation => ({
      op: 'update', table, key: { idempotency_key: key }, values: { ledger_height: String(position.height), transaction_id: position.transactionId },
    });
    try {
      await this.o.connector.write(page.map(update));
    } catch (error) {
      if (!isEntenteError(error, 'DB_NOT_FOUND')) throw error;
      // A key deleted meanwhile (retention, or by hand) fails the whole transaction: one at a time, without it.
      for (const entry of page) {
        try {
          await this.o.connector.write([update(entry)]);
        } catch (single) {
          if (!isEntenteError(single, 'DB_NOT_FOUND')) throw single;
        }
      }
    }
  }
}
