// Goal: a PostgreSQL server whose pg_hba.conf admits this client only over TLS ("hostssl", as managed
// services and hardened servers do) refuses a URL without sslmode; the connector's error then says to
// add sslmode instead of only "check the password", and with sslmode the same URL connects and reads.
// Method: a PostgreSQL server of the test's own (test/support/scratch-postgres.ts: the shared server's
// pg_hba.conf stays as it is) with only hostssl lines, serving the test certificate of test/support/tls;
// the real connector, once without TLS, once with sslmode=verify-full against the test authority.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isEntenteError } from '../../common/errors.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithService } from '../support/databases.ts';
import { startScratchPostgres, type ScratchPostgres } from '../support/scratch-postgres.ts';

const tlsDir = fileURLToPath(new URL('../support/tls/', import.meta.url));

describeWithService('postgresBinaries', 'PostgreSQL that admits this client only over TLS', () => {
  let server: ScratchPostgres;
  beforeAll(async () => {
    server = await startScratchPostgres({
      hba: ['hostssl all all 127.0.0.1/32 trust'],
      tls: { certFile: join(tlsDir, 'gateway.crt'), keyFile: join(tlsDir, 'gateway.key') },
    });
  }, 60_000);
  afterAll(() => server?.stop());

  it('says to add sslmode when the login is refused for want of TLS, and connects once it is there', async () => {
    const url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
    const refused = await openConnector(`${url}?sslmode=disable`).then(() => null, (error: unknown) => error);
    expect(isEntenteError(refused, 'DB_AUTH_FAILED')).toBe(true);
    expect((refused as Error).message).toMatch(/no encryption/);
    expect((refused as Error).message).toMatch(/admits this client only over TLS: add sslmode=verify-full/);
    const connector = await openConnector(`${url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(join(tlsDir, 'ca.crt'))}`);
    try {
      expect(connector.family).toBe('postgres');
      expect((await connector.introspect()).tables).toEqual([]);
    } finally {
      await connector.close();
    }
  });
});
