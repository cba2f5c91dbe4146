// The `ledger` query field: height, head, blocks and transactions with inclusion proofs, read through
// the LedgerReader in the context. A transaction of a type the caller may not read is absent (null),
// exactly like one that does not exist.
import { GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString, type GraphQLFieldConfig } from 'graphql';
import type { Row } from '../../connectors/connector.ts';
import { findType, mayPerform } from '../policy.ts';
import { DateTimeScalar, JSONScalar } from '../scalars.ts';
import type { ApiBuilder } from './build-schema.ts';
import type { InclusionProofView, LedgerBlockView, LedgerTransactionView, SchemaContext } from './context.ts';
import { changeOperationType } from './subscriptions.ts';

const nonNullString = new GraphQLNonNull(GraphQLString);
const nonNullInt = new GraphQLNonNull(GraphQLInt);

const proofType = new GraphQLObjectType<InclusionProofView>({
  name: 'InclusionProof',
  description: 'Proof that a transaction is in a block: hash leafHash with siblings (bottom-up, by leafIndex) to reach merkleRoot, which the block header at blockHeight commits to.',
  fields: {
    blockHeight: { type: nonNullInt },
    blockHash: { type: nonNullString },
    merkleRoot: { type: nonNullString },
    leafHash: { type: nonNullString },
    leafIndex: { type: nonNullInt },
    siblings: { type: new GraphQLNonNull(new GraphQLList(nonNullString)) },
  },
});

const blockType = new GraphQLObjectType<LedgerBlockView>({
  name: 'LedgerBlock',
  fields: {
    height: { type: nonNullInt },
    hash: { type: nonNullString },
    previousHash: { type: GraphQLString },
    merkleRoot: { type: nonNullString },
    time: { type: new GraphQLNonNull(DateTimeScalar) },
    proposer: { type: nonNullString },
    schemaVersion: { type: nonNullInt },
    transactionIds: { type: new GraphQLNonNull(new GraphQLList(nonNullString)), description: 'The transactions of this block you may see.' },
  },
});

function transactionType(builder: ApiBuilder): GraphQLObjectType<LedgerTransactionView, SchemaContext> {
  return new GraphQLObjectType<LedgerTransactionView, SchemaContext>({
    name: 'LedgerTransaction',
    fields: {
      id: { type: nonNullString },
      height: { type: nonNullInt },
      type: { type: nonNullString, description: 'The shared type the transaction changes.' },
      operation: { type: new GraphQLNonNull(changeOperationType) },
      key: { type: new GraphQLNonNull(JSONScalar), description: 'Key of the changed row, by GraphQL field name.', resolve: (transaction) => keyByFieldName(builder, transaction) },
      owner: { type: nonNullString, description: 'The partner that published the change (the owner of the type).' },
      proof: { type: new GraphQLNonNull(proofType) },
      proofDocument: { type: JSONScalar, description: 'The complete proof (format entente-proof/2: the transaction, its batch signature, the Merkle paths and the commit certificate), to check offline with `entente proof --check` or in the explorer.' },
    },
  });
}

function keyByFieldName(builder: ApiBuilder, transaction: LedgerTransactionView): Row {
  const policy = findType(builder.unified, transaction.type);
  if (policy === undefined) return transaction.key;
  return Object.fromEntries(Object.entries(transaction.key).map(([column, value]) => [
    policy.fields.find((field) => field.kind === 'column' && field.column === column)?.name ?? column, value,
  ]));
}

export function ledgerField(builder: ApiBuilder): GraphQLFieldConfig<unknown, SchemaContext> {
  const ledgerType = new GraphQLObjectType<object, SchemaContext>({
    name: 'Ledger',
    description: 'The shared, verified history this gateway holds.',
    fields: {
      height: { type: nonNullInt, description: 'Height of the newest verified block (0 before the first).', resolve: (_l, _a, context) => context.ledger.height(context.caller) },
      head: { type: GraphQLString, description: 'Hash of that block, hex.', resolve: (_l, _a, context) => context.ledger.head(context.caller) },
      block: {
        type: blockType,
        args: { height: { type: nonNullInt } },
        resolve: (_l, args: { readonly height: number }, context) => context.ledger.block(args.height, context.caller),
      },
      transaction: {
        type: transactionType(builder),
        args: { id: { type: nonNullString } },
        resolve: async (_l, args: { readonly id: string }, context) => {
          const transaction = await context.ledger.transaction(args.id, context.caller);
          if (transaction === null) return null;
          const policy = findType(builder.unified, transaction.type);
          return policy !== undefined && mayPerform(policy, context.caller, 'read') ? transaction : null;
        },
      },
    },
  });
  return { type: new GraphQLNonNull(ledgerType), resolve: () => ({}) };
}
