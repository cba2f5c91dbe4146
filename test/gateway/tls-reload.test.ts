// Goal: a gateway's certificate is rotated without a restart (a restart of one of three gateways stops
// every partner's commits). After the files are replaced and `entente node` gets SIGHUP: new connections
// get the new certificate, a connection opened before keeps working, /metrics reports the new expiry and
// the log says so. Files that cannot serve (a key that is not the certificate's, a half-written file) are
// refused with the reason in the log, and the gateway keeps serving the certificate it had.
// Method: the real `entente` binary on an embedded PGlite database seeded like the demo's manufacturer,
// the test certificates of test/support/tls (README there) copied into a temp folder the config names,
// TLS handshakes that read the certificate presented, and HTTP over TLS for /health and /metrics. The
// reloader alone: nothing to reload without TLS files, and reloads in quick succession apply in order.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEntenteError } from '../../common/errors.ts';
import { loadTlsMaterial } from '../../gateway/server/tls-material.ts';
import { TlsReloader } from '../../gateway/server/tls-reload.ts';
import { openTls as openTlsTo, servedFingerprint as fingerprintServed } from '../support/tls-handshake.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const networkDir = join(projectRoot, 'gateway/demo/network');
const tlsDir = fileURLToPath(new URL('../support/tls/', import.meta.url));
const caPem = (): Promise<string> => readFile(join(tlsDir, 'ca.crt'), 'utf8');
const fingerprintOf = async (name: string): Promise<string> => new X509Certificate(await readFile(join(tlsDir, name))).fingerprint256;
const expiryOf = async (name: string): Promise<number> => Math.floor(new Date(new X509Certificate(await readFile(join(tlsDir, name))).validTo).getTime() / 1000);

describe('entente node: TLS certificate reload on SIGHUP', () => {
  let folder: string;
  let child: ChildProcess;
  let output = '';
  let port = 0;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'entente-tls-reload-'));
    const db = (await openPglite(join(folder, 'db'))).db;
    await db.exec(await readFile(join(networkDir, 'manufacturer.sql'), 'utf8'));
    await db.close();
    await copyFile(join(tlsDir, 'gateway.crt'), join(folder, 'gateway.crt'));
    await copyFile(join(tlsDir, 'gateway.key'), join(folder, 'gateway.key'));
    await writeFile(join(folder, 'gateway.json'), JSON.stringify({
      partner: 'manufacturer', database: { url: `pglite:${join(folder, 'db')}` }, listen: { port: 0 }, node: { keyFile: 'node.key' }, genesisFile: 'genesis.json',
      schemaDir: networkDir, auth: { anonymous: { roles: ['buyer'] } }, log: { level: 'info' }, tls: { certFile: 'gateway.crt', keyFile: 'gateway.key' },
    }));
    child = spawn(process.execPath, ['bin/entente.js', 'node', '--config', join(folder, 'gateway.json')], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await until(() => /listening on https:\/\//.test(output) || child.exitCode !== null, 60_000);
    const listening = /listening on https:\/\/[^:]+:(\d+)/.exec(output);
    if (listening === null) throw new Error(`the node did not start with TLS:\n${output}`);
    port = Number(listening[1]);
  }, 90_000);

  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await rm(folder, { recursive: true, force: true });
  });

  /** Sends SIGHUP and waits for the log line that answers it (the count-th of either kind). */
  async function hangUp(count: number): Promise<void> {
    child.kill('SIGHUP');
    await until(() => (output.match(/"event":"tls\.(reloaded|reload_failed)"/g) ?? []).length >= count || child.exitCode !== null, 10_000);
    expect(child.exitCode).toBeNull();
  }

  it('serves the renewed certificate after SIGHUP, keeps an open connection working, and reports the new expiry', async () => {
    expect(await servedFingerprint(port)).toBe(await fingerprintOf('gateway.crt'));
    expect(await metric(port, 'entente_tls_certificate_expiry_timestamp_seconds')).toBe(await expiryOf('gateway.crt'));
    const before = await openTls(port);
    await copyFile(join(tlsDir, 'gateway-renewed.crt'), join(folder, 'gateway.crt'));
    await copyFile(join(tlsDir, 'gateway-renewed.key'), join(folder, 'gateway.key'));
    await hangUp(1);
    expect(output).toMatch(/"event":"tls\.reloaded"/);
    expect(await servedFingerprint(port)).toBe(await fingerprintOf('gateway-renewed.crt'));
    expect(await metric(port, 'entente_tls_certificate_expiry_timestamp_seconds')).toBe(await expiryOf('gateway-renewed.crt'));
    expect(await httpOver(before, '/health')).toMatch(/^HTTP\/1\.1 200/);
  });

  it('refuses a key that is not the certificate\'s, and a half-written certificate, serving the previous certificate meanwhile', async () => {
    await copyFile(join(tlsDir, 'gateway.crt'), join(folder, 'gateway.crt')); // the renewed key stays: not this certificate's
    await hangUp(2);
    expect(output).toMatch(/"event":"tls\.reload_failed".*is not the private key of the certificate in tls\.certFile/);
    expect(await servedFingerprint(port)).toBe(await fingerprintOf('gateway-renewed.crt'));
    const renewed = await readFile(join(tlsDir, 'gateway-renewed.crt'), 'utf8');
    await writeFile(join(folder, 'gateway.crt'), renewed.slice(0, renewed.length / 2));
    await hangUp(3);
    expect(output.split('\n').filter((line) => line.includes('"event":"tls.reload_failed"'))[1]).toMatch(/ends inside a certificate/);
    expect(await servedFingerprint(port)).toBe(await fingerprintOf('gateway-renewed.crt'));
    expect(await metric(port, 'entente_tls_certificate_expiry_timestamp_seconds')).toBe(await expiryOf('gateway-renewed.crt'));
  });
});

describe('TlsReloader', () => {
  it('refuses a reload when no TLS file is configured', async () => {
    const reloader = new TlsReloader({ certFile: null, keyFile: null, caFile: null }, { serve: null, ca: null });
    const refused = await reloader.reload().then(() => null, (error: unknown) => error);
    expect(isEntenteError(refused, 'CONFIG_INVALID')).toBe(true);
    expect((refused as Error).message).toMatch(/names no TLS files/);
  });

  it('hands every attached part each reload\'s material, one reload after another', async () => {
    const files = { certFile: join(tlsDir, 'gateway.crt'), keyFile: join(tlsDir, 'gateway.key'), caFile: join(tlsDir, 'ca.crt') };
    const reloader = new TlsReloader(files, await loadTlsMaterial(files));
    const seen: unknown[] = [];
    reloader.attach((material) => seen.push(material));
    reloader.attach(() => seen.push('second part'));
    const results = await Promise.all([reloader.reload(), reloader.reload(), reloader.reload()]);
    expect(seen).toEqual(results.flatMap((material) => [material, 'second part']));
    seen.forEach((value, index) => index % 2 === 0 && expect(value).toBe(results[index / 2]));
    expect(reloader.material).toBe(results[2]);
  });
});

async function until(condition: () => boolean, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; !condition() && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 50));
}

const openTls = async (port: number): Promise<TLSSocket> => openTlsTo(port, await caPem());
const servedFingerprint = async (port: number): Promise<string> => fingerprintServed(port, await caPem());

/** One HTTP/1.1 request over an open TLS socket; the whole answer as text. */
function httpOver(socket: TLSSocket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.once('end', () => resolve(answer));
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  });
}

async function metric(port: number, name: string): Promise<number> {
  const text = await httpOver(await openTls(port), '/metrics');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{`) || candidate.startsWith(`${name} `));
  if (line === undefined) throw new Error(`${name} is not in /metrics`);
  return Number(line.trim().split(' ').at(-1));
}
