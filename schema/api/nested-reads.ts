// Nested reads (issue #12): a list query whose nodes follow relations is answered with one connector
// call when the connector can (`capabilities.nestedReads`): the resolver of the root list looks ahead
// into its selection (`nodes`, `edges { node }`, through fragments, honouring @skip/@include), plans
// the relation fields found there level by level, and asks `connector.listNested` for the page with
// all of them. The rows it gets back are remembered with their pre-fetched relations; the relation
// resolvers (build-schema.ts) still run for every field, apply the same field and row checks, and
// serve the pre-fetched rows only when the group they would load is identical (`GroupSpec.id`).
// Whatever is not planned (limits, a relation the caller may not follow, arguments that fail) is left
// to those resolvers, which read it level by level through the DataLoaders as before.
// Each level fetches only the columns its resolvers read (`RelationQuery.select`): the selected fields'
// columns, the join columns of every relation field selected, the keys, the columns of every row rule
// (a single relation's row is checked in memory by visibleRow) and the order. A selection it cannot
// map to columns for certain asks for every column.
import {
  getArgumentValues, getDirectiveValues, GraphQLIncludeDirective, GraphQLSkipDirective, Kind,
  type FieldNode, type GraphQLResolveInfo, type SelectionNode, type SelectionSetNode,
} from 'graphql';
import type { NestedRow, RelationQuery, RelationSelect, Row } from '../../connectors/connector.ts';
import { columnField } from '../policy.ts';
import { assert } from '../../common/assert.ts';
import type { ApiBuilder } from './build-schema.ts';
import { groupSpec, groupSpecOnce, relationRead, singleSpecId, type GroupSpec, type NestedListArgs } from './relation-reads.ts';
import { tableOf, type TypeView } from './type-view.ts';
import type { SchemaContext } from './context.ts';

/** Relations planned into one statement, how deep, and how many rows it may return at most (page sizes multiplied). */
export const nestedRelationsMax = 16;
export const nestedDepthMax = 4;
export const nestedRowsMax = 100_000;
/** Fragment nesting followed while collecting fields (validation already rejects cycles). */
const fragmentDepthMax = 16;

export interface NestedPlan {
  /** The response key (alias or name) of the relation field under its parent. */
  readonly key: string;
  readonly specId: string;
  readonly query: RelationQuery;
  readonly children: readonly NestedPlan[];
}

interface Budget {
  relations: number;
  rows: number;
}

type FieldsByKey = Map<string, FieldNode[]>;

/** Set when collectFields stopped at fragmentDepthMax: the fields it found are then not all of them. */
interface Collecting {
  truncated: boolean;
}

function included(node: SelectionNode, info: GraphQLResolveInfo): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.['if'] === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.['if'] !== false;
}

/** The fields of these selection sets by response key, through fragments (the object types here have no subtypes). */
function collectFields(selectionSets: readonly SelectionSetNode[], info: GraphQLResolveInfo, into: FieldsByKey = new Map(), depth = 0, collecting: Collecting = { truncated: false }): FieldsByKey {
  if (depth > fragmentDepthMax) {
    collecting.truncated = true;
    return into;
  }
  for (const selectionSet of selectionSets) {
    for (const selection of selectionSet.selections) {
      if (!included(selection, info)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        into.set(key, [...(into.get(key) ?? []), selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collectFields([selection.selectionSet], info, into, depth + 1, collecting);
      } else {
        const fragment = info.fragments[selection.name.value];
        if (fragment !== undefined) collectFields([fragment.selectionSet], info, into, depth + 1, collecting);
      }
    }
  }
  return into;
}

function subSelections(nodes: readonly FieldNode[]): SelectionSetNode[] {
  return nodes.flatMap((node) => (node.selectionSet === undefined ? [] : [node.selectionSet]));
}

/** The selection sets applied to the rows of a connection: `nodes { … }` and `edges { node { … } }`, under every alias. */
function nodeSelections(info: GraphQLResolveInfo): SelectionSetNode[] {
  const sets: SelectionSetNode[] = [];
  for (const nodes of collectFields(subSelections(info.fieldNodes), info).values()) {
    const name = nodes[0]?.name.value;
    if (name === 'nodes') sets.push(...subSelections(nodes));
    if (name !== 'edges') continue;
    for (const inner of collectFields(subSelections(nodes), info).values()) {
      if (inner[0]?.name.value === 'node') sets.push(...subSelections(inner));
    }
  }
  return sets;
}

/** The relations to fetch with a page of `view` rows, or [] when there is nothing to gain (or the connector cannot). */
export function planNestedReads(builder: ApiBuilder, view: TypeView, info: GraphQLResolveInfo, context: SchemaContext, pageSize: number): readonly NestedPlan[] {
  if (context.connector.capabilities.nestedReads !== true || context.connector.listNested === undefined) return [];
  const selections = nodeSelections(info);
  if (selections.length === 0) return [];
  return planLevel(builder, view, selections, info, context, { rows: Math.max(pageSize, 1), depth: 1 }, { relations: nestedRelationsMax, rows: nestedRowsMax });
}

function planLevel(
  builder: ApiBuilder, view: TypeView, selections: readonly SelectionSetNode[], info: GraphQLResolveInfo, context: SchemaContext,
  level: { readonly rows: number; readonly depth: number }, budget: Budget,
): NestedPlan[] {
  const plans: NestedPlan[] = [];
  const definitions = builder.objectType(view.policy.name).getFields();
  for (const [key, nodes] of collectFields(selections, info)) {
    const name = nodes[0]!.name.value;
    const field = view.fields.find((candidate) => candidate.name === name);
    const definition = definitions[name];
    if (field?.kind !== 'relation' || definition === undefined || nodes.some((node) => node.name.value !== name)) continue;
    const planned = planRelation(builder, view, field, key, nodes, info, context, level, budget);
    if (planned !== null) plans.push(planned);
  }
  return plans;
}

function planRelation(
  builder: ApiBuilder, view: TypeView, field: Extract<TypeView['fields'][number], { kind: 'relation' }>, key: string, nodes: readonly FieldNode[],
  info: GraphQLResolveInfo, context: SchemaContext, level: { readonly rows: number; readonly depth: number }, budget: Budget,
): NestedPlan | null {
  const read = relationRead(builder, view, field);
  let spec: GroupSpec | null = null;
  try {
    // The resolver throws these errors itself; a relation that would fail is simply not fetched ahead.
    if (read.restricted) read.checkReadable(context.caller);
    if (field.list) {
      const definition = builder.objectType(view.policy.name).getFields()[field.name]!;
      const node = nodes[0]!;
      // Cached per field node and request: the resolvers of this field then reuse the same spec.
      spec = groupSpecOnce(context, node, () => groupSpec(builder, read, getArgumentValues(definition, node, info.variableValues) as NestedListArgs, context.caller));
      if (!Number.isInteger(spec.first) || spec.first < 0) return null;
    }
  } catch {
    return null;
  }
  const rows = level.rows * Math.max(spec?.first ?? 1, 1);
  if (budget.relations < 1 || budget.rows < rows) return null;
  budget.relations -= 1;
  budget.rows -= rows;
  const select = selectedColumns(builder, read.target, subSelections(nodes), info, [...read.targetColumns, ...(spec?.orderBy ?? []).map((term) => term.column)]);
  const children = level.depth < nestedDepthMax ? planLevel(builder, read.target, subSelections(nodes), info, context, { rows, depth: level.depth + 1 }, budget) : [];
  const join = {
    table: tableOf(read.target.policy, context.connector, builder.options.partner),
    parentColumns: read.localColumns,
    columns: read.targetColumns,
    relations: children.map((child) => child.query),
    ...(select === undefined ? {} : { select }),
  };
  if (spec === null) return { key, specId: singleSpecId(read), query: { kind: 'one', ...join }, children };
  const query: RelationQuery = {
    kind: 'many', ...join, first: spec.first,
    ...(spec.where === undefined ? {} : { where: spec.where }),
    ...(spec.orderBy.length === 0 ? {} : { orderBy: spec.orderBy }),
  };
  return { key, specId: spec.id, query, children };
}

/**
 * The columns of `view` the resolvers of this selection read from its rows, with `extra`; undefined
 * (every column) when a selected field is not one this planner knows how to map.
 */
function selectedColumns(builder: ApiBuilder, view: TypeView, selections: readonly SelectionSetNode[], info: GraphQLResolveInfo, extra: readonly string[]): RelationSelect | undefined {
  const collecting: Collecting = { truncated: false };
  const fields = collectFields(selections, info, new Map(), 0, collecting);
  if (collecting.truncated) return undefined;
  const columns = new Set(extra);
  for (const nodes of fields.values()) {
    for (const node of nodes) {
      const name = node.name.value;
      if (name === '__typename') continue;
      const field = view.fields.find((candidate) => candidate.name === name);
      if (field === undefined) return undefined;
      if (field.kind === 'column') columns.add(field.column);
      else for (const column of relationRead(builder, view, field).localColumns) columns.add(column);
    }
  }
  // Read regardless of the selection: the keys, and the row rules visibleRow checks on a single relation's row.
  const alwaysRead = [...view.policy.keys.flat(), ...view.policy.grants.flatMap((grant) => grant.rows.map((rule) => rule.field))];
  for (const name of alwaysRead) {
    const field = columnField(view.policy, name);
    if (field === undefined) return undefined;
    columns.add(field.column);
  }
  return [...columns];
}

// ─── Pre-fetched relations, looked up by the relation resolvers ─────────────────────────────────

interface Prefetched {
  readonly specId: string;
  readonly value: readonly Row[] | Row | null;
}

/** Keyed by the row objects listNested returned: they live as long as the request that holds them. */
const prefetchedByRow = new WeakMap<Row, ReadonlyMap<string, Prefetched>>();

/** Remembers what `listNested` fetched with each row, for the resolvers of `plans`. */
export function rememberNested(rows: readonly NestedRow[], plans: readonly NestedPlan[]): void {
  if (plans.length === 0) return;
  for (const nested of rows) {
    const entries = new Map<string, Prefetched>();
    plans.forEach((plan, index) => {
      const related = nested.related[index];
      assert(related !== undefined, 'listNested answers every relation it was asked for');
      if (plan.query.kind === 'many') {
        assert(Array.isArray(related), 'a many relation answers a list');
        const list = related as readonly NestedRow[];
        rememberNested(list, plan.children);
        entries.set(plan.key, { specId: plan.specId, value: list.map((item) => item.row) });
      } else {
        const one = related as NestedRow | null;
        if (one !== null) rememberNested([one], plan.children);
        entries.set(plan.key, { specId: plan.specId, value: one?.row ?? null });
      }
    });
    prefetchedByRow.set(nested.row, entries);
  }
}

/** What was fetched ahead for this row's relation field `key`, if it is exactly the group `specId`. */
export function prefetchedRelation(row: Row, key: string | number, specId: string): { readonly value: readonly Row[] | Row | null } | undefined {
  const found = prefetchedByRow.get(row)?.get(String(key));
  return found !== undefined && found.specId === specId ? found : undefined;
}
