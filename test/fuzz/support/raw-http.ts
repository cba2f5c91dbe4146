// A lean HTTP client for the fuzzer: node:http over keep-alive sockets, the request target sent exactly
// as generated (fetch would normalize odd query strings before the gateway saw them), the whole answer
// read as text. Cheaper per request than fetch, which matters with the gateway in the same process.
import { Agent, request } from 'node:http';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

export interface RawRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array | null;
}

export function createRawClient(base: string, socketsMax: number, timeoutMs: number): { send(raw: RawRequest): Promise<RawAnswer>; close(): void } {
  const { hostname, port } = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: socketsMax });
  const attempt = (raw: RawRequest, retried: boolean): Promise<RawAnswer> =>
    new Promise<RawAnswer>((resolve, reject) => {
      const outgoing = request({ agent, hostname, port, method: raw.method, path: raw.target, headers: raw.headers, timeout: timeoutMs }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', reject);
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, text: Buffer.concat(chunks).toString('utf8') }));
      });
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive socket the server closed just as this request took it (after a refused request
        // the server closes the connection): the request never reached the server, so send it once more.
        if (outgoing.reusedSocket && error.code === 'ECONNRESET' && !retried) attempt(raw, true).then(resolve, reject);
        else reject(error);
      });
      outgoing.end(raw.body ?? undefined);
    });
  return { send: (raw) => attempt(raw, false), close: () => agent.destroy() };
}
