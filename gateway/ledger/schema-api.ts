// The schema-evolution part of a gateway's API (issue #11), merged into every version of the unified API:
//   query    schemaEvolution                      the active version, where it was activated, pending proposals
//   mutation proposeSchemaChange(files: […])      propose the next version (these partner files replace theirs)
//   mutation approveSchemaChange(proposal: "…")   approve a pending proposal as this partner
// Only this partner's own callers (apps, or anonymous callers where allowed) see and may call the
// mutations: a peer gateway acts for another partner, and each partner approves through its own gateway.
import { GraphQLBoolean, GraphQLInputObjectType, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, type GraphQLFieldConfig } from 'graphql';
import { EntenteError } from '../../common/errors.ts';
import type { Caller } from '../auth/caller.ts';
import type { SchemaChangeReceipt, SchemaEvolution } from './schema-evolution.ts';

const nonNullString = new GraphQLNonNull(GraphQLString);
const stringList = new GraphQLNonNull(new GraphQLList(nonNullString));

const fileInput = new GraphQLInputObjectType({
  name: 'SchemaFileInput',
  description: 'One partner\'s schema file (SDL) of the proposed version.',
  fields: { partner: { type: nonNullString }, source: { type: nonNullString, description: 'The whole file: it replaces the partner\'s file of the active version.' } },
});

const receiptType = new GraphQLObjectType<SchemaChangeReceipt>({
  name: 'SchemaChangeReceipt',
  description: 'A committed schema proposal or approval, and what the governance policy still needs.',
  fields: {
    proposal: { type: nonNullString, description: 'The proposal hash (hex): what approvals name.' },
    version: { type: new GraphQLNonNull(GraphQLInt) },
    height: { type: new GraphQLNonNull(GraphQLInt), description: 'The ledger height the transaction committed at.' },
    approved: { type: new GraphQLNonNull(GraphQLBoolean), description: 'Whether the approvals so far (this one included) suffice; the proposer\'s gateway then activates it.' },
    required: { type: stringList },
    missing: { type: stringList, description: 'Partners whose approval is still needed.' },
    message: { type: nonNullString },
  },
});

const pendingType = new GraphQLObjectType({
  name: 'PendingSchemaProposal',
  fields: { proposal: { type: nonNullString }, version: { type: new GraphQLNonNull(GraphQLInt) }, proposer: { type: nonNullString }, approvals: { type: stringList } },
});

const schemaEvolutionType = new GraphQLObjectType({
  name: 'SchemaEvolution',
  description: 'The schema version this gateway serves and the proposals waiting for approval.',
  fields: {
    version: { type: new GraphQLNonNull(GraphQLInt) },
    activatedAtHeight: { type: new GraphQLNonNull(GraphQLInt), description: 'The block that activated it (0: the genesis version).' },
    pending: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(pendingType))) },
  },
});

function requireOwnCaller(caller: Caller | undefined, partner: string): void {
  if (caller === undefined || caller.kind === 'peer' || caller.partner !== partner) {
    throw new EntenteError('FORBIDDEN', `only ${partner}'s own callers may propose or approve schema changes on this gateway; each partner approves through its own gateway`);
  }
}

interface WithCaller {
  readonly caller?: Caller;
}

/** Adds the schema-evolution query and (for this partner's own viewers) mutations to one built API. */
export function withSchemaEvolutionApi(api: GraphQLSchema, evolution: SchemaEvolution, partner: string, viewerPartner: string | null): GraphQLSchema {
  const config = api.toConfig();
  const queryFields: Record<string, GraphQLFieldConfig<unknown, WithCaller>> = {
    schemaEvolution: { type: new GraphQLNonNull(schemaEvolutionType), resolve: () => evolution.status() },
  };
  const mutationFields: Record<string, GraphQLFieldConfig<unknown, WithCaller>> = viewerPartner !== null && viewerPartner !== partner ? {} : {
    proposeSchemaChange: {
      type: new GraphQLNonNull(receiptType),
      description: 'Proposes the next schema version through the ledger. Resolves once committed; the message names who must approve.',
      args: { files: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(fileInput))) } },
      resolve: (_parent, args: { files: { partner: string; source: string }[] }, context) => {
        requireOwnCaller(context.caller, partner);
        return evolution.propose(args.files);
      },
    },
    approveSchemaChange: {
      type: new GraphQLNonNull(receiptType),
      description: 'Approves a pending schema proposal (its hash, as proposeSchemaChange returned it) as this partner.',
      args: { proposal: { type: nonNullString } },
      resolve: (_parent, args: { proposal: string }, context) => {
        requireOwnCaller(context.caller, partner);
        return evolution.approve(args.proposal);
      },
    },
  };
  const query = extend(config.query ?? null, 'Query', queryFields);
  const mutation = Object.keys(mutationFields).length === 0 ? config.mutation ?? null : extend(config.mutation ?? null, 'Mutation', mutationFields);
  const replaced = new Set([config.query, config.mutation].filter((type) => type !== null && type !== undefined));
  return new GraphQLSchema({ ...config, query, mutation, types: config.types.filter((type) => !replaced.has(type as GraphQLObjectType)) });
}

function extend(type: GraphQLObjectType | null, name: string, fields: Record<string, GraphQLFieldConfig<unknown, WithCaller>>): GraphQLObjectType {
  if (type === null) return new GraphQLObjectType({ name, fields });
  const config = type.toConfig();
  return new GraphQLObjectType({ ...config, fields: { ...config.fields, ...fields } });
}
