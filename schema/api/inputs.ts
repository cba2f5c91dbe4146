// Generated input types and their translation to connector terms: `where` filters, `orderBy`, and
// create/update inputs. Inputs name GraphQL fields; the connector speaks column names, so every
// translation goes through the type's policy, and only fields the viewer may read can be filtered or
// sorted on (filtering on a hidden field would reveal its values).
import {
  GraphQLBoolean, GraphQLEnumType, GraphQLError, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLString,
  type GraphQLInputFieldConfigMap, type GraphQLInputType, type GraphQLScalarType,
} from 'graphql';
import type { ComparisonOperator, Filter, OrderTerm, Row, Value } from '../../connectors/connector.ts';
import { mayReadField, type Caller, type FieldTypeRef, type ScalarFieldPolicy } from '../policy.ts';
import type { TypeView } from './type-view.ts';

export type LeafType = GraphQLScalarType | GraphQLEnumType;

/** Nesting limit for and/or/not in one `where`, so a request cannot build an unbounded filter. */
export const whereDepthMax = 8;
/** Values in one `in` list. */
export const inValuesMax = 1_000;

const comparisons: readonly ComparisonOperator[] = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'];
const orderedScalars = new Set(['Int', 'Float', 'String', 'ID', 'BigInt', 'Decimal', 'DateTime', 'Date', 'Time', 'UUID', 'ObjectId']);

export const orderDirectionType = new GraphQLEnumType({
  name: 'OrderDirection',
  values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } },
});

export class InputTypes {
  private readonly cache = new Map<string, GraphQLInputObjectType | GraphQLEnumType>();
  private readonly leaf: (name: string) => LeafType;

  constructor(leaf: (name: string) => LeafType) {
    this.leaf = leaf;
  }

  private memo<T extends GraphQLInputObjectType | GraphQLEnumType>(name: string, make: () => T): T {
    const existing = this.cache.get(name);
    if (existing !== undefined) return existing as T;
    const made = make();
    this.cache.set(name, made);
    return made;
  }

  /** `<Scalar>Filter`: the comparisons that make sense for the scalar. */
  leafFilter(type: FieldTypeRef): GraphQLInputObjectType {
    if (type.list) {
      return this.memo('ListFilter', () => new GraphQLInputObjectType({ name: 'ListFilter', description: 'Filter on a list field: only null checks.', fields: { isNull: { type: GraphQLBoolean } } }));
    }
    const leaf = this.leaf(type.name);
    const name = `${leaf.name}Filter`;
    return this.memo(name, () => {
      const fields: GraphQLInputFieldConfigMap = {};
      if (leaf.name !== 'JSON') {
        fields['eq'] = { type: leaf };
        fields['ne'] = { type: leaf };
        fields['in'] = { type: new GraphQLList(new GraphQLNonNull(leaf)) };
      }
      if (orderedScalars.has(leaf.name)) for (const op of ['lt', 'lte', 'gt', 'gte']) fields[op] = { type: leaf };
      if (leaf.name === 'String') {
        fields['like'] = { type: GraphQLString, description: "SQL LIKE pattern: % any run of characters, _ one character." };
        fields['ilike'] = { type: GraphQLString, description: 'Case-insensitive LIKE.' };
      }
      fields['isNull'] = { type: GraphQLBoolean };
      return new GraphQLInputObjectType({ name, fields });
    });
  }

  where(view: TypeView): GraphQLInputObjectType {
    const name = `${view.policy.name}Where`;
    return this.memo(name, () => {
      const self: GraphQLInputObjectType = new GraphQLInputObjectType({
        name,
        description: `Conditions on ${view.policy.name}: all given fields must match; and/or/not combine conditions.`,
        fields: () => ({
          and: { type: new GraphQLList(new GraphQLNonNull(self)) },
          or: { type: new GraphQLList(new GraphQLNonNull(self)) },
          not: { type: self },
          ...Object.fromEntries(view.columns.map((field) => [field.name, { type: this.leafFilter(field.type) }])),
        }),
      });
      return self;
    });
  }

  orderBy(view: TypeView): GraphQLInputObjectType | null {
    const sortable = view.columns.filter((field) => !field.type.list && orderedScalars.has(field.type.name) || this.isEnum(field));
    if (sortable.length === 0) return null;
    const fieldEnum = this.memo(`${view.policy.name}OrderField`, () => new GraphQLEnumType({
      name: `${view.policy.name}OrderField`,
      values: Object.fromEntries(sortable.map((field) => [field.name, { value: field.column }])),
    }));
    return this.memo(`${view.policy.name}OrderBy`, () => new GraphQLInputObjectType({
      name: `${view.policy.name}OrderBy`,
      fields: { field: { type: new GraphQLNonNull(fieldEnum) }, direction: { type: orderDirectionType, defaultValue: 'asc' } },
    }));
  }

  private isEnum(field: ScalarFieldPolicy): boolean {
    return !field.type.list && this.leaf(field.type.name) instanceof GraphQLEnumType;
  }

  inputFieldType(type: FieldTypeRef, required: boolean): GraphQLInputType {
    const leaf = this.leaf(type.name);
    const named: GraphQLInputType = type.list ? new GraphQLList(type.itemsNullable ? leaf : new GraphQLNonNull(leaf)) : leaf;
    return required ? new GraphQLNonNull(named) : named;
  }

  /** Fields a create must or may give: every visible, non-generated column. */
  createInput(view: TypeView): GraphQLInputObjectType {
    return this.memo(`${view.policy.name}CreateInput`, () => new GraphQLInputObjectType({
      name: `${view.policy.name}CreateInput`,
      fields: Object.fromEntries(view.columns.filter((field) => !field.generated).map((field) => [
        field.name, { type: this.inputFieldType(field.type, !field.type.nullable && !field.hasDefault), description: field.description ?? undefined },
      ])),
    }));
  }

  /** Every visible, non-generated, non-key column, all optional: only given fields change. */
  updateInput(view: TypeView): GraphQLInputObjectType {
    const keyNames = new Set((view.keyFields ?? []).map((field) => field.name));
    return this.memo(`${view.policy.name}UpdateInput`, () => new GraphQLInputObjectType({
      name: `${view.policy.name}UpdateInput`,
      fields: Object.fromEntries(view.columns.filter((field) => !field.generated && !keyNames.has(field.name)).map((field) => [
        field.name, { type: this.inputFieldType(field.type, false), description: field.description ?? undefined },
      ])),
    }));
  }
}

// ─── Translation ───────────────────────────────────────────────────────────────────────────────

type InputObject = { readonly [name: string]: unknown };

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

/**
 * `where` → connector Filter (undefined: no condition). Fields resolve through the view, and each must
 * be readable by the caller: filtering on a field reveals its values as surely as reading it.
 */
export function whereToFilter(where: InputObject | null | undefined, view: TypeView, caller: Caller, depth = 0): Filter | undefined {
  if (where === null || where === undefined) return undefined;
  if (depth > whereDepthMax) throw badInput(`where is nested more than ${whereDepthMax} levels deep; flatten it.`);
  const parts: Filter[] = [];
  for (const [name, value] of Object.entries(where)) {
    if (value === undefined || value === null) continue;
    if (name === 'and' || name === 'or') {
      const nested = (value as InputObject[]).map((item) => whereToFilter(item, view, caller, depth + 1) ?? { and: [] });
      parts.push(name === 'and' ? { and: nested } : { or: nested });
    } else if (name === 'not') {
      parts.push({ not: whereToFilter(value as InputObject, view, caller, depth + 1) ?? { and: [] } });
    } else {
      const field = view.columns.find((candidate) => candidate.name === name);
      if (field === undefined || !mayReadField(view.policy, field, caller)) throw badInput(`${view.policy.name} has no field "${name}" to filter on.`);
      parts.push(...leafConditions(field.column, value as InputObject));
    }
  }
  return parts.length === 1 ? parts[0] : { and: parts };
}

function leafConditions(column: string, conditions: InputObject): Filter[] {
  const parts: Filter[] = [];
  for (const [op, value] of Object.entries(conditions)) {
    if (value === undefined) continue;
    if (op === 'isNull') {
      if (value !== null) parts.push({ column, op: 'isNull', value: value as boolean });
    } else if (op === 'in') {
      if (value === null) continue;
      if ((value as Value[]).length > inValuesMax) throw badInput(`an in list holds at most ${inValuesMax} values; split the query or filter on a range.`);
      parts.push({ column, op: 'in', values: value as Value[] });
    } else if (op === 'like' || op === 'ilike' || comparisons.includes(op as ComparisonOperator)) {
      // eq: null means "is null", as most GraphQL APIs read it.
      if (value === null) parts.push({ column, op: 'isNull', value: op !== 'ne' });
      else parts.push({ column, op: op as ComparisonOperator, value: value as Value });
    }
  }
  return parts;
}

export function orderByToTerms(orderBy: readonly { readonly field: string; readonly direction: 'asc' | 'desc' }[] | null | undefined, view: TypeView, caller: Caller): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (const term of orderBy ?? []) {
    // Sorting on a field reveals its order: the caller must be able to read it.
    const field = view.columns.find((candidate) => candidate.column === term.field);
    if (field === undefined || !mayReadField(view.policy, field, caller)) throw badInput(`${view.policy.name} cannot be ordered by that field.`);
    if (terms.some((existing) => existing.column === term.field)) throw badInput('orderBy names the same field twice; name each field once.');
    terms.push({ column: term.field, direction: term.direction });
  }
  return terms;
}

/** The order the connector pages in: the requested terms, then the primary key columns ascending. */
export function effectiveOrder(terms: readonly OrderTerm[], keyColumns: readonly string[]): OrderTerm[] {
  return [...terms, ...keyColumns.filter((column) => !terms.some((term) => term.column === column)).map((column) => ({ column, direction: 'asc' as const }))];
}

/** Input object (GraphQL field names) → row (column names); only fields the caller may read can be set. */
export function inputToRow(input: InputObject, view: TypeView, caller: Caller): Row {
  const row: Record<string, Value> = {};
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const field = view.columns.find((candidate) => candidate.name === name);
    if (field === undefined || !mayReadField(view.policy, field, caller)) throw badInput(`${view.policy.name} has no field "${name}" you may set.`);
    row[field.column] = value as Value;
  }
  return row;
}
