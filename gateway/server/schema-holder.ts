// The one place the gateway keeps its current GraphQL schema. Apollo Server and the graphql-ws server
// both read it per request, so a schema evolution (a ledger-agreed schema change) can swap the API in
// place: requests already executing finish on the schema they started with, new requests and new
// subscriptions see the new one, and open WebSocket connections are not dropped.
//
// With a viewer builder, each caller gets the API built for its partner and roles (schema/api's
// per-viewer schemas): what it may not use is absent, so access is decided at validation, before any
// resolver runs, and introspection shows only what the caller may use.
import type { GraphQLSchema } from 'graphql';
import { assert } from '../../common/assert.ts';


export interface SchemaVersion {
  readonly schema: GraphQLSchema;
  /** Monotonic, starting at 1; the schema-evolution layer may set it to the ledger's schema version. */
  readonly version: number;
}

export type SchemaListener = (current: SchemaVersion) => void;

/** Who a per-viewer schema is built for: the shape of the schema layer's Caller. */
export interface Viewer {
  readonly partner: string;
  readonly roles: readonly string[];
}

/** Builds the API one viewer sees (types, fields and mutations it may not use are absent). */
export type ViewerSchemaBuilder = (viewer: Viewer) => GraphQLSchema;

export interface ViewerSchema {
  readonly schema: GraphQLSchema;
  readonly version: number;
  /** Same key, same schema object: servers cache per key. */
  readonly key: string;
}

/** Distinct (partner, role set) schemas kept; the least recently built is dropped first. */
export const viewerSchemasMax = 256;

export class SchemaHolder {
  #current: SchemaVersion;
  #forViewer: ViewerSchemaBuilder | null;
  readonly #viewerSchemas = new Map<string, ViewerSchema>();
  readonly #listeners = new Set<SchemaListener>();

  /** `forViewer` absent: every caller gets `schema` (the resolvers still check every access). */
  constructor(schema: GraphQLSchema, version = 1, forViewer: ViewerSchemaBuilder | null = null) {
    this.#current = { schema, version };
    this.#forViewer = forViewer;
  }

  /** The schema this caller's operations are validated and executed against. */
  schemaFor(viewer: Viewer): ViewerSchema {
    const { schema, version } = this.#current;
    if (this.#forViewer === null) return { schema, version, key: `v${version}` };
    const key = `v${version}|${viewer.partner}|${[...new Set(viewer.roles)].sort().join(',')}`;
    const cached = this.#viewerSchemas.get(key);
    if (cached !== undefined) return cached;
    const built: ViewerSchema = { schema: this.#forViewer({ partner: viewer.partner, roles: viewer.roles }), version, key };
    if (this.#viewerSchemas.size >= viewerSchemasMax) this.#viewerSchemas.delete(this.#viewerSchemas.keys().next().value!);
    this.#viewerSchemas.set(key, built);
    return built;
  }

  current(): SchemaVersion {
    return this.#current;
  }

  /** Installs a new schema for every request and subscription that starts from now on. */
  replace(schema: GraphQLSchema, version = this.#current.version + 1, forViewer: ViewerSchemaBuilder | null = this.#forViewer): void {
    assert(version > this.#current.version, `schema version must grow: ${version} after ${this.#current.version}`);
    this.#current = { schema, version };
    this.#forViewer = forViewer;
    this.#viewerSchemas.clear();
    for (const listener of this.#listeners) listener(this.#current);
  }

  onChange(listener: SchemaListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
