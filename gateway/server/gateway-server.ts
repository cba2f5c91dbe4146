// The gateway's front door: one node:http server carrying GraphQL over HTTP (GET and POST, answered as
// application/graphql-response+json when the client accepts it), GraphQL over WebSocket (graphql-ws),
// and the operator endpoints /health, /ready and /metrics. Authentication happens before a request
// body is even read; limits are enforced before execution; unexpected errors are masked at the edge.
//
// Shutdown drains: the listener stops accepting, idle keep-alive sockets close, requests in flight
// finish (up to `drainTimeoutMs`), WebSocket clients get a 1001 "going away", then Apollo stops.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { ApolloServer, HeaderMap, type ApolloServerPlugin, type HTTPGraphQLResponse } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { Kind, parse, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { EntenteError, isEntenteError } from '../../common/errors.ts';
import type { Authenticator, Caller } from '../auth/caller.ts';
import { describeCaller } from '../auth/caller.ts';
import { maskError } from './error-masking.ts';
import { acceptsJson, readBody, sendGraphQLError, sendJson } from './http-io.ts';
import { costLimitRule, defaultLimits, documentNestingDepth, type GatewayLimits } from './limits.ts';
import type { Logger } from './logger.ts';
import type { GatewayMetrics } from './metrics.ts';
import { evaluateReadiness, type ReadinessCheck } from './readiness.ts';
import type { ContextFactory, GatewayRequestContext } from './request-context.ts';
import type { SchemaHolder } from './schema-holder.ts';
import { attachGraphQLWebSocket, type GraphQLWebSocket } from './websocket.ts';

export const graphqlPath = '/graphql';
/** The Apollo Federation 2 subgraph of this partner's own types, for a supergraph router. */
export const subgraphPath = '/subgraph';

/** An extra HTTP route (the explorer, the peer protocol); return false to fall through to 404. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface GatewayServerOptions<TContext extends GatewayRequestContext> {
  readonly partner: string;
  readonly schema: SchemaHolder;
  readonly authenticator: Authenticator;
  readonly createContext: ContextFactory<TContext>;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly limits?: Partial<GatewayLimits>;
  readonly readiness?: readonly ReadinessCheck[];
  /** Whether introspection queries are answered (the schema layer still filters what they show). */
  readonly introspection?: boolean;
  /** Whether requests without credentials are allowed at all (decides CSRF prevention, see below). */
  readonly anonymousAllowed?: boolean;
  readonly drainTimeoutMs?: number;
  readonly routes?: readonly RouteHandler[];
  /** Served at /subgraph with the same authentication, limits and masking as /graphql. */
  readonly subgraph?: SchemaHolder;
  /** Serve https:// and wss:// with this PEM certificate chain and key (gateway/server/tls-material.ts). */
  readonly tls?: { readonly cert: string; readonly key: string } | null;
}

export interface ListenOptions {
  readonly port: number;
  readonly host?: string;
}

export interface GatewayServer {
  listen(options: ListenOptions): Promise<{ readonly port: number; readonly url: string }>;
  /** Drains and stops; resolves when everything is closed. Safe to call twice. */
  close(): Promise<void>;
  readonly inFlight: () => number;
  readonly activeSubscriptions: () => number;
  readonly httpServer: Server;
  /** Serves new TLS connections with this certificate and key (open ones keep theirs); throws when serving plain http://. */
  replaceCertificate(serve: { readonly cert: string; readonly key: string }): void;
}

export const defaultDrainTimeoutMs = 10_000;
export const keepAliveTimeoutMs = 65_000;
/** Apollo Server instances kept at once (one per distinct viewer schema in use). */
export const apolloInstancesMax = 64;

export function createGatewayServer<TContext extends GatewayRequestContext>(options: GatewayServerOptions<TContext>): GatewayServer {
  const limits: GatewayLimits = { ...defaultLimits, ...options.limits };
  const { logger, metrics } = options;
  // One Apollo Server per distinct schema a caller can be given (per schema version and, with per-viewer
  // schemas, per partner and role set): validation then decides access before execution, and a schema
  // swap simply starts using new instances. Old instances stop once requests on them have had time to end.
  const apollos = new Map<string, { readonly apollo: ApolloServer<TContext>; readonly started: Promise<void> }>();
  const retiring = new Set<NodeJS.Timeout>();
  const createApollo = (schema: GraphQLSchema): ApolloServer<TContext> =>
    new ApolloServer<TContext>({
      schema,
      validationRules: [costLimitRule(limits)],
      parseOptions: { maxTokens: limits.documentTokensMax },
      introspection: options.introspection ?? true,
      hideSchemaDetailsFromClientErrors: true,
      includeStacktraceInErrorResponses: false,
      // Every credential travels in a header a browser cannot add cross-site without a preflight, so CSRF
      // prevention only matters when anonymous requests are allowed.
      csrfPrevention: options.anonymousAllowed ?? false,
      stopOnTerminationSignals: false,
      logger: apolloLogger(logger),
      formatError: (formatted, error) => {
        const decision = maskError(formatted, error, '');
        metrics.graphqlErrors.inc({ code: String(decision.formatted.extensions?.['code'] ?? 'UNKNOWN') });
        return decision.formatted;
      },
      // Entente sets no cache hints, and the default cache-control plugin wraps every field resolver to
      // compute a policy nobody reads: about 1 ms of a nested list's 5.6 ms of gateway CPU (bench:reads).
      plugins: [observabilityPlugin<TContext>(logger), ApolloServerPluginCacheControlDisabled()],
    });
  async function apolloFor(caller: Caller, holder: SchemaHolder = options.schema): Promise<ApolloServer<TContext>> {
    const chosen = holder.schemaFor(caller);
    const schema = chosen.schema;
    const key = holder === options.schema ? chosen.key : `subgraph|${chosen.key}`;
    let entry = apollos.get(key);
    if (entry === undefined) {
      const apollo = createApollo(schema);
      entry = { apollo, started: apollo.start() };
      apollos.set(key, entry);
      if (apollos.size > apolloInstancesMax) retire(apollos.keys().next().value!);
    }
    await entry.started;
    return entry.apollo;
  }
  function retire(key: string): void {
    const entry = apollos.get(key);
    apollos.delete(key);
    if (entry === undefined) return;
    const timer = setTimeout(() => {
      retiring.delete(timer);
      void entry.started.then(() => entry.apollo.stop()).catch((error: unknown) => logger.warn({ event: 'apollo.stop-failed', err: error }, 'stopping a retired schema instance failed'));
    }, limits.requestTimeoutMs);
    timer.unref();
    retiring.add(timer);
  }
  const unsubscribeSchema = options.schema.onChange((current) => {
    for (const key of [...apollos.keys()]) if (!key.startsWith(`v${current.version}|`) && key !== `v${current.version}`) retire(key);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.bodyBytesMax });
  let graphqlWs: GraphQLWebSocket | null = null;
  let draining = false;
  let closing: Promise<void> | null = null;
  let inFlight = 0;
  const drainWaiters = new Set<() => void>();
  const sockets = new Set<Socket>();

  const serverOptions = { requestTimeout: limits.requestTimeoutMs + 20_000, headersTimeout: 20_000, keepAliveTimeout: keepAliveTimeoutMs };
  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    inFlight += 1;
    const started = performance.now();
    let route = 'other';
    response.once('close', () => {
      inFlight -= 1;
      metrics.httpRequests.inc({ route, status: String(response.statusCode) });
      metrics.httpRequestSeconds.observe({ route }, (performance.now() - started) / 1000);
      if (inFlight === 0) for (const waiter of drainWaiters) waiter();
    });
    if (draining) response.setHeader('connection', 'close');
    handle(request, response, (name) => (route = name)).catch((error: unknown) => {
      logger.error({ event: 'http.unhandled', err: error }, 'request failed unexpectedly');
      if (!response.headersSent) sendJson(response, 500, { errors: [{ message: 'Internal server error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else response.destroy();
    });
  };
  const tls = options.tls ?? null;
  const httpServer: Server = tls === null ? createServer(serverOptions, onRequest) : createTlsServer({ ...serverOptions, cert: tls.cert, key: tls.key }, onRequest);
  // Clients and proxies keep connections open; a server that closes idle sockets sooner than they expect
  // races their next request (ECONNRESET). Shutdown closes idle sockets itself.
  httpServer.keepAliveTimeout = keepAliveTimeoutMs;
  httpServer.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  httpServer.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    if (path !== graphqlPath || draining) {
      socket.end(`HTTP/1.1 ${draining ? '503 Service Unavailable' : '404 Not Found'}\r\nconnection: close\r\n\r\n`);
      return;
    }
    if (wss.clients.size >= limits.connectionsMax) {
      logger.warn({ event: 'ws.refused', connections: wss.clients.size }, 'WebSocket connection limit reached');
      socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  async function handle(request: IncomingMessage, response: ServerResponse, setRoute: (name: string) => void): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://gateway');
    if (url.pathname === graphqlPath) {
      setRoute('graphql');
      await handleGraphQL(request, response, url);
      return;
    }
    if (url.pathname === subgraphPath && options.subgraph !== undefined) {
      setRoute('subgraph');
      await handleGraphQL(request, response, url, options.subgraph);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/health') {
      setRoute('health');
      sendJson(response, 200, { status: draining ? 'draining' : 'ok', partner: options.partner, schemaVersion: options.schema.current().version });
      return;
    }
    if (request.method === 'GET' && url.pathname === '/ready') {
      setRoute('ready');
      const report = await evaluateReadiness(options.readiness ?? []);
      const ready = report.ready && !draining;
      sendJson(response, ready ? 200 : 503, { ready, ...(draining ? { reason: 'the gateway is shutting down' } : {}), checks: report.checks });
      return;
    }
    if (request.method === 'GET' && url.pathname === '/metrics') {
      setRoute('metrics');
      const text = await metrics.registry.metrics();
      response.writeHead(200, { 'content-type': metrics.registry.contentType });
      response.end(text);
      return;
    }
    for (const route of options.routes ?? []) {
      if (await route(request, response, url)) {
        setRoute('extra');
        return;
      }
    }
    setRoute('not-found');
    sendJson(response, 404, { error: `Nothing at ${url.pathname}. GraphQL is served at ${graphqlPath}; also /health, /ready, /metrics.` });
  }

  async function handleGraphQL(request: IncomingMessage, response: ServerResponse, url: URL, holder: SchemaHolder = options.schema): Promise<void> {
    const requestId = randomUUID();
    response.setHeader('x-request-id', requestId);
    if (request.method !== 'GET' && request.method !== 'POST') {
      sendJson(response, 405, { errors: [{ message: 'GraphQL accepts GET (queries) and POST.', extensions: { code: 'BAD_REQUEST' } }] }, { allow: 'GET, POST' });
      return;
    }
    if (!acceptsJson(request.headers.accept)) {
      sendJson(response, 406, { errors: [{ message: 'The Accept header admits neither application/graphql-response+json nor application/json, the only answers this gateway gives; accept one of them.', extensions: { code: 'BAD_REQUEST' } }] }, { connection: 'close' });
      return;
    }
    if (draining) {
      sendGraphQLError(response, 503, new EntenteError('LIMIT_EXCEEDED', 'The gateway is shutting down; retry on another gateway or in a moment.'), { 'retry-after': '1' });
      return;
    }
    let text = '';
    let body: unknown;
    let caller: Caller;
    try {
      // Signed peer requests cover their body, so it is read (bounded) before authenticating; app
      // requests are authenticated first, so an unauthenticated client cannot make us buffer anything.
      const bodyFirst = options.authenticator.needsBody?.({ headers: request.headers }) ?? false;
      if (bodyFirst) text = await readPostBody(request, limits);
      caller = await options.authenticator.authenticate({
        headers: request.headers,
        ...(bodyFirst ? { request: { method: request.method, path: request.url ?? '/', body: text } } : {}),
      });
      if (!bodyFirst) text = await readPostBody(request, limits);
      body = text.length === 0 ? undefined : parseBody(text, request.headers['content-type']);
      const documents = documentsOf(body, url);
      checkDocumentSize(documents, limits);
      refuseSubscriptions(documents, limits);
    } catch (error) {
      if (!isEntenteError(error)) throw error;
      if (error.code === 'UNAUTHENTICATED') {
        logger.info({ event: 'auth.rejected', requestId, reason: error.message }, 'request refused: not authenticated');
        sendGraphQLError(response, 401, error, { 'www-authenticate': 'Bearer realm="entente", ApiKey realm="entente"' });
        return;
      }
      sendGraphQLError(response, error.code === 'LIMIT_EXCEEDED' && error.details['limit'] === 'limits.bodyBytesMax' ? 413 : 400, error, { connection: 'close' });
      return;
    }
    const controller = new AbortController();
    // Abort only when the client went away before the answer was written (aborting builds a DOMException).
    response.once('close', () => {
      if (!response.writableFinished) controller.abort();
    });
    const contextValue = await options.createContext({ caller, requestId, signal: controller.signal, transport: 'http' });
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    const apollo = await apolloFor(caller, holder);
    const execution = apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method, headers, search: url.search, body },
      context: async () => contextValue,
    });
    const result = await withTimeout(execution, limits.requestTimeoutMs);
    if (result === 'timeout') {
      controller.abort();
      logger.warn({ event: 'graphql.timeout', requestId, caller: describeCaller(caller), timeoutMs: limits.requestTimeoutMs }, 'request timed out');
      const error = new EntenteError(
        'LIMIT_EXCEEDED',
        `The request took longer than ${limits.requestTimeoutMs} ms (limits.requestTimeoutMs) and was abandoned. A mutation may still complete: retry it with the same idempotency key to learn its outcome.`,
        { details: { limit: 'limits.requestTimeoutMs', allowed: limits.requestTimeoutMs } },
      );
      sendGraphQLError(response, 503, error, { 'retry-after': '1' });
      return;
    }
    await writeApolloResponse(response, result, requestId);
  }

  return {
    httpServer,
    replaceCertificate(serve) {
      if (tls === null) throw new EntenteError('CONFIG_INVALID', 'this gateway serves plain http://, so it has no certificate to replace; restart it with tls.certFile and tls.keyFile.');
      (httpServer as HttpsServer).setSecureContext({ cert: serve.cert, key: serve.key });
    },
    inFlight: () => inFlight,
    activeSubscriptions: () => graphqlWs?.activeSubscriptions() ?? 0,
    async listen({ port, host }) {
      graphqlWs ??= attachGraphQLWebSocket(wss, { schema: options.schema, authenticator: options.authenticator, createContext: options.createContext, limits, logger, metrics });
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host ?? '127.0.0.1', () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const address = httpServer.address() as AddressInfo;
      const shownHost = host === undefined || host === '127.0.0.1' || host === '0.0.0.0' || host === '::' ? 'localhost' : host;
      const url = `${tls === null ? 'http' : 'https'}://${shownHost}:${address.port}${graphqlPath}`;
      logger.info({ event: 'gateway.listening', url, partner: options.partner }, 'gateway listening');
      return { port: address.port, url };
    },
    close() {
      closing ??= (async () => {
        draining = true;
        logger.info({ event: 'gateway.draining', inFlight }, 'gateway draining');
        const listenerClosed = httpServer.listening ? new Promise<void>((resolve) => httpServer.close(() => resolve())) : Promise.resolve();
        httpServer.closeIdleConnections();
        const drained = await waitForDrain(options.drainTimeoutMs ?? defaultDrainTimeoutMs);
        if (!drained) logger.warn({ event: 'gateway.drain-timeout', inFlight }, 'requests still running at the drain deadline were cut off');
        graphqlWs?.closeAll('The gateway is shutting down; reconnect to another gateway or retry in a moment.');
        await graphqlWs?.dispose();
        wss.close();
        httpServer.closeAllConnections();
        for (const socket of sockets) socket.destroy();
        await listenerClosed;
        unsubscribeSchema();
        for (const timer of retiring) clearTimeout(timer);
        await Promise.all([...apollos.values()].map(async (entry) => {
          await entry.started.catch(() => undefined);
          await entry.apollo.stop();
        }));
        apollos.clear();
        logger.info({ event: 'gateway.stopped' }, 'gateway stopped');
      })();
      return closing;
    },
  };

  function waitForDrain(timeoutMs: number): Promise<boolean> {
    if (inFlight === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (drained: boolean): void => {
        clearTimeout(timer);
        clearInterval(idleSweep);
        drainWaiters.delete(onDrained);
        resolve(drained);
      };
      const onDrained = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      // Keep-alive sockets become idle as their last request finishes; close them as they do.
      const idleSweep = setInterval(() => httpServer.closeIdleConnections(), 50);
      drainWaiters.add(onDrained);
    });
  }
}

function readPostBody(request: IncomingMessage, limits: GatewayLimits): Promise<string> {
  return request.method === 'POST' ? readBody(request, limits.bodyBytesMax) : Promise.resolve('');
}

function parseBody(text: string, contentType: string | undefined): unknown {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/graphql') return { query: text };
  if (type !== 'application/json' && type !== 'application/graphql-response+json' && type !== '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new EntenteError('USAGE', 'The request body is not valid JSON. Send {"query": "...", "variables": {...}} with Content-Type: application/json.');
  }
}

/** The GraphQL document texts of a request: from the body (one operation or a batch) and the query string. */
function documentsOf(body: unknown, url: URL): string[] {
  const documents: string[] = [];
  const fromBody = (value: unknown): void => {
    if (value !== null && typeof value === 'object' && 'query' in value && typeof value.query === 'string') documents.push(value.query);
  };
  if (Array.isArray(body)) body.forEach(fromBody);
  else fromBody(body);
  const fromUrl = url.searchParams.get('query');
  if (fromUrl !== null) documents.push(fromUrl);
  return documents;
}

/**
 * Subscriptions need a stream, so HTTP refuses any document that defines one. Apollo would otherwise run
 * a subscription like a query (its field has no resolver and fails inside), and graphql-js's
 * SingleFieldSubscriptionsRule throws instead of reporting a bad @include/@skip argument (a 500).
 * Only documents that mention the word are parsed here; the rest go to Apollo untouched.
 */
function refuseSubscriptions(documents: readonly string[], limits: GatewayLimits): void {
  for (const document of documents) {
    if (!document.includes('subscription')) continue;
    let definitions;
    try {
      definitions = parse(document, { maxTokens: limits.documentTokensMax }).definitions;
    } catch {
      continue; // Apollo reports the syntax error
    }
    if (definitions.some((definition) => definition.kind === Kind.OPERATION_DEFINITION && definition.operation === 'subscription')) {
      throw new EntenteError('USAGE', `Subscriptions are served over WebSocket (the graphql-ws protocol) at ${graphqlPath}, not over HTTP GET or POST; connect with a graphql-ws client, and send queries and mutations in documents without a subscription.`);
    }
  }
}

function checkDocumentSize(documents: readonly string[], limits: GatewayLimits): void {
  for (const document of documents) {
    const bytes = Buffer.byteLength(document, 'utf8');
    if (bytes > limits.documentBytesMax) {
      throw new EntenteError(
        'LIMIT_EXCEEDED',
        `The GraphQL document is ${bytes} bytes; this gateway allows at most ${limits.documentBytesMax} (limits.documentBytesMax). Split the operation, or raise limits.documentBytesMax.`,
        { details: { limit: 'limits.documentBytesMax', allowed: limits.documentBytesMax, actual: bytes } },
      );
    }
    const nesting = documentNestingDepth(document);
    if (nesting > limits.documentNestingMax) {
      throw new EntenteError(
        'LIMIT_EXCEEDED',
        `The GraphQL document nests brackets ${nesting} levels deep; this gateway allows at most ${limits.documentNestingMax} (limits.documentNestingMax). Flatten the operation or its arguments.`,
        { details: { limit: 'limits.documentNestingMax', allowed: limits.documentNestingMax, actual: nesting } },
      );
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function writeApolloResponse(response: ServerResponse, result: HTTPGraphQLResponse, requestId: string): Promise<void> {
  for (const [name, value] of result.headers) response.setHeader(name, value);
  response.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') {
    response.end(addRequestIdToMaskedErrors(result.body.string, requestId));
    return;
  }
  for await (const chunk of result.body.asyncIterator) response.write(chunk);
  response.end();
}

/** formatError cannot see the request, so the request id is added to masked errors here. */
function addRequestIdToMaskedErrors(text: string, requestId: string): string {
  if (!text.includes('"INTERNAL_SERVER_ERROR"')) return text;
  return text.replaceAll('"requestId":""', `"requestId":${JSON.stringify(requestId)}`);
}

function observabilityPlugin<TContext extends GatewayRequestContext>(logger: Logger): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const decision = maskError(error.toJSON(), error, contextValue.requestId);
            if (decision.masked) logger.error({ event: 'graphql.error', requestId: contextValue.requestId, err: error.originalError ?? error }, 'unexpected error (masked for the client)');
          }
        },
        async willSendResponse({ operationName, response }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors?.length ?? 0) : 0;
          logger.info(
            { event: 'graphql.request', requestId: contextValue.requestId, caller: describeCaller(contextValue.caller), operationName: operationName ?? null, errors, ms: Math.round(performance.now() - started) },
            'graphql request',
          );
        },
      };
    },
  };
}

function apolloLogger(logger: Logger) {
  const child = logger.child({ component: 'apollo' });
  return {
    debug: (message: string) => child.debug(message),
    info: (message: string) => child.info(message),
    warn: (message: string) => child.warn(message),
    error: (message: string) => child.error(message),
  };
}
