// Goal: the explorer route serves its pages and bundled assets from the gateway alone (no external URL in
// any page), with a strict Content-Security-Policy, revalidation by ETag, plain answers for what it does
// not serve, and the CLI's proof checker inside the bundle. Method: the route behind a bare node:http
// server, requests with fetch. (The browser tests drive the pages themselves.)
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explorerRoute } from '../../gateway/explorer/explorer-route.ts';
import { PROOF_FORMAT } from '../../ledger/proof.ts';

let server: Server;
let base: string;

beforeAll(async () => {
  const route = explorerRoute({ partner: 'paint-shop <&>' });
  server = createServer((request, response) => {
    void Promise.resolve(route(request, response, new URL(request.url ?? '/', 'http://gateway'))).then((handled) => {
      if (!handled) {
        response.statusCode = 418;
        response.end('fell through');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Every src= and href= of a page. */
function references(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
}

describe('the explorer route', () => {
  it('serves both pages with only local references, the partner name escaped, and a strict policy', async () => {
    for (const path of ['/explorer', '/explorer/graphql']) {
      const response = await fetch(base + path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await response.text();
      expect(html).toContain('paint-shop &lt;&amp;&gt;');
      expect(html).not.toContain('paint-shop <&>');
      for (const reference of references(html)) {
        expect(reference, `${path} refers to ${reference}`).toMatch(/^\/explorer(\/|$)/);
        if (reference.startsWith('/explorer/assets/')) expect((await fetch(base + reference)).status, reference).toBe(200);
      }
    }
  }, 60_000);

  it('bundles the proof checker of the CLI into the page script and lets browsers revalidate by ETag', async () => {
    const response = await fetch(`${base}/explorer/assets/explorer.js`);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await response.text()).toContain(PROOF_FORMAT);
    const etag = response.headers.get('etag')!;
    const again = await fetch(`${base}/explorer/assets/explorer.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const head = await fetch(`${base}/explorer/assets/ide.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(100_000);
  }, 60_000);

  it('answers plainly for what it does not serve and leaves other paths to the gateway', async () => {
    const missing = await fetch(`${base}/explorer/assets/nothing.js`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('No explorer asset /explorer/assets/nothing.js');
    expect((await fetch(`${base}/explorer/elsewhere`)).status).toBe(404);
    const post = await fetch(`${base}/explorer`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/explorers`)).status).toBe(418);
    expect((await fetch(`${base}/graphql`)).status).toBe(418);
  });
});
