// GraphQL over WebSocket (graphql-ws protocol) on the gateway's port, path /graphql. Each connection
// authenticates once (connection_init payload `authorization` / `apiKey`, or the upgrade request's
// headers); each operation is parsed and validated against the schema current at that moment, with the
// same limits as HTTP. A subscriber whose socket cannot keep up (send buffer over its limit) is
// disconnected with a reason instead of slowing anyone else.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GraphQLError, getOperationAST, parse, specifiedRules, validate, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { isEntenteError } from '../../common/errors.ts';
import type { Authenticator, Caller } from '../auth/caller.ts';
import { describeCaller } from '../auth/caller.ts';
import { maskError } from './error-masking.ts';
import { costLimitRule, documentNestingDepth, limitExceeded, type GatewayLimits } from './limits.ts';
import type { Logger } from './logger.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { ContextFactory, GatewayRequestContext } from './request-context.ts';
import type { SchemaHolder } from './schema-holder.ts';

/** Close codes outside graphql-ws's own 44xx range. 1008 = policy violation (RFC 6455). */
export const closeCodes = { unauthenticated: 4401, slowSubscriber: 1008, shuttingDown: 1001 } as const;

export interface WebSocketOptions<TContext extends GatewayRequestContext> {
  readonly schema: SchemaHolder;
  readonly authenticator: Authenticator;
  readonly createContext: ContextFactory<TContext>;
  readonly limits: GatewayLimits;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
}

interface ConnectionState {
  caller: Caller | null;
  readonly operations: Map<string, { readonly controller: AbortController; readonly subscription: boolean }>;
}

export interface GraphQLWebSocket {
  readonly activeSubscriptions: () => number;
  /** Closes every connection with `reason`; graphql-ws then ends each operation. */
  readonly closeAll: (reason: string) => void;
  readonly dispose: () => Promise<void>;
}

export function attachGraphQLWebSocket<TContext extends GatewayRequestContext>(server: WebSocketServer, options: WebSocketOptions<TContext>): GraphQLWebSocket {
  const states = new WeakMap<WebSocket, ConnectionState>();
  const sockets = new Set<WebSocket>();
  const stateOf = (extra: Extra): ConnectionState => {
    let state = states.get(extra.socket);
    if (state === undefined) {
      state = { caller: null, operations: new Map() };
      states.set(extra.socket, state);
      sockets.add(extra.socket);
      extra.socket.once('close', () => {
        for (const operation of state!.operations.values()) operation.controller.abort();
        state!.operations.clear();
        sockets.delete(extra.socket);
        refreshGauge();
      });
    }
    return state;
  };
  const activeSubscriptions = (): number => {
    let count = 0;
    for (const socket of sockets) for (const operation of states.get(socket)?.operations.values() ?? []) if (operation.subscription) count += 1;
    return count;
  };
  const refreshGauge = (): void => options.metrics.subscriptionsActive.set(activeSubscriptions());

  const disposable = useServer<Record<string, unknown> | undefined, Record<PropertyKey, never>>(
    {
      onConnect: async (ctx) => {
        const state = stateOf(ctx.extra);
        try {
          state.caller = await options.authenticator.authenticate({ headers: credentialHeaders(ctx.extra.request, ctx.connectionParams) });
          return true;
        } catch (error) {
          const message = isEntenteError(error) ? error.message : 'authentication failed';
          options.logger.info({ event: 'ws.unauthenticated', reason: message }, 'WebSocket connection refused');
          ctx.extra.socket.close(closeCodes.unauthenticated, closeReason(`Unauthorized: ${message}`));
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        const state = stateOf(ctx.extra);
        const caller = state.caller;
        if (caller === null) return [new GraphQLError('Not authenticated.', { extensions: { code: 'UNAUTHENTICATED' } })];
        const prepared = prepareOperation(options, caller, payload.query, state.operations.size);
        if ('errors' in prepared) return prepared.errors;
        const controller = new AbortController();
        const isSubscription = getOperationAST(prepared.document, payload.operationName ?? undefined)?.operation === 'subscription';
        state.operations.set(id, { controller, subscription: isSubscription });
        refreshGauge();
        const contextValue = await options.createContext({ caller, requestId: randomUUID(), signal: controller.signal, transport: 'websocket' });
        options.logger.debug({ event: 'ws.subscribe', caller: describeCaller(caller), operationName: payload.operationName ?? null }, 'operation started');
        const args: ExecutionArgs = {
          schema: prepared.schema,
          document: prepared.document,
          variableValues: payload.variables ?? null,
          operationName: payload.operationName ?? null,
          contextValue,
        };
        return args;
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        const socket = ctx.extra.socket;
        if (socket.readyState !== socket.OPEN) return; // already disconnected: nothing more is sent
        if (socket.bufferedAmount > options.limits.subscriberBufferBytesMax) {
          options.metrics.subscribersDisconnectedSlow.inc();
          options.logger.warn({ event: 'ws.slow-subscriber', bufferedBytes: socket.bufferedAmount }, 'slow subscriber disconnected');
          socket.close(
            closeCodes.slowSubscriber,
            closeReason(`Too slow: over ${options.limits.subscriberBufferBytesMax} bytes unsent (limits.subscriberBufferBytesMax); reconnect and resubscribe`),
          );
          return;
        }
        return maskResult(result as ExecutionResult, options.logger);
      },
      onComplete: (ctx, id) => {
        const state = stateOf(ctx.extra);
        state.operations.get(id)?.controller.abort();
        state.operations.delete(id);
        refreshGauge();
      },
    },
    server,
  );

  return {
    activeSubscriptions,
    closeAll: (reason) => {
      for (const socket of sockets) socket.close(closeCodes.shuttingDown, closeReason(reason));
    },
    dispose: () => Promise.resolve(disposable.dispose()),
  };
}

type Prepared = { readonly schema: ExecutionArgs['schema']; readonly document: ExecutionArgs['document'] } | { readonly errors: readonly GraphQLError[] };

function prepareOperation<TContext extends GatewayRequestContext>(options: WebSocketOptions<TContext>, caller: Caller, query: string, operationsOpen: number): Prepared {
  const { limits } = options;
  if (operationsOpen >= limits.subscriptionsPerConnectionMax) {
    const message = `This connection already has ${operationsOpen} operations open; the gateway allows ${limits.subscriptionsPerConnectionMax} (limits.subscriptionsPerConnectionMax). Complete some first or open another connection.`;
    return { errors: [limitExceeded(message, 'subscriptionsPerConnectionMax', operationsOpen + 1, limits.subscriptionsPerConnectionMax)] };
  }
  const bytes = Buffer.byteLength(query, 'utf8');
  if (bytes > limits.documentBytesMax) {
    const message = `The GraphQL document is ${bytes} bytes; this gateway allows at most ${limits.documentBytesMax} (limits.documentBytesMax).`;
    return { errors: [limitExceeded(message, 'documentBytesMax', bytes, limits.documentBytesMax)] };
  }
  const nesting = documentNestingDepth(query);
  if (nesting > limits.documentNestingMax) {
    const message = `The GraphQL document nests brackets ${nesting} levels deep; this gateway allows at most ${limits.documentNestingMax} (limits.documentNestingMax).`;
    return { errors: [limitExceeded(message, 'documentNestingMax', nesting, limits.documentNestingMax)] };
  }
  const { schema } = options.schema.schemaFor(caller);
  let document: ExecutionArgs['document'];
  try {
    document = parse(query, { maxTokens: limits.documentTokensMax });
  } catch (error) {
    return { errors: [error instanceof GraphQLError ? error : new GraphQLError('The GraphQL document could not be parsed.')] };
  }
  const errors = validate(schema, document, [...specifiedRules, costLimitRule(limits)]);
  return errors.length > 0 ? { errors } : { schema, document };
}

function maskResult(result: ExecutionResult, logger: Logger): ExecutionResult {
  if (!result.errors || result.errors.length === 0) return result;
  const requestId = randomUUID();
  const errors = result.errors.map((error) => {
    const decision = maskError(error.toJSON(), error, requestId);
    if (decision.masked) logger.error({ event: 'graphql.error', requestId, err: error.originalError ?? error }, 'unexpected error in a WebSocket operation');
    const formatted = decision.formatted;
    return new GraphQLError(formatted.message, { path: formatted.path, extensions: formatted.extensions });
  });
  return { ...result, errors };
}

function credentialHeaders(request: IncomingMessage, params: Record<string, unknown> | undefined): Record<string, string | string[] | undefined> {
  const fromParams = (name: string): string | undefined => {
    const value = params?.[name];
    return typeof value === 'string' ? value : undefined;
  };
  const authorization = fromParams('authorization') ?? fromParams('Authorization') ?? request.headers.authorization;
  const apiKey = fromParams('apiKey') ?? fromParams('x-api-key') ?? single(request.headers['x-api-key']);
  // Browsers cannot set headers on a WebSocket, so connection_init may carry the credentials instead.
  return { ...request.headers, authorization, 'x-api-key': apiKey };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** WebSocket close reasons are limited to 123 bytes. */
function closeReason(text: string): string {
  const buffer = Buffer.from(text, 'utf8');
  return buffer.length <= 123 ? text : buffer.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '') + '...';
}
