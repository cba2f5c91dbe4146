// The gateway's TLS files, read and checked at start and again on each reload (./tls-reload.ts): the
// certificate and key it serves its API and its consensus endpoint with (https:// and wss://), and the
// authorities it trusts for its peers. Row payloads travel between gateways in consensus batches, so
// without TLS (here or in a proxy in front) anyone on the path reads them; the frames' HMACs only say who
// sent them. Every problem is a CONFIG_INVALID that names the config field and the fix, before any port
// opens (or, on a reload, before anything changes).
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { EntenteError } from '../../common/errors.ts';

export interface TlsFiles {
  /** PEM certificate chain (the gateway's first) and its private key: serve https:// and wss://. */
  readonly certFile: string | null;
  readonly keyFile: string | null;
  /** PEM certificates of authorities to trust for peers, besides the system's (a private CA). */
  readonly caFile: string | null;
}

export interface TlsMaterial {
  /** What the gateway serves with; null: plain http:// and ws:// (TLS ends in a proxy, or nowhere). */
  readonly serve: { readonly cert: string; readonly key: string; readonly notAfter: Date } | null;
  /** Authorities trusted when dialing peers: the system's plus the configured ones; null: the system's. */
  readonly ca: readonly string[] | null;
}

/** Certificates in one PEM file, at most (a chain or a CA bundle is a few; a bigger file is a mistake). */
const CERTIFICATES_PER_FILE_MAX = 100;

export async function loadTlsMaterial(files: TlsFiles, now = new Date()): Promise<TlsMaterial> {
  let serve: TlsMaterial['serve'] = null;
  if (files.certFile !== null && files.keyFile !== null) {
    const cert = await readPem(files.certFile, 'tls.certFile');
    const key = await readPem(files.keyFile, 'tls.keyFile');
    const leaf = certificates(cert, 'tls.certFile', files.certFile)[0]!;
    requireCurrent(leaf, 'tls.certFile', files.certFile, now);
    if (!leaf.checkPrivateKey(privateKeyObject(key, files.keyFile))) {
      throw new EntenteError('CONFIG_INVALID', `tls.keyFile ${files.keyFile} is not the private key of the certificate in tls.certFile ${files.certFile}; give the key the certificate was issued for.`);
    }
    serve = { cert, key, notAfter: new Date(leaf.validTo) };
  }
  let ca: string[] | null = null;
  if (files.caFile !== null) {
    const pem = await readPem(files.caFile, 'tls.caFile');
    const authorities = certificates(pem, 'tls.caFile', files.caFile);
    ca = [...rootCertificates, ...authorities.map((certificate) => certificate.toString())];
  }
  return { serve, ca };
}

/** Renewal is due when less than this is left; the gateway says so at start and on every reload. */
export const CERTIFICATE_RENEWAL_WARNING_DAYS = 14;

/** A warning to log when the served certificate expires within the renewal window; null otherwise. */
export function certificateExpiryWarning(material: TlsMaterial, now = new Date()): string | null {
  if (material.serve === null) return null;
  const daysLeft = (material.serve.notAfter.getTime() - now.getTime()) / 86_400_000;
  if (daysLeft >= CERTIFICATE_RENEWAL_WARNING_DAYS) return null;
  return `the certificate in tls.certFile expires on ${material.serve.notAfter.toISOString()}, in ${Math.max(0, Math.floor(daysLeft))} days: renew it, then send the gateway SIGHUP (no restart needed).`;
}

async function readPem(path: string, field: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `${field} ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}); check the path (relative paths start at the config file's folder) and that this user may read it.`, { cause: error });
  }
}

function certificates(pem: string, field: string, path: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  // A BEGIN without its END is a file caught half-written (a renewal copied over it while it was read).
  if ((pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length > blocks.length) {
    throw new EntenteError('CONFIG_INVALID', `${field} ${path} ends inside a certificate (a BEGIN CERTIFICATE without its END): it was read while being written, or was cut short. Write renewed files under another name and rename them into place, then start or reload again.`);
  }
  if (blocks.length === 0) throw new EntenteError('CONFIG_INVALID', `${field} ${path} holds no PEM certificate ("-----BEGIN CERTIFICATE-----"); convert a DER file with \`openssl x509 -inform der -in <file> -out <file>.pem\`.`);
  if (blocks.length > CERTIFICATES_PER_FILE_MAX) throw new EntenteError('CONFIG_INVALID', `${field} ${path} holds ${blocks.length} certificates; at most ${CERTIFICATES_PER_FILE_MAX} are read. Name only the authorities your peers' certificates come from.`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new EntenteError('CONFIG_INVALID', `certificate ${index + 1} in ${field} ${path} cannot be parsed (${(error as Error).message}).`, { cause: error });
    }
  });
}

function requireCurrent(certificate: X509Certificate, field: string, path: string, now: Date): void {
  const from = new Date(certificate.validFrom);
  const to = new Date(certificate.validTo);
  if (now < from) throw new EntenteError('CONFIG_INVALID', `the certificate in ${field} ${path} is not valid before ${from.toISOString()}; check this machine's clock, or use a certificate valid now.`);
  if (now > to) throw new EntenteError('CONFIG_INVALID', `the certificate in ${field} ${path} expired on ${to.toISOString()}; renew it.`);
}

function privateKeyObject(pem: string, path: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `tls.keyFile ${path} is not a PEM private key (${(error as Error).message}).`, { cause: error });
  }
}
