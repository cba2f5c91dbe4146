// The connector contract suite (./contract-suite.ts) over TLS, as managed PostgreSQL services are
// reached: `sslmode=no-verify` in the URL (the test server's certificate is self-signed, see .ci/run),
// with logical-decoding capture, so the pooled connections and the replication connection both go
// through TLS. Then what a refused certificate says, and that sslrootcert makes it accepted. Needs ssl = on
// and wal_level = logical.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { isEntenteError } from '../../common/errors.ts';
import { openConnector } from '../../connectors/index.ts';
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

  describeWithService('postgres', 'certificates', () => {
    const db = freshPostgresDatabase();
    it('says how to fix a refused certificate, and connects once sslrootcert names its authority', async () => {
      const refused = await openConnector(`${db.url}?sslmode=verify-full`).then(() => null, (error: unknown) => error);
      expect(isEntenteError(refused, 'DB_UNREACHABLE')).toBe(true);
      expect((refused as Error).message).toMatch(/TLS certificate of PostgreSQL at .* was refused \(self-signed certificate\)\. Give the authority .* sslrootcert=/);

      // .ci/run's certificate is self-signed for CN=localhost: it is its own authority, for that name.
      const certificate = await withPostgresAdmin(db.settings, async (admin) => {
        const { rows } = await admin.query<{ file: string; dir: string }>(`select current_setting('ssl_cert_file') as file, current_setting('data_directory') as dir`);
        const file = rows[0]!.file;
        return readFileSync(file.startsWith('/') ? file : join(rows[0]!.dir, file), 'utf8');
      });
      const folder = await mkdtemp(join(tmpdir(), 'entente-pg-ca-'));
      try {
        await writeFile(join(folder, 'root.crt'), certificate);
        const url = new URL(db.url);
        url.hostname = 'localhost';
        const connector = await openConnector(`${url.toString()}?sslmode=verify-full&sslrootcert=${encodeURIComponent(join(folder, 'root.crt'))}`);
        expect(await connector.introspect({ schemas: ['public'] })).toBeDefined();
        await connector.close();
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    });
  });
});
