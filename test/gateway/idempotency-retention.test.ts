// Goal: idempotency keys do not accumulate for ever: keys older than the retention are deleted, younger
// ones stay (a retry within the retention is still answered), and a table from before the created_at
// column gets it, its rows counting as old as the gateway's start. Method: the gateway's own idempotency table on PGlite, real
// PostgreSQL and real MariaDB, rows written through the connector with chosen times, and the sweeper on a
// clock the test moves; more expired keys than one page, so the paging is exercised too, and more than
// one sweep may delete, which must be followed by another sweep at once rather than at the interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector, Row } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { IdempotencyRetention, RETENTION_PAGE_ROWS, RETENTION_PAGES_PER_SWEEP_MAX } from '../../gateway/ledger/idempotency-retention.ts';
import { IDEMPOTENCY_TABLE, idempotencyTable } from '../../gateway/ledger/ledgered-write-path.ts';
import { createLogger } from '../../gateway/server/logger.ts';
import { describeWithMariadb, describeWithPostgres, type FreshDatabase } from '../support/databases.ts';
import { eventually } from '../support/eventually.ts';

const HOUR = 3_600_000;
const logger = createLogger({ level: 'silent' });

function retentionSuite(url: () => string): void {
  let connector: Connector;
  beforeAll(async () => {
    connector = await openConnector(url());
    // The table as gateways made it before keys had a time, with one key in it; then today's definition.
    await connector.replica.ensureTables([{ ...idempotencyTable, columns: idempotencyTable.columns.filter((column) => column.name !== 'created_at') }]);
    await connector.write([{ op: 'insert', table: connector.replica.tableRef(IDEMPOTENCY_TABLE), values: { idempotency_key: 'legacy', type_name: 'Order', row_key: null, origin: 'm:acme:k:legacy' } }]);
    await connector.replica.ensureTables([idempotencyTable]);
  });
  afterAll(async () => {
    await connector?.close();
  });

  async function keys(): Promise<string[]> {
    const { rows } = await connector.list({ table: connector.replica.tableRef(IDEMPOTENCY_TABLE), first: 1000 });
    return rows.map((row) => String(row['idempotency_key'])).sort();
  }

  async function insert(rows: readonly Row[]): Promise<void> {
    const table = connector.replica.tableRef(IDEMPOTENCY_TABLE);
    for (let i = 0; i < rows.length; i += 500) await connector.write(rows.slice(i, i + 500).map((values) => ({ op: 'insert' as const, table, values })));
  }

  it('deletes keys past the retention, in pages, keeps younger ones, and ages keys without a time from the gateway start', async () => {
    const start = Date.UTC(2026, 10, 27, 12);
    let now = start;
    const row = (key: string, createdAt: number | null): Row => ({ idempotency_key: key, type_name: 'Order', row_key: null, origin: `m:acme:k:${key}`, created_at: createdAt === null ? null : new Date(createdAt).toISOString() });
    const expired = Array.from({ length: RETENTION_PAGE_ROWS + 20 }, (_, i) => row(`old-${String(i).padStart(4, '0')}`, start - 25 * HOUR - i));
    await insert([...expired, row('recent', start - HOUR)]);
    const retention = new IdempotencyRetention({ connector, logger, retentionMs: 24 * HOUR, now: () => now });

    expect(await retention.sweep()).toBe(RETENTION_PAGE_ROWS + 20);
    expect(await keys()).toEqual(['legacy', 'recent']);
    // 23 hours on: 'recent' is 24 hours old, just past the retention; 'legacy' counts from the start, 23 hours.
    now = start + 23 * HOUR + 1;
    expect(await retention.sweep()).toBe(1);
    expect(await keys()).toEqual(['legacy']);
    now = start + 24 * HOUR;
    expect(await retention.sweep()).toBe(1);
    expect(await keys()).toEqual([]);
    expect(await retention.sweep()).toBe(0);
  });

  it('follows a sweep that stopped at its page cap with another at once, not at the next interval', async () => {
    const start = Date.UTC(2026, 10, 29, 12);
    const expired = Array.from({ length: RETENTION_PAGES_PER_SWEEP_MAX * RETENTION_PAGE_ROWS + 20 }, (_, i): Row => ({ idempotency_key: `backlog-${String(i).padStart(5, '0')}`, type_name: 'Order', row_key: null, origin: `m:acme:k:backlog-${i}`, created_at: new Date(start - 25 * HOUR).toISOString() }));
    await insert(expired);
    // One sweep more than its cap: two sweeps are needed, and the interval (10 minutes) allows one here.
    const retention = new IdempotencyRetention({ connector, logger, retentionMs: 24 * HOUR, now: () => start, followUpMs: 10 });
    retention.start();
    try {
      await eventually(async () => expect(await keys()).toEqual([]), 20_000);
    } finally {
      await retention.stop();
    }
  });
}

describe('idempotency key retention on PGlite', () => {
  retentionSuite(() => 'pglite:memory');
});

describeWithPostgres('idempotency key retention on PostgreSQL', (database: FreshDatabase) => {
  retentionSuite(() => database.url);
});

describeWithMariadb('idempotency key retention on MariaDB', (database: FreshDatabase) => {
  retentionSuite(() => database.url);
});
