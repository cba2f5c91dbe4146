// The connector contract suite (./contract-suite.ts) through a real PgBouncer in transaction pooling,
// where the connector runs in pooled mode (connectors/postgres/postgres-session.ts). PgBouncer shares two
// server sessions among the connector's pooled connections (a statement prepared in one session would be
// missing in the other), and the database's default TimeZone is New York, not the connector's UTC. Then
// what pooled mode refuses, and how it says so.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnector } from '../../connectors/index.ts';
import { isEntenteError } from '../../common/errors.ts';
import { describeWithPgbouncer, withPostgresAdmin } from '../support/databases.ts';
import { startPgbouncer, type RunningPgbouncer } from '../support/pgbouncer.ts';
import { newTestDatabaseName } from '../support/services.ts';
import { runContractSuite } from './contract-suite.ts';
import { allFixtureFeatures } from './fixture.ts';
import { openPostgresContractDatabase } from './postgres-contract-database.ts';

describeWithPgbouncer('connector contract: postgres through PgBouncer (transaction pooling)', (db) => {
  let bouncer: RunningPgbouncer | undefined;
  const through = (database: string): string => {
    if (bouncer === undefined) throw new Error('PgBouncer did not start');
    return bouncer.url(database);
  };
  beforeAll(async () => {
    await withPostgresAdmin(db.settings, (admin) => admin.query(`alter database "${db.name}" set timezone = 'America/New_York'`));
    bouncer = await startPgbouncer(db.settings, { poolMode: 'transaction', poolSize: 2 });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });

  runContractSuite({ label: 'postgres-pgbouncer', features: allFixtureFeatures, open: () => openPostgresContractDatabase(through(db.name)) });

  it('says so when the URL asks for TLS and the pooler offers none', async () => {
    const refused = await openConnector(`${through(db.name)}?sslmode=no-verify`).then(() => null, (error: unknown) => error);
    expect(isEntenteError(refused, 'DB_UNREACHABLE')).toBe(true);
    expect((refused as Error).message).toMatch(/offers no TLS, and the URL asks for it \(sslmode\)/);
  });

  describe('pooled mode', () => {
    it('reads timestamps in UTC although the server sessions default to New York, and writes over shared server sessions', async () => {
      const connector = await openConnector(through(db.name));
      const outside = new pg.Client({ ...db.settings, database: db.name });
      await outside.connect();
      try {
        await outside.query('create table pooled_times (id int primary key, at timestamptz not null)');
        await outside.query(`insert into pooled_times values (1, '2024-05-01T10:00:00.123456Z')`);
        const table = { schema: 'public', name: 'pooled_times' };
        // Single-statement writes are prepared by name on a direct connection; through the pooler a
        // named statement would be missing from (or already in) whichever server session runs it.
        await Promise.all(Array.from({ length: 24 }, (_, index) => connector.write([{ op: 'insert', table, values: { id: index + 2, at: '2025-01-02T03:04:05Z' } }])));
        const rows = await connector.loadByKeys(table, ['id'], [[1], [25]]);
        expect(rows.map((row) => row?.['at'])).toEqual(['2024-05-01T10:00:00.123456Z', '2025-01-02T03:04:05.000000Z']);
      } finally {
        await outside.end();
        await connector.close();
      }
    });

    it('notices a pooler that accepts the startup options and drops them, instead of reading bytea in the wrong form', async () => {
      // With `options` dropped, bytea_output would stay the database's 'escape', and the codec reading
      // hex would return other bytes. The settings check stops the connector from opening at all.
      const name = newTestDatabaseName();
      await withPostgresAdmin(db.settings, async (admin) => {
        await admin.query(`create database "${name}"`);
        await admin.query(`alter database "${name}" set bytea_output = 'escape'`);
      });
      const dropping = await startPgbouncer(db.settings, { poolMode: 'session', poolSize: 2, ignoreStartupParameters: ['options'] });
      try {
        const error: unknown = await openConnector(dropping.url(name)).catch((caught: unknown) => caught);
        expect(isEntenteError(error, 'DB_UNSUPPORTED')).toBe(true);
        expect((error as Error).message).toContain(`ALTER DATABASE "${name}" SET bytea_output = 'hex';`);
        // The same pooler in front of a database with the usual defaults is used in pooled mode.
        const connector = await openConnector(dropping.url(db.name));
        const rows = await connector.loadByKeys({ schema: 'public', name: 'pooled_times' }, ['id'], [[1]]);
        await connector.close();
        expect(rows[0]?.['at']).toBe('2024-05-01T10:00:00.123456Z');
      } finally {
        await dropping.stop();
        await withPostgresAdmin(db.settings, (admin) => admin.query(`drop database if exists "${name}" with (force)`));
      }
    });

    it('refuses statement pooling, which allows no transaction, naming the pool mode to use', async () => {
      const statements = await startPgbouncer(db.settings, { poolMode: 'statement', poolSize: 2 });
      try {
        const error: unknown = await openConnector(statements.url(db.name)).catch((caught: unknown) => caught);
        expect(isEntenteError(error, 'DB_UNSUPPORTED')).toBe(true);
        expect((error as Error).message).toMatch(/statement pooling, which allows no transactions.*pool_mode = transaction/s);
      } finally {
        await statements.stop();
      }
    });

    it('refuses logical-decoding capture, which needs a replication connection, naming the fix', async () => {
      const error: unknown = await openConnector(through(db.name), { capture: 'logical-decoding' }).catch((caught: unknown) => caught);
      expect(isEntenteError(error, 'CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toMatch(/replication connection.*PgBouncer.*Point the URL at PostgreSQL itself/s);
    });

    it('names the ALTER DATABASE that fixes a server default the pooler cannot override', async () => {
      const name = newTestDatabaseName();
      await withPostgresAdmin(db.settings, async (admin) => {
        await admin.query(`create database "${name}"`);
        await admin.query(`alter database "${name}" set intervalstyle = 'iso_8601'`);
      });
      try {
        const error: unknown = await openConnector(through(name)).catch((caught: unknown) => caught);
        expect(isEntenteError(error, 'DB_UNSUPPORTED')).toBe(true);
        expect((error as Error).message).toContain('IntervalStyle = iso_8601 (needs postgres)');
        expect((error as Error).message).toContain(`ALTER DATABASE "${name}" SET IntervalStyle = 'postgres';`);
      } finally {
        await withPostgresAdmin(db.settings, (admin) => admin.query(`drop database if exists "${name}" with (force)`));
      }
    });
  });
});
