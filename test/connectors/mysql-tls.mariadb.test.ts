// Goal: the MySQL/MariaDB connector speaks TLS when the URL asks (ssl-mode, ssl-ca, the MySQL client's
// own option names), passes the whole contract suite that way as an account that may connect only over
// TLS, and says what to fix when TLS cannot be had: an account that requires TLS reached without it, a
// certificate no trusted authority issued, options it does not know.
// Method: parseMysqlUrl on literal URLs; the real MariaDB server (.ci/run gives it a self-signed
// certificate) with an account created REQUIRE SSL for this file.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEntenteError } from '../../common/errors.ts';
import { openMysqlConnector, parseMysqlUrl } from '../../connectors/mysql/mysql-connector.ts';
import { describeWithService, freshMariadbDatabase } from '../support/databases.ts';
import { runContractSuite } from './contract-suite.ts';
import { mariadbContractFeatures, openMariadbContractDatabase } from './mariadb-contract-database.ts';

describe('MySQL URL: TLS options', () => {
  it('reads ssl-mode (any case) and ssl-ca, and leaves TLS off without them', () => {
    expect(parseMysqlUrl('mysql://app@db.example/shop').tls).toBeNull();
    expect(parseMysqlUrl('mysql://app@db.example/shop?ssl-mode=required').tls).toEqual({ mode: 'REQUIRED', caFile: null });
    expect(parseMysqlUrl('mysql://app@db.example/shop?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ssl/ca.pem').tls).toEqual({ mode: 'VERIFY_IDENTITY', caFile: '/etc/ssl/ca.pem' });
  });

  it('refuses options it does not know, PREFERRED, and ssl-ca where nothing is verified', () => {
    const problem = (url: string): string => {
      try {
        parseMysqlUrl(url);
      } catch (error) {
        if (isEntenteError(error, 'CONFIG_INVALID')) return error.message;
        throw error;
      }
      throw new Error('expected CONFIG_INVALID');
    };
    expect(problem('mysql://app@db.example/shop?sslmode=require')).toMatch(/options the connector does not know: sslmode; it reads ssl-mode and ssl-ca/);
    expect(problem('mysql://app@db.example/shop?ssl-mode=PREFERRED')).toMatch(/ssl-mode=PREFERRED is not one the connector takes/);
    expect(problem('mysql://app@db.example/shop?ssl-mode=REQUIRED&ssl-ca=/ca.pem')).toMatch(/ssl-ca is used only to check the server's certificate/);
  });
});

describeWithService('mariadbTls', 'MySQL connector over TLS (MariaDB)', () => {
  const db = freshMariadbDatabase();
  const user = `entente_tls_${process.pid}`;
  const password = 'tls-test-password';
  let serverCertificate: string;
  const urlFor = (namespace: string, query: string): string => `mysql://${user}:${password}@${db.settings.host}:${db.settings.port}/${namespace}${query}`;

  beforeAll(async () => {
    const admin = await mysql.createConnection({ ...db.settings });
    try {
      await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
      // An account that may connect only over TLS: a connector session without TLS is refused.
      await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}' REQUIRE SSL`);
      await admin.query(`GRANT ALL PRIVILEGES ON *.* TO '${user}'@'%'`);
      const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT @@ssl_cert AS cert, @@datadir AS datadir');
      const certPath = String(rows[0]?.['cert']);
      serverCertificate = readFileSync(certPath.startsWith('/') ? certPath : `${String(rows[0]?.['datadir'])}/${certPath}`, 'utf8');
    } finally {
      await admin.end();
    }
  });
  afterAll(async () => {
    const admin = await mysql.createConnection({ ...db.settings });
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`).finally(() => admin.end());
  });

  describe('contract suite as an account that requires TLS (ssl-mode=REQUIRED)', () => {
    runContractSuite({ label: 'mariadb-tls', features: mariadbContractFeatures, open: () => openMariadbContractDatabase(db, (namespace) => urlFor(namespace, '?ssl-mode=REQUIRED')) });
  });

  it('names ssl-mode when an account that requires TLS is reached without it', async () => {
    const error = await openMysqlConnector(urlFor(db.name, '')).then(() => null, (caught: unknown) => caught);
    expect(isEntenteError(error, 'DB_AUTH_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/REQUIRE SSL.*ssl-mode=/);
  });

  it('checks the certificate with VERIFY_CA and VERIFY_IDENTITY: refused without its authority, accepted with ssl-ca', async () => {
    const refused = await openMysqlConnector(urlFor(db.name, '?ssl-mode=VERIFY_IDENTITY')).then(() => null, (caught: unknown) => caught);
    expect(isEntenteError(refused, 'DB_UNREACHABLE')).toBe(true);
    expect((refused as Error).message).toMatch(/TLS certificate of the MySQL\/MariaDB server .* was refused \(self-signed certificate\): give .*ssl-ca=/);

    const folder = await mkdtemp(join(tmpdir(), 'entente-mysql-ca-'));
    try {
      // The server's certificate is self-signed: it is its own authority.
      await writeFile(join(folder, 'ca.pem'), serverCertificate);
      const connector = await openMysqlConnector(urlFor(db.name, `?ssl-mode=VERIFY_CA&ssl-ca=${encodeURIComponent(join(folder, 'ca.pem'))}`));
      expect(await connector.introspect({ schemas: [db.name] })).toBeDefined();
      await connector.close();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
