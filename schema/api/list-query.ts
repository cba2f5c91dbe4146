// The list query of a type: a Relay connection over connector.list, with where, orderBy, forward
// cursor pagination and totalCount (counted in the same statement when the query selects it). When the
// nodes follow relations and the connector reads nested lists, connector.listNested fetches them with
// the page (nested-reads.ts).
import {
  GraphQLBoolean, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLString, Kind,
  type FieldNode, type GraphQLFieldConfig, type GraphQLResolveInfo, type SelectionSetNode,
} from 'graphql';
import type { ListPage, ListQuery, OrderTerm, Row } from '../../connectors/connector.ts';
import { requiredRowFilter } from './access.ts';
import type { ApiBuilder } from './build-schema.ts';
import type { SchemaContext } from './context.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { badUserInput } from './errors.ts';
import { effectiveOrder, orderByToTerms, whereToFilter } from './inputs.ts';
import { planNestedReads, rememberNested } from './nested-reads.ts';
import { andFilters } from './row-filter.ts';
import { tableOf, type TypeView } from './type-view.ts';

export const pageInfoType = new GraphQLObjectType<ConnectionResult>({
  name: 'PageInfo',
  description: 'Relay pagination state.',
  fields: {
    hasNextPage: { type: new GraphQLNonNull(GraphQLBoolean), resolve: (result) => result.hasNextPage },
    hasPreviousPage: { type: new GraphQLNonNull(GraphQLBoolean), resolve: (result) => result.hasPreviousPage },
    startCursor: { type: GraphQLString, resolve: (result) => cursorAt(result, 0) },
    endCursor: { type: GraphQLString, resolve: (result) => cursorAt(result, result.rows.length - 1) },
  },
});

interface ConnectionResult {
  readonly rows: readonly Row[];
  /** The forward effective order: cursors encode it, whichever way the page was read. */
  readonly order: readonly OrderTerm[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly totalCount: () => Promise<number>;
}

function cursorAt(result: ConnectionResult, index: number): string | null {
  const row = result.rows[index];
  return row === undefined ? null : encodeCursor(result.order, row);
}

const connectionTypeCache = new WeakMap<ApiBuilder, Map<string, GraphQLObjectType>>();

export function connectionTypes(builder: ApiBuilder, view: TypeView): GraphQLObjectType {
  let cache = connectionTypeCache.get(builder);
  if (cache === undefined) {
    cache = new Map();
    connectionTypeCache.set(builder, cache);
  }
  const name = view.policy.name;
  const existing = cache.get(name);
  if (existing !== undefined) return existing;
  const node = new GraphQLNonNull(builder.objectType(name));
  const edge = new GraphQLObjectType<{ readonly row: Row; readonly order: readonly OrderTerm[] }>({
    name: `${name}Edge`,
    fields: {
      cursor: { type: new GraphQLNonNull(GraphQLString), resolve: (item) => encodeCursor(item.order, item.row) },
      node: { type: node, resolve: (item) => item.row },
    },
  });
  const connection = new GraphQLObjectType<ConnectionResult>({
    name: `${name}Connection`,
    description: `A page of ${name} rows.`,
    fields: {
      edges: { type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(edge))), resolve: (result) => result.rows.map((row) => ({ row, order: result.order })) },
      nodes: { type: new GraphQLNonNull(new GraphQLList(node)), resolve: (result) => result.rows },
      pageInfo: { type: new GraphQLNonNull(pageInfoType), resolve: (result) => result },
      totalCount: { type: new GraphQLNonNull(GraphQLInt), description: 'Rows matching `where` (and visible to you), across all pages.', resolve: (result) => result.totalCount() },
    },
  });
  cache.set(name, connection);
  return connection;
}

interface ListArgs {
  readonly where?: { readonly [name: string]: unknown } | null;
  readonly orderBy?: readonly { readonly field: string; readonly direction: 'asc' | 'desc' }[] | null;
  readonly first?: number | null;
  readonly after?: string | null;
  readonly last?: number | null;
  readonly before?: string | null;
}

export function listConnectionField(builder: ApiBuilder, view: TypeView): GraphQLFieldConfig<unknown, SchemaContext> {
  const orderBy = builder.inputs.orderBy(view);
  const keyColumns = (view.keyFields ?? []).map((field) => field.column);
  const sizeMax = builder.options.pageSizeMax;
  return {
    type: new GraphQLNonNull(connectionTypes(builder, view)),
    description: `${view.policy.name} rows visible to you, a page at a time: forward with first/after, backward with last/before.`,
    args: {
      where: { type: builder.inputs.where(view) },
      ...(orderBy === null ? {} : { orderBy: { type: new GraphQLList(new GraphQLNonNull(orderBy)) } }),
      first: { type: GraphQLInt, description: `Page size (default ${builder.options.pageSizeDefault}, at most ${sizeMax}).` },
      after: { type: GraphQLString, description: 'The endCursor of the previous page.' },
      last: { type: GraphQLInt, description: `Page size when paging backward (at most ${sizeMax}).` },
      before: { type: GraphQLString, description: 'The startCursor of the next page, when paging backward.' },
    },
    resolve: async (_source, args: ListArgs, context, info) => {
      const backward = args.last !== null && args.last !== undefined;
      if (backward && (args.first !== null && args.first !== undefined || args.after !== null && args.after !== undefined)) {
        throw badUserInput('Page either forward (first, after) or backward (last, before), not both at once.');
      }
      const size = (backward ? args.last : args.first) ?? builder.options.pageSizeDefault;
      if (size < 0 || size > sizeMax) throw badUserInput(`${backward ? 'last' : 'first'} must be between 0 and ${sizeMax}; fetch further pages with the cursors.`);
      const where = andFilters([whereToFilter(args.where, view, context.caller), requiredRowFilter(view, context.caller, 'read')]);
      const order = effectiveOrder(orderByToTerms(args.orderBy, view, context.caller), keyColumns);
      const cursor = backward ? args.before : args.after;
      const from = cursor === null || cursor === undefined ? undefined : decodeCursor(cursor, order);
      // Backward pages are forward pages in the reversed order, turned around.
      const queryOrder = backward ? order.map((term) => ({ column: term.column, direction: term.direction === 'asc' ? 'desc' as const : 'asc' as const })) : order;
      const table = tableOf(view.policy, context.connector, builder.options.partner);
      const query: ListQuery = {
        table, first: size, includeTotalCount: selects(info, 'totalCount'),
        ...(where === undefined ? {} : { where }),
        ...(queryOrder.length === 0 ? {} : { orderBy: queryOrder }),
        ...(from === undefined ? {} : { after: from }),
      };
      const page = await listPage(builder, view, query, info, context);
      const counted = page.totalCount;
      return {
        rows: backward ? [...page.rows].reverse() : page.rows,
        order,
        hasNextPage: backward ? from !== undefined : page.hasNextPage,
        hasPreviousPage: backward ? page.hasNextPage : from !== undefined,
        totalCount: counted !== undefined ? () => Promise.resolve(counted) : () => context.connector.count(table, where),
      } satisfies ConnectionResult;
    },
  };
}

/** The page, with the relations its nodes follow fetched in the same statement when the connector can (nested-reads.ts). */
async function listPage(builder: ApiBuilder, view: TypeView, query: ListQuery, info: GraphQLResolveInfo, context: SchemaContext): Promise<ListPage> {
  const plans = planNestedReads(builder, view, info, context, query.first);
  if (plans.length === 0 || context.connector.listNested === undefined) return context.connector.list(query);
  const page = await context.connector.listNested({ ...query, relations: plans.map((plan) => plan.query) });
  rememberNested(page.rows, plans);
  return { ...page, rows: page.rows.map((nested) => nested.row) };
}

/** Whether the field's selection (through fragments) asks for `name`. */
function selects(info: GraphQLResolveInfo, name: string): boolean {
  const visit = (selectionSet: SelectionSetNode | undefined, depth: number): boolean => {
    if (selectionSet === undefined || depth > 16) return false;
    return selectionSet.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return selection.name.value === name;
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet, depth + 1);
      return visit(info.fragments[selection.name.value]?.selectionSet, depth + 1);
    });
  };
  return info.fieldNodes.some((node: FieldNode) => visit(node.selectionSet, 0));
}
