// A lean GraphQL-over-HTTP client for load generation: node:http with a keep-alive agent, so the load
// generator (which shares the 2-core machine with the gateways it measures) spends as little CPU per
// request as it can; fetch costs noticeably more per request. https:// URLs are for bench networks that
// run with TLS, whose gateways serve the test certificates: they are checked against the test authority.
import { readFileSync } from 'node:fs';
import { Agent, request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Sockets per origin: enough for the highest concurrency a benchmark offers. */
const SOCKETS_MAX = 512;
const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS_MAX, maxFreeSockets: SOCKETS_MAX });
let tlsAgent: HttpsAgent | null = null;

/** The test authority that issued the bench gateways' certificates (test/support/tls). */
export const benchCertificateAuthorityFile = new URL('../../test/support/tls/ca.crt', import.meta.url);

function send(url: string, options: RequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest {
  if (!url.startsWith('https:')) return request(url, { ...options, agent }, onResponse);
  tlsAgent ??= new HttpsAgent({ keepAlive: true, maxSockets: SOCKETS_MAX, maxFreeSockets: SOCKETS_MAX, ca: readFileSync(benchCertificateAuthorityFile, 'utf8') });
  return httpsRequest(url, { ...options, agent: tlsAgent }, onResponse);
}

/** The status of a GET (0 when there is no answer), e.g. for /ready. */
export function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = send(url, { method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

export interface GraphqlAnswer {
  readonly data?: Record<string, unknown>;
  readonly errors?: readonly { readonly message: string }[];
}

/** POSTs one GraphQL request; throws on a non-200 answer or GraphQL errors, naming them. */
export function postGraphql(url: string, query: string, variables?: Record<string, unknown>): Promise<GraphqlAnswer> {
  const body = JSON.stringify(variables === undefined ? { query } : { query, variables });
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let answer: GraphqlAnswer;
        try {
          answer = JSON.parse(text) as GraphqlAnswer;
        } catch {
          return reject(new Error(`${url} answered ${res.statusCode} with a non-JSON body: ${text.slice(0, 200)}`));
        }
        if (res.statusCode !== 200 || answer.errors !== undefined) return reject(new Error(`${url} answered ${res.statusCode}: ${text.slice(0, 300)}`));
        resolve(answer);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
