// A gateway server on an ephemeral port with a small hand-built schema, for the server and auth tests.
// The schema has what those tests need to probe: a slow field (timeouts, draining), fields that fail
// deliberately and unexpectedly (masking), nested lists (depth, complexity), a counter mutation (so
// "nothing changed" is observable), and a ticking subscription.
import { Writable } from 'node:stream';
import {
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLFieldConfigMap,
} from 'graphql';
import { EntenteError } from '../../../common/errors.ts';
import type { Authenticator } from '../../../gateway/auth/caller.ts';
import { createGatewayServer, type GatewayServer, type GatewayServerOptions } from '../../../gateway/server/gateway-server.ts';
import type { GatewayLimits } from '../../../gateway/server/limits.ts';
import { createLogger } from '../../../gateway/server/logger.ts';
import { createGatewayMetrics, type GatewayMetrics } from '../../../gateway/server/metrics.ts';
import type { ReadinessCheck } from '../../../gateway/server/readiness.ts';
import type { GatewayRequestContext } from '../../../gateway/server/request-context.ts';
import { SchemaHolder } from '../../../gateway/server/schema-holder.ts';

export interface TestState {
  counter: number;
}

interface Item {
  readonly id: number;
}

export function testSchema(state: TestState, extraQueryFields: GraphQLFieldConfigMap<unknown, GatewayRequestContext> = {}): GraphQLSchema {
  const item: GraphQLObjectType = new GraphQLObjectType<Item, GatewayRequestContext>({
    name: 'Item',
    fields: () => ({
      id: { type: new GraphQLNonNull(GraphQLInt) },
      children: {
        type: new GraphQLList(item),
        args: { first: { type: GraphQLInt } },
        resolve: (parent, args: { first?: number | null }) => Array.from({ length: args.first ?? 2 }, (_, index) => ({ id: parent.id * 10 + index })),
      },
    }),
  });
  return new GraphQLSchema({
    query: new GraphQLObjectType<unknown, GatewayRequestContext>({
      name: 'Query',
      fields: {
        hello: { type: GraphQLString, resolve: () => 'world' },
        whoami: { type: GraphQLString, resolve: (_parent, _args, context) => `${context.caller.kind}:${context.caller.partner}:${context.caller.roles.join(',')}` },
        counter: { type: GraphQLInt, resolve: () => state.counter },
        slow: {
          type: GraphQLString,
          args: { ms: { type: new GraphQLNonNull(GraphQLInt) } },
          resolve: async (_parent, args: { ms: number }) => {
            await new Promise((resolve) => setTimeout(resolve, args.ms));
            return `slept ${args.ms}`;
          },
        },
        forbidden: {
          type: GraphQLString,
          resolve: () => {
            throw new EntenteError('FORBIDDEN', 'You may not read this field.');
          },
        },
        boom: {
          type: GraphQLString,
          resolve: () => {
            throw new Error('connection to 10.0.0.7:5432 refused; secret row 4711');
          },
        },
        items: {
          type: new GraphQLList(item),
          args: { first: { type: GraphQLInt } },
          resolve: (_parent, args: { first?: number | null }) => Array.from({ length: args.first ?? 2 }, (_, index) => ({ id: index + 1 })),
        },
        ...extraQueryFields,
      },
    }),
    mutation: new GraphQLObjectType({
      name: 'Mutation',
      fields: {
        increment: {
          type: GraphQLInt,
          resolve: () => {
            state.counter += 1;
            return state.counter;
          },
        },
      },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        blobs: {
          type: GraphQLString,
          args: { count: { type: new GraphQLNonNull(GraphQLInt) }, bytes: { type: new GraphQLNonNull(GraphQLInt) } },
          subscribe: async function* (_parent: unknown, args: { count: number; bytes: number }) {
            const blob = 'x'.repeat(args.bytes);
            for (let index = 0; index < args.count; index += 1) {
              if (index % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
              yield { blobs: blob };
            }
          },
        },
        ticks: {
          type: GraphQLInt,
          args: { count: { type: new GraphQLNonNull(GraphQLInt) }, intervalMs: { type: GraphQLInt } },
          subscribe: async function* (_parent: unknown, args: { count: number; intervalMs?: number | null }) {
            for (let tick = 1; tick <= args.count; tick += 1) {
              await new Promise((resolve) => setTimeout(resolve, args.intervalMs ?? 5));
              yield { ticks: tick };
            }
          },
        },
      },
    }),
  });
}

export interface StartedGateway {
  readonly server: GatewayServer;
  readonly url: string;
  readonly base: string;
  readonly port: number;
  readonly holder: SchemaHolder;
  readonly state: TestState;
  readonly metrics: GatewayMetrics;
  readonly logLines: string[];
}

export interface TestGatewayOptions {
  readonly authenticator?: Authenticator;
  readonly limits?: Partial<GatewayLimits>;
  readonly readiness?: readonly ReadinessCheck[];
  readonly drainTimeoutMs?: number;
  /** Serve https:// and wss:// with this certificate and key. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export const anonymousAuthenticator: Authenticator = {
  authenticate: async () => ({ kind: 'anonymous', partner: 'acme', roles: ['reader'] }),
};

export async function startTestGateway(options: TestGatewayOptions = {}): Promise<StartedGateway> {
  const state: TestState = { counter: 0 };
  const holder = new SchemaHolder(testSchema(state));
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logLines.push(...chunk.toString('utf8').split('\n').filter((line) => line.length > 0));
      callback();
    },
  });
  const metrics = createGatewayMetrics({ partner: 'acme' }, { processMetrics: false });
  const serverOptions: GatewayServerOptions<GatewayRequestContext> = {
    partner: 'acme',
    schema: holder,
    authenticator: options.authenticator ?? anonymousAuthenticator,
    createContext: (base) => base,
    logger: createLogger({ level: 'info', destination, bindings: { partner: 'acme' } }),
    metrics,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.readiness ? { readiness: options.readiness } : {}),
    ...(options.drainTimeoutMs === undefined ? {} : { drainTimeoutMs: options.drainTimeoutMs }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  };
  const server = createGatewayServer(serverOptions);
  const { port, url } = await server.listen({ port: 0 });
  return { server, url, base: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`, port, holder, state, metrics, logLines };
}

export interface GraphQLAnswer {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  readonly headers: Headers;
}

export async function postGraphQL(base: string, query: string, options: { headers?: Record<string, string>; variables?: Record<string, unknown> } = {}): Promise<GraphQLAnswer> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...options.headers },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { status: response.status, contentType: response.headers.get('content-type'), body: (await response.json()) as GraphQLAnswer['body'], headers: response.headers };
}
