import type { Caller } from '../auth/caller.ts';

/** What the gateway knows about every operation before the schema's resolvers see it. */
export interface GatewayRequestContext {
  readonly caller: Caller;
  /** Echoed as `x-request-id` and in masked errors, so an operator can find the log line. */
  readonly requestId: string;
  /** Aborted when the request times out, the client goes away, or a subscription ends. */
  readonly signal: AbortSignal;
  readonly transport: 'http' | 'websocket';
}

/** Builds the full GraphQL context (connector, write path, change feed, …) from the gateway's part. */
export type ContextFactory<TContext extends GatewayRequestContext> = (base: GatewayRequestContext) => Promise<TContext> | TContext;
