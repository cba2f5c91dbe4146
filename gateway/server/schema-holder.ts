// The one place the gateway keeps its current GraphQL schema. Apollo Server and the graphql-ws server
// both read it per request, so a schema evolution (a ledger-agreed schema change) can swap the API in
// place: requests already executing finish on the schema they started with, new requests and new
// subscriptions see the new one, and open WebSocket connections are not dropped.
//
// Apollo Server learns about swaps through its gateway interface (`load` + `onSchemaLoadOrUpdate`),
// which is exactly its supported mechanism for a schema that changes while the server runs; it returns
// no executor, so Apollo executes operations itself against the schema we hand it.
import { printSchema, type GraphQLSchema } from 'graphql';
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { assert } from '../../common/assert.ts';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type GatewaySchemaLoadOrUpdateCallback = Parameters<GatewayInterface['onSchemaLoadOrUpdate']>[0];

export interface SchemaVersion {
  readonly schema: GraphQLSchema;
  /** Monotonic, starting at 1; the schema-evolution layer may set it to the ledger's schema version. */
  readonly version: number;
}

export type SchemaListener = (current: SchemaVersion) => void;

export class SchemaHolder {
  #current: SchemaVersion;
  readonly #listeners = new Set<SchemaListener>();

  constructor(schema: GraphQLSchema, version = 1) {
    this.#current = { schema, version };
  }

  current(): SchemaVersion {
    return this.#current;
  }

  /** Installs a new schema for every request and subscription that starts from now on. */
  replace(schema: GraphQLSchema, version = this.#current.version + 1): void {
    assert(version > this.#current.version, `schema version must grow: ${version} after ${this.#current.version}`);
    this.#current = { schema, version };
    for (const listener of this.#listeners) listener(this.#current);
  }

  onChange(listener: SchemaListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The adapter Apollo Server uses in place of a static `schema`. */
  asApolloGateway(): GatewayInterface {
    const current = (): SchemaVersion => this.current();
    const onChange = (listener: SchemaListener): (() => void) => this.onChange(listener);
    let unsubscribe: (() => void) | null = null;
    return {
      async load() {
        return { executor: null };
      },
      onSchemaLoadOrUpdate(callback: GatewaySchemaLoadOrUpdateCallback) {
        const notify = (current: SchemaVersion): void => callback({ apiSchema: current.schema, coreSupergraphSdl: printSchema(current.schema) });
        notify(current());
        unsubscribe = onChange(notify);
        return () => {
          unsubscribe?.();
          unsubscribe = null;
        };
      },
      async stop() {
        unsubscribe?.();
        unsubscribe = null;
      },
    };
  }
}
