// Goal: a forwarded mutation's POST to the owner's gateway trusts exactly the configured authorities
// over https://, says in an operator's words why a certificate was refused, and stops reading an answer
// as soon as it passes its size limit.
// Method: postToPeer against real HTTPS servers on loopback, serving the test certificates of
// test/support/tls (README there), and a plain HTTP server with an endless answer.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describePeerFailure, PeerAnswerTooLarge, postToPeer } from '../../gateway/ledger/peer-post.ts';

const pem = (name: string): string => readFileSync(new URL(`../support/tls/${name}`, import.meta.url), 'utf8');
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listening(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

const echo = (request: IncomingMessage, response: ServerResponse): void => {
  let body = '';
  request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  request.once('end', () => response.end(JSON.stringify({ got: body })));
};
const post = (url: string, ca: readonly string[] | null, responseBytesMax = 10_000) => postToPeer(new URL(url), { headers: { 'content-type': 'application/json' }, body: '{"q":1}', timeoutMs: 5000, responseBytesMax, ca });

describe('POST to a peer gateway', () => {
  it('reaches an https:// peer whose certificate the configured authority issued', async () => {
    const port = await listening(createHttpsServer({ cert: pem('gateway.crt'), key: pem('gateway.key') }, echo));
    expect(await post(`https://127.0.0.1:${port}/graphql`, [pem('ca.crt')])).toEqual({ status: 200, text: '{"got":"{\\"q\\":1}"}' });
  });

  it('refuses a certificate no trusted authority issued, and says to add the authority to tls.caFile', async () => {
    const port = await listening(createHttpsServer({ cert: pem('stranger.crt'), key: pem('stranger.key') }, echo));
    const failure = await post(`https://127.0.0.1:${port}/graphql`, [pem('ca.crt')]).then(() => null, (error: unknown) => error);
    expect(failure).not.toBeNull();
    expect(describePeerFailure(failure)).toMatch(/its TLS certificate is not from an authority this gateway trusts: self-signed certificate; add the authority to tls\.caFile$/);
  });

  it('stops reading an answer once it passes the limit', async () => {
    const port = await listening(createHttpServer((_request, response) => {
      const chunk = 'x'.repeat(64 * 1024);
      const more = (): void => {
        while (response.write(chunk));
        response.once('drain', more);
      };
      more();
    }));
    await expect(post(`http://127.0.0.1:${port}/graphql`, null, 100_000)).rejects.toBeInstanceOf(PeerAnswerTooLarge);
  });
});
