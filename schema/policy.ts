// The policy model: what the directives of the unified schema say, as plain readonly data. The
// gateway enforces it (validation phase, replicas, ledger payloads) and the generated resolvers apply
// it (row rules become connector Filters ANDed into every query). Decisions are pure functions of
// (policy, caller) so they can be tested alone and give the same answer on every gateway.
import type { Filter, ScalarKind, TableRef, Value } from '../connectors/connector.ts';
import { callerPartnerToken, everyPartnerToken } from './directives.ts';

export type Operation = 'read' | 'create' | 'update' | 'delete';
export const operations: readonly Operation[] = ['read', 'create', 'update', 'delete'];

/** Who is calling: the partner (authenticated by the gateway) and the roles its token carries. */
export interface Caller {
  readonly partner: string;
  readonly roles: readonly string[];
}

/** Where a definition came from, for error messages. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** A field's GraphQL type: a scalar (built-in or custom) or enum, optionally a list; or a relation. */
export interface FieldTypeRef {
  /** Named type: 'Int', 'BigInt', 'Decimal', an enum name, or (for relations) an object type name. */
  readonly name: string;
  readonly nullable: boolean;
  readonly list: boolean;
  /** For lists: whether the items may be null. */
  readonly itemsNullable: boolean;
}

export interface RowRule {
  /** Field (GraphQL name) of the type. */
  readonly field: string;
  /** Allowed values; '$partner' stands for the caller's partner name. */
  readonly values: readonly string[];
}

export interface Grant {
  /** Partner names; '*' for every partner. */
  readonly partners: readonly string[];
  readonly operations: readonly Operation[];
  /** null: every user of the partners. */
  readonly roles: readonly string[] | null;
  /** ANDed; empty: every row. */
  readonly rows: readonly RowRule[];
  readonly location: SourceLocation;
}

export interface FieldReadGrant {
  readonly partners: readonly string[];
  readonly roles: readonly string[] | null;
  readonly location: SourceLocation;
}

export interface ScalarFieldPolicy {
  readonly kind: 'column';
  readonly name: string;
  readonly column: string;
  readonly type: FieldTypeRef;
  /** The database's own type name when introspection recorded it. */
  readonly nativeType: string | null;
  readonly generated: boolean;
  readonly hasDefault: boolean;
  readonly description: string | null;
  /** Empty: readable by every caller who may read the type. */
  readonly readableBy: readonly FieldReadGrant[];
  readonly location: SourceLocation;
}

export interface RelationFieldPolicy {
  readonly kind: 'relation';
  readonly name: string;
  readonly target: string;
  readonly list: boolean;
  readonly nullable: boolean;
  /** Fields of this type … */
  readonly fields: readonly string[];
  /** … equal to these fields of the target type. */
  readonly references: readonly string[];
  readonly description: string | null;
  readonly readableBy: readonly FieldReadGrant[];
  readonly location: SourceLocation;
}

export type FieldPolicy = ScalarFieldPolicy | RelationFieldPolicy;

export interface TypePolicy {
  readonly name: string;
  readonly owner: string;
  readonly table: TableRef;
  readonly writable: boolean;
  /** Each key is a list of field names; the first is the primary key. Empty: no key (read-only lists). */
  readonly keys: readonly (readonly string[])[];
  /** In declaration order. */
  readonly fields: readonly FieldPolicy[];
  readonly grants: readonly Grant[];
  readonly description: string | null;
  readonly location: SourceLocation;
}

export interface EnumPolicy {
  readonly name: string;
  /** GraphQL value name → database label. */
  readonly values: readonly { readonly name: string; readonly label: string; readonly description: string | null }[];
  readonly description: string | null;
}

/** The composed, validated policy of the whole network. Types sorted by name (code-unit order). */
export interface UnifiedSchema {
  readonly partners: readonly string[];
  readonly types: readonly TypePolicy[];
  readonly enums: readonly EnumPolicy[];
  /** Custom scalars used by the types (subset of the built-in custom scalars). */
  readonly scalars: readonly string[];
}

// ─── Lookups ────────────────────────────────────────────────────────────────────────────────────

export function findType(unified: UnifiedSchema, name: string): TypePolicy | undefined {
  return unified.types.find((type) => type.name === name);
}

export function columnFields(type: TypePolicy): readonly ScalarFieldPolicy[] {
  return type.fields.filter((field): field is ScalarFieldPolicy => field.kind === 'column');
}

export function relationFields(type: TypePolicy): readonly RelationFieldPolicy[] {
  return type.fields.filter((field): field is RelationFieldPolicy => field.kind === 'relation');
}

export function columnField(type: TypePolicy, name: string): ScalarFieldPolicy | undefined {
  return columnFields(type).find((field) => field.name === name);
}

export function primaryKey(type: TypePolicy): readonly string[] | null {
  return type.keys[0] ?? null;
}

// ─── Decisions ──────────────────────────────────────────────────────────────────────────────────

function namesPartner(partners: readonly string[], partner: string): boolean {
  return partners.includes(partner) || partners.includes(everyPartnerToken);
}

function rolesMatch(roles: readonly string[] | null, caller: Caller): boolean {
  return roles === null || roles.some((role) => caller.roles.includes(role));
}

/** The grants that apply to the caller for one operation; the owner's implicit grant included. */
export function applicableGrants(type: TypePolicy, caller: Caller, operation: Operation): readonly Grant[] {
  const explicit = type.grants.filter((grant) => grant.partners.includes(caller.partner));
  const ownerImplicit = caller.partner === type.owner && explicit.length === 0;
  if (ownerImplicit) return [{ partners: [type.owner], operations, roles: null, rows: [], location: type.location }];
  return type.grants.filter(
    (grant) => namesPartner(grant.partners, caller.partner) && grant.operations.includes(operation) && rolesMatch(grant.roles, caller),
  );
}

export function mayPerform(type: TypePolicy, caller: Caller, operation: Operation): boolean {
  if (operation !== 'read' && !type.writable) return false;
  return applicableGrants(type, caller, operation).length > 0;
}

export function mayReadField(type: TypePolicy, field: FieldPolicy, caller: Caller): boolean {
  if (!mayPerform(type, caller, 'read')) return false;
  if (field.readableBy.length === 0) return true;
  const explicit = field.readableBy.filter((grant) => grant.partners.includes(caller.partner));
  if (caller.partner === type.owner && explicit.length === 0) return true;
  return field.readableBy.some((grant) => namesPartner(grant.partners, caller.partner) && rolesMatch(grant.roles, caller));
}

/**
 * The rows the caller may touch with `operation`, as a connector Filter on column names: 'all' when a
 * grant has no row rules, 'none' when no grant applies, otherwise the OR over grants of the AND of
 * their rules.
 */
export function rowFilter(type: TypePolicy, caller: Caller, operation: Operation): Filter | 'all' | 'none' {
  const grants = applicableGrants(type, caller, operation);
  if (grants.length === 0) return 'none';
  if (grants.some((grant) => grant.rows.length === 0)) return 'all';
  const alternatives = grants.map((grant): Filter => ({ and: grant.rows.map((rule) => ruleFilter(type, rule, caller)) }));
  return alternatives.length === 1 ? alternatives[0]! : { or: alternatives };
}

function ruleFilter(type: TypePolicy, rule: RowRule, caller: Caller): Filter {
  const field = columnField(type, rule.field);
  // Composition rejects rules on unknown fields; an unknown one here would be a bug.
  if (field === undefined) throw new Error(`row rule names unknown field ${type.name}.${rule.field}`);
  const values: Value[] = rule.values.map((value) => (value === callerPartnerToken ? caller.partner : value));
  return values.length === 1 ? { column: field.column, op: 'eq', value: values[0]! } : { column: field.column, op: 'in', values };
}

/** Which scalar kind a GraphQL scalar name stands for (enums and unknown names: 'String'). */
export function scalarKindOf(typeName: string): ScalarKind {
  const kinds: Readonly<Record<string, ScalarKind>> = {
    Boolean: 'Boolean', Int: 'Int', Float: 'Float', String: 'String', ID: 'String', BigInt: 'BigInt', Decimal: 'Decimal',
    DateTime: 'DateTime', Date: 'Date', Time: 'Time', UUID: 'UUID', JSON: 'JSON', Bytes: 'Bytes', ObjectId: 'ObjectId',
  };
  return kinds[typeName] ?? 'String';
}

// ─── What a partner's gateway may hold (replicas, ledger payloads) ─────────────────────────────────
// A gateway stores data for all of its partner's users, so these ask what the partner may read under
// any of its roles. The gateway sends a payload only if the row passes `partnerRowFilter`, projected
// to `partnerReadableColumns`; the replica tables hold exactly those columns.

function grantsNaming(type: TypePolicy, partner: string, operation: Operation): readonly Grant[] {
  return type.grants.filter((grant) => namesPartner(grant.partners, partner) && grant.operations.includes(operation));
}

export function partnerMayRead(type: TypePolicy, partner: string): boolean {
  return type.owner === partner || grantsNaming(type, partner, 'read').length > 0;
}

export function partnerMayReadField(type: TypePolicy, field: FieldPolicy, partner: string): boolean {
  if (!partnerMayRead(type, partner)) return false;
  if (field.readableBy.length === 0 || type.owner === partner) return true;
  return field.readableBy.some((grant) => namesPartner(grant.partners, partner));
}

/** Columns of the type the partner may hold. */
export function partnerReadableColumns(type: TypePolicy, partner: string): readonly ScalarFieldPolicy[] {
  return columnFields(type).filter((field) => partnerMayReadField(type, field, partner));
}

/** The rows the partner may hold, whichever of its users asks: the OR of every READ grant naming it. */
export function partnerRowFilter(type: TypePolicy, partner: string): Filter | 'all' | 'none' {
  if (type.owner === partner) return 'all';
  const grants = grantsNaming(type, partner, 'read');
  if (grants.length === 0) return 'none';
  if (grants.some((grant) => grant.rows.length === 0)) return 'all';
  const caller: Caller = { partner, roles: [] };
  const alternatives = grants.map((grant): Filter => ({ and: grant.rows.map((rule) => ruleFilter(type, rule, caller)) }));
  return alternatives.length === 1 ? alternatives[0]! : { or: alternatives };
}
