// One POST to a peer gateway, over http:// or https://. Not fetch: fetch cannot be told which
// authorities to trust for one request (a private CA for the partners' gateways), and it reads a whole
// answer before its size can be judged; here the answer is cut off as soon as it passes its limit.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { certificateRefusalReason, untrustedIssuerCodes } from '../../common/tls-refusal.ts';

export interface PeerPostOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly responseBytesMax: number;
  /** The authorities an https:// peer's certificate must come from (PEM); null: the system's. */
  readonly ca: readonly string[] | null;
}

export interface PeerAnswer {
  readonly status: number;
  readonly text: string;
}

export class PeerAnswerTooLarge extends Error {}

export function postToPeer(url: URL, options: PeerPostOptions): Promise<PeerAnswer> {
  const body = Buffer.from(options.body, 'utf8');
  const headers = { ...options.headers, 'content-length': String(body.length) };
  return new Promise<PeerAnswer>((resolve, reject) => {
    const onResponse = (response: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > options.responseBytesMax) {
          response.destroy();
          reject(new PeerAnswerTooLarge(`the answer passed ${options.responseBytesMax} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.once('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      response.once('error', reject);
    };
    const signal = AbortSignal.timeout(options.timeoutMs);
    const sent = url.protocol === 'https:'
      ? httpsRequest(url, { method: 'POST', headers, signal, ...(options.ca === null ? {} : { ca: [...options.ca] }) }, onResponse)
      : httpRequest(url, { method: 'POST', headers, signal }, onResponse);
    sent.once('error', reject);
    sent.end(body);
  });
}

/** A transport failure in words an operator can act on (a TLS refusal names the certificate problem). */
export function describePeerFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  const refusal = certificateRefusalReason(error);
  if (code !== undefined && untrustedIssuerCodes.has(code)) return `its TLS certificate is not from an authority this gateway trusts: ${refusal}; add the authority to tls.caFile`;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `its TLS certificate is not for that host name: ${refusal}`;
  if (refusal !== null) return `its TLS certificate was refused: ${refusal}`;
  return code === undefined ? message : `${code}: ${message}`;
}
