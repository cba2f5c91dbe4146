// This partner's own types as an Apollo Federation 2 subgraph, so a partner can plug Entente into the
// supergraph it already runs: `_service { sdl }`, `_entities` (batched: every reference of a request
// goes through the same per-request DataLoader, one connector call per type), `@key`, `@link`.
//
// The subgraph is the generated API restricted to the types this partner owns (relations to other
// partners' types are left out: their owners' subgraphs serve them), without subscriptions (routers
// do not federate them). Types every Entente subgraph defines alike (PageInfo, Ledger, …) are
// @shareable so two Entente gateways compose with each other too. Access control is the same as in the
// unified API: the subgraph is built per viewer and the resolvers check the caller.
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  GraphQLEnumType, GraphQLObjectType, GraphQLScalarType, Kind, parse, print as printNode, printSchema, specifiedScalarTypes,
  type ConstDirectiveNode, type DefinitionNode, type DocumentNode, type GraphQLSchema, type ObjectTypeDefinitionNode,
} from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { Row, Value } from '../connectors/connector.ts';
import { assert } from '../common/assert.ts';
import { buildExecutableSchema } from './api/build-schema.ts';
import type { SchemaContext } from './api/context.ts';
import { visibleRow } from './api/access.ts';
import { rowsByKey } from './api/loaders.ts';
import { buildTypeViews, tableOf } from './api/type-view.ts';
import type { Caller, TypePolicy, UnifiedSchema } from './policy.ts';

export const federationSpecUrl = 'https://specs.apollo.dev/federation/v2.3';

/** Value types every Entente subgraph defines identically. */
const shareableTypes = new Set(['PageInfo', 'Ledger', 'LedgerBlock', 'LedgerTransaction', 'InclusionProof']);

export interface SubgraphOptions {
  /** This gateway's partner: the subgraph serves the types it owns. */
  readonly partner: string;
  readonly viewer?: Caller | null;
}

/** The unified schema cut down to the partner's own types; relations to other partners' types removed. */
export function ownTypesOnly(unified: UnifiedSchema, partner: string): UnifiedSchema {
  const own = unified.types.filter((type) => type.owner === partner);
  const names = new Set(own.map((type) => type.name));
  const types: TypePolicy[] = own.map((type) => ({ ...type, fields: type.fields.filter((field) => field.kind === 'column' || names.has(field.target)) }));
  return { ...unified, types };
}

export interface Subgraph {
  readonly schema: GraphQLSchema;
  /** The subgraph SDL, as `_service { sdl }` serves it. */
  readonly sdl: string;
}

export function buildSubgraph(unified: UnifiedSchema, options: SubgraphOptions): Subgraph {
  const own = ownTypesOnly(unified, options.partner);
  const api = buildExecutableSchema(own, { partner: options.partner, viewer: options.viewer ?? null });
  const typeDefs = federatedTypeDefs(api, own);
  const resolvers = resolversOf(api, own, options.partner, options.viewer ?? null);
  const schema = buildSubgraphSchema([{ typeDefs, resolvers: resolvers as GraphQLResolverMap<SchemaContext> }]);
  return { schema, sdl: printSdl(typeDefs) };
}

function printSdl(document: DocumentNode): string {
  return document.loc?.source.body ?? '';
}

/** The API's SDL with @link, @key on every keyed own type, @shareable on common value types, no subscriptions. */
function federatedTypeDefs(api: GraphQLSchema, own: UnifiedSchema): DocumentNode {
  const printed = parse(printSchema(api));
  const keyed = new Map(own.types.filter((type) => type.keys.length > 0).map((type) => [type.name, type]));
  const lines: string[] = [`extend schema @link(url: "${federationSpecUrl}", import: ["@key", "@shareable"])`];
  const definitions: DefinitionNode[] = [];
  for (const definition of printed.definitions) {
    if (definition.kind === Kind.SCHEMA_DEFINITION) continue;
    if (definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.name.value === 'Subscription') continue;
    if (definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.name.value.endsWith('ChangeEvent')) continue;
    definitions.push(withFederationDirectives(definition, keyed));
  }
  const body = `${lines.join('\n')}\n\n${printSchemaDefinitions(definitions)}`;
  return parse(body);
}

function withFederationDirectives(definition: DefinitionNode, keyed: ReadonlyMap<string, TypePolicy>): DefinitionNode {
  if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION) return definition;
  const name = definition.name.value;
  const policy = keyed.get(name);
  if (policy !== undefined) {
    return { ...definition, directives: [...(definition.directives ?? []), ...policy.keys.map((key) => directiveNode(`@key(fields: ${JSON.stringify(key.join(' '))})`))] } satisfies ObjectTypeDefinitionNode;
  }
  if (shareableTypes.has(name)) return { ...definition, directives: [...(definition.directives ?? []), directiveNode('@shareable')] };
  if (name === 'Query') {
    return { ...definition, fields: definition.fields?.map((field) => (field.name.value === 'ledger' ? { ...field, directives: [...(field.directives ?? []), directiveNode('@shareable')] } : field)) };
  }
  return definition;
}

/** One directive as an AST node, parsed from its text. */
function directiveNode(text: string): ConstDirectiveNode {
  const definition = parse(`scalar Carrier ${text}`).definitions[0];
  const node = definition?.kind === Kind.SCALAR_TYPE_DEFINITION ? definition.directives?.[0] : undefined;
  assert(node !== undefined, `directive text parses: ${text}`);
  return node;
}

function printSchemaDefinitions(definitions: readonly DefinitionNode[]): string {
  // graphql's print keeps descriptions and directives; one blank line between definitions.
  return definitions.map((definition) => printNode(definition)).join('\n\n');
}

type ResolverMap = Record<string, unknown>;

/** The generated resolvers, lifted out of the built API so @apollo/subgraph can attach them to its schema. */
function resolversOf(api: GraphQLSchema, own: UnifiedSchema, partner: string, viewer: Caller | null): Record<string, ResolverMap | GraphQLScalarType> {
  const resolvers: Record<string, ResolverMap | GraphQLScalarType> = {};
  const builtIn = new Set(specifiedScalarTypes.map((scalar) => scalar.name));
  for (const type of Object.values(api.getTypeMap())) {
    if (type.name.startsWith('__') || builtIn.has(type.name)) continue;
    if (type instanceof GraphQLScalarType) resolvers[type.name] = type;
    else if (type instanceof GraphQLEnumType) resolvers[type.name] = Object.fromEntries(type.getValues().map((value) => [value.name, value.value]));
    else if (type instanceof GraphQLObjectType && type.name !== 'Subscription') {
      const fields: ResolverMap = {};
      for (const [name, field] of Object.entries(type.getFields())) if (field.resolve !== undefined) fields[name] = field.resolve;
      resolvers[type.name] = fields;
    }
  }
  const views = buildTypeViews(own, viewer);
  for (const policy of own.types) {
    const view = views.get(policy.name);
    const key = policy.keys[0];
    if (view === undefined || key === undefined) continue;
    const keyFields = key.map((name) => policy.fields.find((field) => field.name === name && field.kind === 'column'));
    const resolveReference = async (reference: Record<string, unknown>, context: SchemaContext): Promise<Row | null> => {
      const values = keyFields.map((field) => (field === undefined ? null : (reference[field.name] ?? null) as Value));
      if (values.some((value) => value === null)) return null;
      const columns = keyFields.map((field) => (field?.kind === 'column' ? field.column : ''));
      const row: Row | null = await rowsByKey(context, tableOf(policy, context.connector, partner), columns).load(values);
      return visibleRow(row, view, context.caller);
    };
    resolvers[policy.name] = { ...(resolvers[policy.name] as ResolverMap | undefined), __resolveReference: resolveReference };
  }
  return resolvers;
}
