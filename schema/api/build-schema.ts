// The generated GraphQL API of the unified schema: for every shared type a by-key query, a list query
// (where, orderBy, Relay cursor pagination, totalCount), create/update/delete mutations, a <type>Changed
// subscription, and relations; plus the ledger. No resolver is written by hand: all of them are built
// here from the policy and speak only to the interfaces in the context (connector, write path, change
// feed, ledger reader, caller).
//
// buildExecutableSchema(unified, { partner, viewer }) builds the API one viewer sees: types, fields and
// operations it is not granted are absent, so they appear neither in execution nor in introspection.
// Without a viewer it builds the full API (codegen, tooling); resolvers check the caller either way.
import {
  GraphQLEnumType, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, assertValidSchema, specifiedScalarTypes,
  type GraphQLFieldConfig, type GraphQLFieldConfigMap, type GraphQLOutputType,
} from 'graphql';
import type { Row, Value } from '../../connectors/connector.ts';
import { assert } from '../../common/assert.ts';
import { EntenteError } from '../../common/errors.ts';
import { listFieldName, singleFieldName } from '../naming.ts';
import type { Caller, FieldTypeRef, RelationFieldPolicy, ScalarFieldPolicy, UnifiedSchema } from '../policy.ts';
import { customScalars } from '../scalars.ts';
import { checkFieldReadable, requiredRowFilter, visibleRow } from './access.ts';
import type { SchemaContext } from './context.ts';
import { InputTypes, type LeafType } from './inputs.ts';
import { ledgerField } from './ledger-fields.ts';
import { rowsByGroup, rowsByKey } from './loaders.ts';
import { prefetchedRelation } from './nested-reads.ts';
import { groupSpec, groupSpecOnce, keyValues, relationRead, singleSpecId, type NestedListArgs } from './relation-reads.ts';
import { buildTypeViews, tableOf, type TypeView } from './type-view.ts';
import { listConnectionField } from './list-query.ts';
import { mutationFields } from './mutations.ts';
import { subscriptionFields } from './subscriptions.ts';

export interface BuildSchemaOptions {
  /** This gateway's partner: its own types are read from its tables, the others from its replicas. */
  readonly partner: string;
  /** The caller whose API this is; null or absent: the full API. */
  readonly viewer?: Caller | null;
  /** Page size when a list query gives no `first`. */
  readonly pageSizeDefault?: number;
  /** Largest `first` accepted (the connector may clamp further). */
  readonly pageSizeMax?: number;
}

export interface ApiBuilder {
  readonly unified: UnifiedSchema;
  readonly options: Required<Omit<BuildSchemaOptions, 'viewer'>> & { readonly viewer: Caller | null };
  readonly views: ReadonlyMap<string, TypeView>;
  readonly inputs: InputTypes;
  objectType(name: string): GraphQLObjectType;
  outputType(type: FieldTypeRef): GraphQLOutputType;
  leaf(name: string): LeafType;
}

export const pageSizeDefault = 50;
export const pageSizeMax = 1_000;

export function buildExecutableSchema(unified: UnifiedSchema, options: BuildSchemaOptions): GraphQLSchema {
  const builder = createBuilder(unified, options);
  const query: GraphQLFieldConfigMap<unknown, SchemaContext> = {};
  const mutation: GraphQLFieldConfigMap<unknown, SchemaContext> = {};
  const subscription: GraphQLFieldConfigMap<unknown, SchemaContext> = {};
  for (const view of builder.views.values()) {
    const single = singleFieldName(view.policy.name);
    if (view.keyFields !== null) addField(query, single, byKeyField(builder, view));
    addField(query, listFieldName(view.policy.name), listConnectionField(builder, view));
    for (const [name, field] of Object.entries(mutationFields(builder, view))) addField(mutation, name, field);
    for (const [name, field] of Object.entries(subscriptionFields(builder, view))) addField(subscription, name, field);
  }
  addField(query, 'ledger', ledgerField(builder));
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: query }),
    mutation: Object.keys(mutation).length > 0 ? new GraphQLObjectType({ name: 'Mutation', fields: mutation }) : undefined,
    subscription: Object.keys(subscription).length > 0 ? new GraphQLObjectType({ name: 'Subscription', fields: subscription }) : undefined,
  });
  // Fail at build time (gateway start, schema reload), not at the first request.
  assertValidSchema(schema);
  return schema;
}

function addField(fields: GraphQLFieldConfigMap<unknown, SchemaContext>, name: string, field: GraphQLFieldConfig<unknown, SchemaContext>): void {
  if (name in fields) {
    throw new EntenteError('SCHEMA_INVALID', `two shared types generate the root field "${name}"; rename one of the types in its partner file.`);
  }
  fields[name] = field;
}

export function createBuilder(unified: UnifiedSchema, options: BuildSchemaOptions): ApiBuilder {
  const leaves = new Map<string, LeafType>([...specifiedScalarTypes, ...customScalars].map((scalar) => [scalar.name, scalar]));
  for (const policy of unified.enums) {
    leaves.set(policy.name, new GraphQLEnumType({
      name: policy.name,
      description: policy.description ?? undefined,
      values: Object.fromEntries(policy.values.map((value) => [value.name, { value: value.label, description: value.description ?? undefined }])),
    }));
  }
  const objects = new Map<string, GraphQLObjectType>();
  const leaf = (name: string): LeafType => {
    const found = leaves.get(name);
    assert(found !== undefined, `composition admits only known scalars and enums, got ${name}`);
    return found;
  };
  const builder: ApiBuilder = {
    unified,
    options: {
      partner: options.partner,
      viewer: options.viewer ?? null,
      pageSizeDefault: options.pageSizeDefault ?? pageSizeDefault,
      pageSizeMax: options.pageSizeMax ?? pageSizeMax,
    },
    views: buildTypeViews(unified, options.viewer ?? null),
    inputs: new InputTypes(leaf),
    leaf,
    outputType: (type) => {
      const named = leaf(type.name);
      const wrapped: GraphQLOutputType = type.list ? new GraphQLList(type.itemsNullable ? named : new GraphQLNonNull(named)) : named;
      return type.nullable ? wrapped : new GraphQLNonNull(wrapped);
    },
    objectType: (name) => {
      const existing = objects.get(name);
      if (existing !== undefined) return existing;
      const view = builder.views.get(name);
      assert(view !== undefined, `object type ${name} requested but not visible`);
      const created = objectTypeFor(builder, view);
      objects.set(name, created);
      return created;
    },
  };
  return builder;
}

function objectTypeFor(builder: ApiBuilder, view: TypeView): GraphQLObjectType {
  return new GraphQLObjectType<Row, SchemaContext>({
    name: view.policy.name,
    description: view.policy.description ?? undefined,
    fields: () => Object.fromEntries(view.fields.map((field) => [
      field.name,
      field.kind === 'column' ? columnField(builder, view, field) : relationField(builder, view, field),
    ])),
  });
}

function columnField(builder: ApiBuilder, view: TypeView, field: ScalarFieldPolicy): GraphQLFieldConfig<Row, SchemaContext> {
  const restricted = field.readableBy.length > 0;
  return {
    type: builder.outputType(field.type),
    description: field.description ?? undefined,
    resolve: (row, _args, context) => {
      if (restricted) checkFieldReadable(view, field, context.caller);
      return row[field.column] ?? null;
    },
  };
}

function relationField(builder: ApiBuilder, view: TypeView, field: RelationFieldPolicy): GraphQLFieldConfig<Row, SchemaContext> {
  const read = relationRead(builder, view, field);
  const { target, localColumns, targetColumns, restricted } = read;
  if (!field.list) {
    // A target the viewer sees only some rows of may come back empty: the field must be nullable then.
    const named = builder.objectType(field.target);
    const specId = singleSpecId(read);
    return {
      type: field.nullable || target.rowRestricted ? named : new GraphQLNonNull(named),
      description: field.description ?? undefined,
      // Not async: a pre-fetched answer is returned as a value, which graphql-js completes without a promise.
      resolve: (row, _args, context, info) => {
        if (restricted) read.checkReadable(context.caller);
        const key = keyValues(row, localColumns);
        if (key === null) return null;
        const prefetched = prefetchedRelation(row, info.path.key, specId);
        if (prefetched !== undefined) return visibleRow(prefetched.value as Row | null, target, context.caller);
        const table = tableOf(target.policy, context.connector, builder.options.partner);
        return rowsByKey(context, table, targetColumns).load(key).then((found) => visibleRow(found, target, context.caller));
      },
    };
  }
  return {
    type: new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(builder.objectType(field.target)))),
    description: field.description ?? undefined,
    args: nestedListArgs(builder, target),
    resolve: (row, args: NestedListArgs, context, info) => {
      if (restricted) read.checkReadable(context.caller);
      const key = keyValues(row, localColumns);
      if (key === null) return [];
      const spec = groupSpecOnce(context, info.fieldNodes[0]!, () => groupSpec(builder, read, args, context.caller));
      const prefetched = prefetchedRelation(row, info.path.key, spec.id);
      if (prefetched !== undefined) return prefetched.value;
      const table = tableOf(target.policy, context.connector, builder.options.partner);
      return rowsByGroup(context, { table, columns: targetColumns, where: spec.where, orderBy: spec.orderBy, first: spec.first }).load(key);
    },
  };
}

function nestedListArgs(builder: ApiBuilder, target: TypeView): GraphQLFieldConfig<Row, SchemaContext>['args'] {
  const orderBy = builder.inputs.orderBy(target);
  return {
    where: { type: builder.inputs.where(target) },
    ...(orderBy === null ? {} : { orderBy: { type: new GraphQLList(new GraphQLNonNull(orderBy)) } }),
    first: { type: GraphQLInt, description: `At most this many items per parent (default ${builder.options.pageSizeDefault}).` },
  };
}

export function keyArgs(builder: ApiBuilder, view: TypeView): GraphQLFieldConfig<unknown, SchemaContext>['args'] {
  assert(view.keyFields !== null, 'key arguments need a key');
  return Object.fromEntries(view.keyFields.map((field) => [field.name, { type: new GraphQLNonNull(builder.leaf(field.type.name)) }]));
}

export function keyFromArgs(view: TypeView, args: { readonly [name: string]: unknown }): { readonly columns: string[]; readonly values: Value[] } {
  assert(view.keyFields !== null, 'key arguments need a key');
  return { columns: view.keyFields.map((field) => field.column), values: view.keyFields.map((field) => args[field.name] as Value) };
}

function byKeyField(builder: ApiBuilder, view: TypeView): GraphQLFieldConfig<unknown, SchemaContext> {
  const keyDescription = (view.keyFields ?? []).map((field) => field.name).join(', ');
  return {
    type: builder.objectType(view.policy.name),
    description: `One ${view.policy.name} by ${keyDescription}; null when absent or not visible to you.`,
    args: keyArgs(builder, view),
    resolve: async (_source, args: { readonly [name: string]: unknown }, context) => {
      requiredRowFilter(view, context.caller, 'read');
      const key = keyFromArgs(view, args);
      const table = tableOf(view.policy, context.connector, builder.options.partner);
      return visibleRow(await rowsByKey(context, table, key.columns).load(key.values), view, context.caller);
    },
  };
}
