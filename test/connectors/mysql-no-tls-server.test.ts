// Goal: a URL that asks for TLS (ssl-mode=REQUIRED) against a MySQL/MariaDB server that offers none is
// refused before any credentials are sent, with an error that names the cause and both fixes; without
// ssl-mode the same server is reached (nothing else was wrong).
// Method: a MariaDB server of the test's own started with --skip-ssl (test/support/scratch-mariadb.ts:
// the shared server keeps its TLS), and the real connector.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isEntenteError } from '../../common/errors.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithService } from '../support/databases.ts';
import { startScratchMariadb, type ScratchMariadb } from '../support/scratch-mariadb.ts';

describeWithService('mariadbBinaries', 'MySQL/MariaDB connector against a server without TLS', () => {
  let server: ScratchMariadb;
  beforeAll(async () => {
    server = await startScratchMariadb({ serverOptions: ['--skip-ssl'] });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses ssl-mode=REQUIRED naming the server\'s missing TLS, and connects without it', async () => {
    const url = `mysql://root@127.0.0.1:${server.port}/mysql`;
    const refused = await openConnector(`${url}?ssl-mode=REQUIRED`).then(() => null, (error: unknown) => error);
    expect(isEntenteError(refused, 'DB_UNREACHABLE')).toBe(true);
    expect((refused as Error).message).toMatch(new RegExp(`server at 127\\.0\\.0\\.1:${server.port} offers no TLS, and the connection URL asks for it \\(ssl-mode\\): turn TLS on in the server`));
    const connector = await openConnector(url);
    try {
      expect(connector.family).toBe('mysql');
    } finally {
      await connector.close();
    }
  });
});
