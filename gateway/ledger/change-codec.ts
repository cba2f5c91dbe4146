// How one captured row change becomes a ledger transaction, and back. The transaction itself is seen by
// every partner, so it names only the entity type, an opaque key and the owner: the entity's key is an
// HMAC under the owner's secret (stable per entity, so the owner can point at an entity's history, but
// meaningless to everyone else — a guessable key such as order 42 cannot be confirmed by hashing).
// Each partner that may hold the row gets its own payload: the row cut to the columns it may read, or a
// delete when the row leaves (or never was in) what it may hold.
import { createHmac } from 'node:crypto';
import type { CapturedChange, ChangeOperation, ReplicaChange, Row, Value } from '../../connectors/connector.ts';
import { commitPayloads, createPayload, type Payload, type Transaction } from '../../ledger/transaction.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { columnField, partnerRowFilter, primaryKey, scalarKindOf, columnFields, type TypePolicy, type UnifiedSchema } from '../../schema/policy.ts';
import { matchesFilter, type ColumnKinds } from '../../schema/api/row-filter.ts';
import { projectForPartner, replicaTableName, replicaTablesFor } from '../../schema/replica.ts';

/** What a partner's payload says about the row. */
export type RowPayload = { readonly op: 'upsert'; readonly row: Row } | { readonly op: 'delete'; readonly key: Row };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function keyColumnsOf(type: TypePolicy): readonly string[] {
  return (primaryKey(type) ?? []).map((name) => columnField(type, name)?.column ?? name);
}

export function kindsOf(type: TypePolicy): ColumnKinds {
  return new Map(columnFields(type).map((field) => [field.column, scalarKindOf(field.type.name)]));
}

/** The partners other than the owner whose replica holds this type. */
export function audiencesOf(unified: UnifiedSchema, type: TypePolicy): readonly string[] {
  return derivedOf(unified, type).audiences;
}

interface TypeDerived {
  readonly partners: readonly string[];
  readonly audiences: readonly string[];
  readonly kinds: ColumnKinds;
}

/**
 * What every change of a type needs, derived once per schema version (the `types` array the schema
 * answers with; evolution swaps it whole) instead of once per change: finding the audiences builds every
 * partner's replica tables, which cost more than the rest of the change's ledger transaction.
 */
const derivedByVersion = new WeakMap<readonly TypePolicy[], Map<TypePolicy, TypeDerived>>();

function derivedOf(unified: UnifiedSchema, type: TypePolicy): TypeDerived {
  let byType = derivedByVersion.get(unified.types);
  if (byType === undefined) {
    byType = new Map();
    derivedByVersion.set(unified.types, byType);
  }
  const known = byType.get(type);
  if (known !== undefined && known.partners === unified.partners) return known;
  const audiences = unified.partners.filter((partner) => partner !== type.owner && replicaTablesFor(unified, partner).some((table) => table.name === replicaTableName(type)));
  const derived = { partners: unified.partners, audiences, kinds: kindsOf(type) };
  byType.set(type, derived);
  return derived;
}

/**
 * The salt of a payload: keyed by the owner's secret (as unguessable to others as a random one) but
 * derived from where the change came from, so the owner can rebuild exactly the committed payloads from
 * its capture stream after a crash that lost them (see CapturePublisher: payload recovery).
 */
export function payloadSalt(keySecret: Uint8Array, origin: string, changeIndex: number, audience: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', keySecret).update(`entente/payload-salt/v1\u0000${origin}\u0000${changeIndex}\u0000${audience}`, 'utf8').digest());
}

export function opaqueKey(secret: Uint8Array, type: TypePolicy, key: Row): string {
  const text = JSON.stringify([type.name, ...keyColumnsOf(type).map((column) => key[column] ?? null)]);
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

function operationOf(op: ChangeOperation): Transaction['operation'] {
  return op === 'insert' ? 'create' : op === 'update' ? 'update' : 'delete';
}

/**
 * One ledger transaction for one captured change of an owned type, with a payload per audience that may
 * hold the row. `keySecret` derives the opaque key.
 */
export function transactionForChange(unified: UnifiedSchema, type: TypePolicy, change: CapturedChange, origin: string, keySecret: Uint8Array, changeIndex = 0): { transaction: Transaction; payloads: Payload[] } {
  const { kinds, audiences } = derivedOf(unified, type);
  const payloads: Payload[] = [];
  for (const partner of audiences) {
    const payload = payloadFor(type, partner, change, kinds);
    if (payload !== null) payloads.push(createPayload(partner, encoder.encode(JSON.stringify(payload)), payloadSalt(keySecret, origin, changeIndex, partner)));
  }
  const transaction: Transaction = {
    operation: operationOf(change.op),
    entityType: type.name,
    key: opaqueKey(keySecret, type, change.key),
    owner: type.owner,
    origin,
    commitments: commitPayloads(nodeHasher, payloads),
  };
  return { transaction, payloads };
}

function payloadFor(type: TypePolicy, partner: string, change: CapturedChange, kinds: ColumnKinds): RowPayload | null {
  const filter = partnerRowFilter(type, partner);
  if (filter === 'none') return null;
  const visible = (row: Row | null): boolean => row !== null && (filter === 'all' || matchesFilter(row, filter, kinds));
  if (change.after !== null && visible(change.after)) return { op: 'upsert', row: projectForPartner(type, partner, change.after) };
  // Gone, or moved out of what the partner may hold: a delete, unless the row certainly never was visible.
  if (change.op === 'insert') return null;
  if (change.op === 'update' && change.before !== null && !visible(change.before) && filter !== 'all') return null;
  return { op: 'delete', key: pick(change.key, keyColumnsOf(type)) };
}

function pick(row: Row, columns: readonly string[]): Row {
  return Object.fromEntries(columns.map((column) => [column, (row[column] ?? null) as Value]));
}

export function decodeRowPayload(data: Uint8Array): RowPayload | null {
  try {
    const value = JSON.parse(decoder.decode(data)) as { op?: unknown; row?: unknown; key?: unknown };
    if (value.op === 'upsert' && typeof value.row === 'object' && value.row !== null) return { op: 'upsert', row: value.row as Row };
    if (value.op === 'delete' && typeof value.key === 'object' && value.key !== null) return { op: 'delete', key: value.key as Row };
    return null;
  } catch {
    return null;
  }
}

/** The replica change a partner applies for a payload it received. */
export function replicaChangeOf(type: TypePolicy, payload: RowPayload): ReplicaChange {
  const table = replicaTableName(type);
  if (payload.op === 'delete') return { table, op: 'delete', key: payload.key, after: null };
  return { table, op: 'update', key: pick(payload.row, keyColumnsOf(type)), after: payload.row };
}
