// One executable schema per viewer (partner + role set), built on first use and kept: building costs
// milliseconds, a request must not pay it. The gateway asks `schemaFor(caller)` per request and drops
// the cache (builds a new one) when the unified schema changes.
import type { GraphQLSchema } from 'graphql';
import { EntenteError } from '../../common/errors.ts';
import type { Caller, UnifiedSchema } from '../policy.ts';
import { buildExecutableSchema, type BuildSchemaOptions } from './build-schema.ts';

/** Distinct viewers kept; role sets come from tokens, so a hostile issuer could otherwise grow it. */
export const viewerSchemasMax = 1_024;

export interface SchemaCache {
  schemaFor(caller: Caller): GraphQLSchema;
  /** The full API (all types, fields and operations), for codegen and tooling; resolvers still check callers. */
  readonly fullSchema: GraphQLSchema;
  size(): number;
}

export function viewerKey(caller: Caller): string {
  return JSON.stringify([caller.partner, [...new Set(caller.roles)].sort()]);
}

export function createSchemaCache(unified: UnifiedSchema, options: Omit<BuildSchemaOptions, 'viewer'>): SchemaCache {
  const schemas = new Map<string, GraphQLSchema>();
  const fullSchema = buildExecutableSchema(unified, { ...options, viewer: null });
  return {
    fullSchema,
    size: () => schemas.size,
    schemaFor(caller) {
      const key = viewerKey(caller);
      const cached = schemas.get(key);
      if (cached !== undefined) return cached;
      if (schemas.size >= viewerSchemasMax) {
        throw new EntenteError('LIMIT_EXCEEDED', `more than ${viewerSchemasMax} distinct partner/role combinations asked for a schema; check the roles claim your token issuer sends.`);
      }
      const built = buildExecutableSchema(unified, { ...options, viewer: caller });
      schemas.set(key, built);
      return built;
    },
  };
}
