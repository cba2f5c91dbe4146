// <type>Changed subscriptions: changes applied to this gateway's database, filtered per event by the
// subscriber's `where` and by its row rules (a change to a row it may not read never reaches it).
import { GraphQLEnumType, GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLString, type GraphQLFieldConfigMap } from 'graphql';
import type { Filter } from '../../connectors/connector.ts';
import { singleFieldName } from '../naming.ts';
import { requiredRowFilter } from './access.ts';
import type { ApiBuilder } from './build-schema.ts';
import type { AppliedChange, SchemaContext } from './context.ts';
import { whereToFilter } from './inputs.ts';
import { clearLoaders } from './loaders.ts';
import { andFilters, matchesFilter } from './row-filter.ts';
import type { TypeView } from './type-view.ts';

export const changeOperationType = new GraphQLEnumType({
  name: 'ChangeOperation',
  values: { INSERT: { value: 'insert' }, UPDATE: { value: 'update' }, DELETE: { value: 'delete' } },
});

export function subscriptionFields(builder: ApiBuilder, view: TypeView): GraphQLFieldConfigMap<unknown, SchemaContext> {
  const name = view.policy.name;
  const event = new GraphQLObjectType<AppliedChange, SchemaContext>({
    name: `${name}ChangeEvent`,
    fields: {
      operation: { type: new GraphQLNonNull(changeOperationType), resolve: (change) => change.op },
      node: { type: new GraphQLNonNull(builder.objectType(name)), description: 'The row after the change; for a delete, as it was.', resolve: (change) => change.row },
      ledgerHeight: { type: GraphQLInt },
      transactionId: { type: GraphQLString },
    },
  });
  return {
    [`${singleFieldName(name)}Changed`]: {
      type: new GraphQLNonNull(event),
      description: `Every change to a ${name} you may read and that matches \`where\`, as it is applied here.`,
      args: { where: { type: builder.inputs.where(view) } },
      subscribe: (_source, args: { readonly where?: { readonly [name: string]: unknown } | null }, context: SchemaContext) => {
        const filter = andFilters([whereToFilter(args.where, view, context.caller), requiredRowFilter(view, context.caller, 'read')]);
        return filtered(context.changeFeed.subscribe(name), filter, view, context);
      },
      resolve: (change: unknown) => change,
    },
  };
}

/**
 * Keeps the changes that pass `filter`. Hand-written instead of an async generator so that `return()`
 * (the client unsubscribes) reaches the source at once even while a `next()` is pending.
 */
function filtered(source: AsyncIterable<AppliedChange>, filter: Filter | undefined, view: TypeView, context: SchemaContext): AsyncIterableIterator<AppliedChange> {
  const iterator = source[Symbol.asyncIterator]();
  return {
    async next() {
      for (;;) {
        const result = await iterator.next();
        if (result.done === true) return result;
        if (filter !== undefined && !matchesFilter(result.value.row, filter, view.kinds)) continue;
        // Each event is resolved with fresh loaders: rows cached for an earlier event may have changed.
        clearLoaders(context);
        return result;
      }
    },
    async return() {
      await iterator.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
