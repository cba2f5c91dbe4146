// Goal: the gateway's TLS settings are checked before anything listens, and each mistake is a
// CONFIG_INVALID naming the field and the fix: a certificate without its key, a missing file, a file
// that holds no certificate, a key that is not the certificate's, a certificate past its end; a good
// set yields what the servers need, with the configured authority added to the system's. A certificate
// with less than 14 days left is worth a warning (said at start and on reload).
// Method: parseGatewayConfig on literal objects, loadTlsMaterial on the test certificates of
// test/support/tls (README there) and on files made from them in a temporary folder.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEntenteError } from '../../common/errors.ts';
import { parseGatewayConfig } from '../../gateway/config/gateway-config.ts';
import { certificateExpiryWarning, loadTlsMaterial, type TlsFiles } from '../../gateway/server/tls-material.ts';

const tlsDir = fileURLToPath(new URL('../support/tls/', import.meta.url));
const base = {
  partner: 'manufacturer', database: { url: 'pglite:memory' }, node: { keyFile: 'node.key' }, genesisFile: 'genesis.json',
  auth: { anonymous: { roles: ['staff'] } },
};

async function configProblem(files: TlsFiles, now?: Date): Promise<string> {
  try {
    await loadTlsMaterial(files, now);
  } catch (error) {
    if (isEntenteError(error, 'CONFIG_INVALID')) return error.message;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('gateway TLS settings', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'entente-tls-'));
    await writeFile(join(folder, 'not-a-cert.pem'), 'hello\n');
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads tls from the config with paths resolved, and wants certFile and keyFile together', () => {
    const config = parseGatewayConfig({ ...base, tls: { certFile: 'tls/gateway.crt', keyFile: 'tls/gateway.key', caFile: '/etc/pki/partners.pem' } }, '/etc/entente');
    expect(config.tls).toEqual({ certFile: '/etc/entente/tls/gateway.crt', keyFile: '/etc/entente/tls/gateway.key', caFile: '/etc/pki/partners.pem' });
    expect(parseGatewayConfig(base, '/etc/entente').tls).toEqual({ certFile: null, keyFile: null, caFile: null });
    expect(() => parseGatewayConfig({ ...base, tls: { certFile: 'gateway.crt' } }, '/etc/entente')).toThrow(/tls: set both certFile and keyFile/);
    expect(() => parseGatewayConfig({ ...base, tls: { cert: 'gateway.crt' } }, '/etc/entente')).toThrow(/tls\.cert/);
  });

  it('loads a certificate, its key and an authority added to the system ones', async () => {
    const material = await loadTlsMaterial({ certFile: join(tlsDir, 'gateway.crt'), keyFile: join(tlsDir, 'gateway.key'), caFile: join(tlsDir, 'ca.crt') });
    expect(material.serve?.cert).toContain('BEGIN CERTIFICATE');
    expect(material.ca).toHaveLength(rootCertificates.length + 1);
    expect(await loadTlsMaterial({ certFile: null, keyFile: null, caFile: null })).toEqual({ serve: null, ca: null });
  });

  it('names the field and the fix for each mistake', async () => {
    const cert = join(tlsDir, 'gateway.crt');
    const key = join(tlsDir, 'gateway.key');
    expect(await configProblem({ certFile: join(folder, 'missing.crt'), keyFile: key, caFile: null })).toMatch(/tls\.certFile .*missing\.crt cannot be read \(ENOENT\); check the path/);
    expect(await configProblem({ certFile: join(folder, 'not-a-cert.pem'), keyFile: key, caFile: null })).toMatch(/tls\.certFile .* holds no PEM certificate/);
    expect(await configProblem({ certFile: cert, keyFile: join(tlsDir, 'stranger.key'), caFile: null })).toMatch(/tls\.keyFile .*stranger\.key is not the private key of the certificate in tls\.certFile/);
    expect(await configProblem({ certFile: cert, keyFile: join(folder, 'not-a-cert.pem'), caFile: null })).toMatch(/tls\.keyFile .* is not a PEM private key/);
    expect(await configProblem({ certFile: null, keyFile: null, caFile: join(folder, 'not-a-cert.pem') })).toMatch(/tls\.caFile .* holds no PEM certificate/);
    expect(await configProblem({ certFile: cert, keyFile: key, caFile: null }, new Date('2200-01-01T00:00:00Z'))).toMatch(/tls\.certFile .* expired on 2126-.*; renew it/);
    expect(await configProblem({ certFile: cert, keyFile: key, caFile: null }, new Date('2000-01-01T00:00:00Z'))).toMatch(/not valid before 2026-.*check this machine's clock/);
  });

  it('warns when the served certificate has less than 14 days left, and not before', async () => {
    const material = await loadTlsMaterial({ certFile: join(tlsDir, 'gateway.crt'), keyFile: join(tlsDir, 'gateway.key'), caFile: null });
    const notAfter = material.serve!.notAfter.getTime();
    expect(certificateExpiryWarning(material, new Date(notAfter - 15 * 86_400_000))).toBeNull();
    expect(certificateExpiryWarning(material, new Date(notAfter - 3.5 * 86_400_000))).toMatch(/expires on .*, in 3 days: renew it, then send the gateway SIGHUP/);
    expect(certificateExpiryWarning({ serve: null, ca: null })).toBeNull();
  });
});
