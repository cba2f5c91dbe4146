// The connector contract suite (./contract-suite.ts) over TLS, as managed PostgreSQL services are
// reached: `sslmode=no-verify` in the URL (the test server's certificate is self-signed, see .ci/run),
// with logical-decoding capture, so the pooled connections and the replication connection both go
// through TLS. Needs ssl = on and wal_level = logical.
import { expect, it } from 'vitest';
import { describeWithService, freshPostgresDatabase, withPostgresAdmin } from '../support/databases.ts';
import { runContractSuite } from './contract-suite.ts';
import { allFixtureFeatures } from './fixture.ts';
import { openPostgresContractDatabase } from './postgres-contract-database.ts';

const overTls = (url: string): string => `${url}?sslmode=no-verify`;

describeWithService('postgresTls', 'connector contract: postgres over TLS', () => {
  describeWithService('postgresLogical', 'logical-decoding capture', () => {
    const suiteDb = freshPostgresDatabase();
    runContractSuite({ label: 'postgres-tls', features: allFixtureFeatures, open: () => openPostgresContractDatabase(overTls(suiteDb.url), { capture: 'logical-decoding' }) });
  });

  describeWithService('postgresLogical', 'the sessions a connector opens', () => {
    const db = freshPostgresDatabase();
    it('connects every session, the replication connection included, with TLS', async () => {
      const contract = await openPostgresContractDatabase(overTls(db.url), { capture: 'logical-decoding' });
      try {
        await contract.connector.capture.install([{ schema: contract.namespace, name: 'customers' }]);
        await contract.insertOutside('customers', [{ id: 990, name: 'over TLS', tier: 'gold', balance: '1.00', created_at: '2024-01-01T00:00:00.000000Z' }]);
        const read = await contract.connector.capture.read(null, { transactionsMax: 10, changesMax: 10 });
        expect(read.length).toBeGreaterThan(0);
        const sessions = await withPostgresAdmin(db.settings, async (admin) => {
          const { rows } = await admin.query<{ ssl: boolean; backend_type: string }>(
            'select s.ssl, a.backend_type from pg_stat_activity a join pg_stat_ssl s using (pid) where a.datname = $1',
            [db.name],
          );
          return rows;
        });
        expect(sessions.some((session) => session.backend_type === 'walsender')).toBe(true);
        expect(sessions.filter((session) => !session.ssl)).toEqual([]);
      } finally {
        await contract.close();
      }
    });
  });
});
