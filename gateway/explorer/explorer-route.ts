// The ledger explorer, served by every gateway at /explorer: a page for people at the partner company
// (network and node status, blocks as they commit, a block's transactions, proof checks in the browser,
// schema versions) and a GraphQL IDE at /explorer/graphql. Everything the pages load comes from this
// gateway (/explorer/assets/…), so they work offline and behind firewalls: no CDN.
//
// The pages are public shells; the data comes from the gateway's own GraphQL API and operator
// endpoints, with the credential the user gives, so the explorer shows exactly what that caller may see.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteHandler } from '../server/gateway-server.ts';
import type { Logger } from '../server/logger.ts';
import { explorerAssets, type ExplorerAsset } from './explorer-assets.ts';
import { explorerPageHtml, idePageHtml } from './explorer-pages.ts';

export const explorerPath = '/explorer';
const idePath = `${explorerPath}/graphql`;
const assetPrefix = `${explorerPath}/assets/`;

export interface ExplorerRouteOptions {
  /** The partner this gateway serves; shown in the page header. */
  readonly partner: string;
  readonly logger?: Logger;
}

// Scripts and styles only from this gateway; GraphQL and graphql-ws back to it. GraphiQL sets inline
// styles and uses data: fonts, hence those two allowances.
const contentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function explorerRoute(options: ExplorerRouteOptions): RouteHandler {
  const pages = new Map<string, ExplorerAsset>([
    [explorerPath, htmlAsset(explorerPageHtml(options.partner))],
    [`${explorerPath}/`, htmlAsset(explorerPageHtml(options.partner))],
    [idePath, htmlAsset(idePageHtml(options.partner))],
  ]);
  return async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    if (url.pathname !== explorerPath && !url.pathname.startsWith(`${explorerPath}/`)) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(request, response, 405, textAsset('The explorer only answers GET.'), { allow: 'GET, HEAD' });
      return true;
    }
    const page = pages.get(url.pathname);
    if (page !== undefined) {
      send(request, response, 200, page);
      return true;
    }
    if (!url.pathname.startsWith(assetPrefix)) {
      send(request, response, 404, textAsset(`Nothing at ${url.pathname}. The explorer is at ${explorerPath}, its GraphQL IDE at ${idePath}.`));
      return true;
    }
    let assets: ReadonlyMap<string, ExplorerAsset>;
    try {
      const started = performance.now();
      assets = await explorerAssets();
      const ms = Math.round(performance.now() - started);
      if (ms > 50) options.logger?.info({ event: 'explorer.bundled', ms }, 'explorer scripts bundled');
    } catch (error) {
      options.logger?.error({ event: 'explorer.bundle-failed', err: error }, 'the explorer scripts could not be bundled');
      send(request, response, 500, textAsset(`The explorer's scripts could not be prepared: ${(error as Error).message}`));
      return true;
    }
    const asset = assets.get(url.pathname.slice(assetPrefix.length));
    if (asset === undefined) send(request, response, 404, textAsset(`No explorer asset ${url.pathname}.`));
    else send(request, response, 200, asset);
    return true;
  };
}

function htmlAsset(html: string): ExplorerAsset {
  return { contentType: 'text/html; charset=utf-8', body: Buffer.from(html, 'utf8') };
}

function textAsset(text: string): ExplorerAsset {
  return { contentType: 'text/plain; charset=utf-8', body: Buffer.from(`${text}\n`, 'utf8') };
}

const etags = new WeakMap<Buffer, string>();

function etagOf(body: Buffer): string {
  let etag = etags.get(body);
  if (etag === undefined) {
    etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    etags.set(body, etag);
  }
  return etag;
}

/** Answers with `asset`; browsers revalidate every time (the bundle changes when the gateway is upgraded). */
function send(request: IncomingMessage, response: ServerResponse, status: number, asset: ExplorerAsset, headers: Readonly<Record<string, string>> = {}): void {
  const etag = etagOf(asset.body);
  const common = { 'content-security-policy': contentSecurityPolicy, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'cache-control': 'no-cache', etag, ...headers };
  if (status === 200 && request.headers['if-none-match'] === etag) {
    response.writeHead(304, common);
    response.end();
    return;
  }
  response.writeHead(status, { ...common, 'content-type': asset.contentType, 'content-length': asset.body.length });
  response.end(request.method === 'HEAD' ? undefined : asset.body);
}
