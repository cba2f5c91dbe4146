// What following one relation field reads, computed the same way by its resolver and by the nested-read
// planner (nested-reads.ts): the target's view, the columns the relation joins on, the field-level check,
// and for list relations the group (where with the row rules ANDed in, order, per-parent page size).
// The planner fetches ahead exactly what the resolver would load, and the resolver serves a pre-fetched
// result only when its own group comes out identical (`GroupSpec.id`).
import type { FieldNode } from 'graphql';
import type { Filter, OrderTerm, Row, Value } from '../../connectors/connector.ts';
import { assert } from '../../common/assert.ts';
import type { Caller, RelationFieldPolicy } from '../policy.ts';
import { checkFieldReadable, requiredRowFilter } from './access.ts';
import type { ApiBuilder } from './build-schema.ts';
import { orderByToTerms, whereToFilter } from './inputs.ts';
import { andFilters } from './row-filter.ts';
import type { TypeView } from './type-view.ts';

export interface RelationRead {
  readonly field: RelationFieldPolicy;
  readonly target: TypeView;
  /** Columns of the parent's row … */
  readonly localColumns: readonly string[];
  /** … equal to these columns of the target. */
  readonly targetColumns: readonly string[];
  /** Throws when the caller may not follow the relation (the field, or a field it joins on, is restricted). */
  checkReadable(caller: Caller): void;
  readonly restricted: boolean;
}

export interface NestedListArgs {
  readonly where?: { readonly [name: string]: unknown } | null;
  readonly orderBy?: readonly { readonly field: string; readonly direction: 'asc' | 'desc' }[] | null;
  readonly first?: number | null;
}

export interface GroupSpec {
  readonly where: Filter | undefined;
  readonly orderBy: readonly OrderTerm[];
  readonly first: number;
  /** Identifies the group: equal ids read equal rows for equal parents. */
  readonly id: string;
}

function columnsOf(view: TypeView, fieldNames: readonly string[]): string[] {
  return fieldNames.map((name) => {
    const field = view.policy.fields.find((candidate) => candidate.name === name);
    assert(field?.kind === 'column', `relation names column field ${view.policy.name}.${name}`);
    return field.column;
  });
}

export function relationRead(builder: ApiBuilder, view: TypeView, field: RelationFieldPolicy): RelationRead {
  const target = builder.views.get(field.target);
  assert(target !== undefined, 'relation fields are visible only when their target is');
  // Following a relation reveals the fields it joins on: they count as read too.
  const joined = view.policy.fields.filter((candidate) => field.fields.includes(candidate.name) && candidate.readableBy.length > 0);
  return {
    field,
    target,
    localColumns: columnsOf(view, field.fields),
    targetColumns: columnsOf(target, field.references),
    restricted: field.readableBy.length > 0 || joined.length > 0,
    checkReadable: (caller) => {
      checkFieldReadable(view, field, caller);
      for (const candidate of joined) checkFieldReadable(view, candidate, caller);
    },
  };
}

/** The parent's values of the join columns; null when one is null (the relation then matches nothing). */
export function keyValues(row: Row, columns: readonly string[]): Value[] | null {
  const values = columns.map((column) => row[column] ?? null);
  return values.some((value) => value === null) ? null : values;
}

/** The group a list relation reads for these arguments; throws as the resolver must (bad input, forbidden). */
export function groupSpec(builder: ApiBuilder, read: RelationRead, args: NestedListArgs, caller: Caller): GroupSpec {
  const first = Math.min(args.first ?? builder.options.pageSizeDefault, builder.options.pageSizeMax);
  const where = andFilters([whereToFilter(args.where, read.target, caller), requiredRowFilter(read.target, caller, 'read')]);
  const orderBy = orderByToTerms(args.orderBy, read.target, caller);
  return { where, orderBy, first, id: JSON.stringify([read.field.name, where ?? null, orderBy, first]) };
}

const groupSpecsByContext = new WeakMap<object, WeakMap<FieldNode, GroupSpec>>();

/**
 * groupSpec, once per field of the document and request: every parent's resolver of one field sees the
 * same arguments (the same AST node, the same variables) and the same caller, so they share one spec.
 */
export function groupSpecOnce(context: object, node: FieldNode, compute: () => GroupSpec): GroupSpec {
  let specs = groupSpecsByContext.get(context);
  if (specs === undefined) {
    specs = new WeakMap();
    groupSpecsByContext.set(context, specs);
  }
  const known = specs.get(node);
  if (known !== undefined) return known;
  const computed = compute();
  specs.set(node, computed);
  return computed;
}

/** The id of a single relation's read: it has no arguments. */
export function singleSpecId(read: RelationRead): string {
  return JSON.stringify([read.field.name]);
}
