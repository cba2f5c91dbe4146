// The part of the API every gateway serves whatever the unified schema holds: which partner and node
// this is, the schema version, and the ledger height and head it has verified (read-your-writes
// clients compare heights). The unified API (schema/api) is merged with it when it is available.
import { GraphQLBoolean, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import type { GatewayRequestContext } from '../server/request-context.ts';

export interface GatewayStatusSource {
  readonly partner: string;
  readonly peers: () => readonly { readonly partner: string; readonly connected: boolean }[];
  readonly ledgerHeight: () => Promise<number>;
  readonly ledgerHead: () => Promise<string | null>;
  readonly schemaVersion: () => number;
}

const peerType = new GraphQLObjectType({
  name: 'GatewayPeer',
  description: 'Another partner\'s gateway in this network.',
  fields: {
    partner: { type: new GraphQLNonNull(GraphQLString) },
    connected: { type: new GraphQLNonNull(GraphQLBoolean), description: 'Whether this gateway currently holds an authenticated connection to it.' },
  },
});

export function gatewayStatusType(source: GatewayStatusSource): GraphQLObjectType {
  return new GraphQLObjectType<unknown, GatewayRequestContext>({
    name: 'GatewayStatus',
    description: 'This gateway: its partner, schema version, ledger position and peers.',
    fields: {
      partner: { type: new GraphQLNonNull(GraphQLString), resolve: () => source.partner },
      caller: { type: new GraphQLNonNull(GraphQLString), description: 'Who this gateway authenticated you as.', resolve: (_parent, _args, context) => context.caller.kind === 'app' ? context.caller.subject : context.caller.kind },
      schemaVersion: { type: new GraphQLNonNull(GraphQLInt), resolve: () => source.schemaVersion() },
      ledgerHeight: { type: new GraphQLNonNull(GraphQLInt), resolve: () => source.ledgerHeight() },
      ledgerHead: { type: GraphQLString, resolve: () => source.ledgerHead() },
      peers: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(peerType))), resolve: () => source.peers() },
    },
  });
}

/** A schema with only the gateway status, for a gateway whose unified API is not loaded yet. */
export function statusOnlySchema(source: GatewayStatusSource): GraphQLSchema {
  const status = gatewayStatusType(source);
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { gateway: { type: new GraphQLNonNull(status), resolve: () => ({}) } } }),
  });
}
