// A lean GraphQL-over-HTTP client for load generation: node:http with a keep-alive agent, so the load
// generator (which shares the 2-core machine with the gateways it measures) spends as little CPU per
// request as it can; fetch costs noticeably more per request.
import { Agent, request } from 'node:http';

/** Sockets per origin: enough for the highest concurrency a benchmark offers. */
const SOCKETS_MAX = 512;
const agent = new Agent({ keepAlive: true, maxSockets: SOCKETS_MAX, maxFreeSockets: SOCKETS_MAX });

export interface GraphqlAnswer {
  readonly data?: Record<string, unknown>;
  readonly errors?: readonly { readonly message: string }[];
}

/** POSTs one GraphQL request; throws on a non-200 answer or GraphQL errors, naming them. */
export function postGraphql(url: string, query: string, variables?: Record<string, unknown>): Promise<GraphqlAnswer> {
  const body = JSON.stringify(variables === undefined ? { query } : { query, variables });
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
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
