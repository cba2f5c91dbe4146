// What a partner's replica must do when a new schema version becomes active: the replica tables
// (schema/replica.ts replicaTablesFor) of the old and the new version, compared table by table.
//
//   create-table    a type this partner may now replicate                   ensureTables does it
//   add-columns     columns it may now hold                                  ensureTables does it (added nullable)
//   backfill        rows or columns shared from now on: the ledger never sent them to this partner's audience,
//                   so the owner must re-publish the current rows (or the partner pulls a snapshot from it)
//   relax-not-null  a column that may now be null but was created NOT NULL   needs ALTER … DROP NOT NULL
//   drop-columns    columns it may no longer hold (or that are gone)         needs ALTER … DROP COLUMN
//   delete-rows     rows it may no longer hold (row rules narrowed)          delete the rows outside the new filter
//   drop-table      a type it may no longer replicate                        needs DROP TABLE
//   rebuild-table   the key or a column's value type changed                 drop, create, refill (see below)
//
// A plan with only create-table, add-columns and backfill is additive: the gateway runs ensureTables while
// serving, then backfills. Anything else is a documented migration, run before the new version serves:
// a rebuild drops the table, creates it with ensureTables, and refills it by replaying this partner's own
// ledger payloads of the type (they hold every column it could read at each height) when nothing new
// became visible, or by a backfill from the owner otherwise. ReplicaStore has no drop or alter operation
// yet; schema/README.md ("Schema evolution") lists what the connector contract needs.
import type { ReplicaColumn, ReplicaTableDefinition } from '../../connectors/connector.ts';
import type { TypePolicy, UnifiedSchema } from '../policy.ts';
import { replicaTableName, replicaTablesFor } from '../replica.ts';
import { accessCovers, describeAccess, typeAccess, type Access } from './access.ts';

export type ReplicaStepKind = 'drop-table' | 'rebuild-table' | 'create-table' | 'add-columns' | 'relax-not-null' | 'drop-columns' | 'delete-rows' | 'backfill';

/** Steps that ensureTables plus a backfill complete on their own, while the gateway keeps serving. */
export const additiveReplicaSteps: readonly ReplicaStepKind[] = ['create-table', 'add-columns', 'backfill'];

export interface ReplicaStep {
  readonly kind: ReplicaStepKind;
  /** The replica table (schema/replica.ts replicaTableName). */
  readonly table: string;
  /** The columns concerned; empty for whole-table steps (and for a backfill of every row). */
  readonly columns: readonly string[];
  readonly reason: string;
}

export interface ReplicaMigrationPlan {
  readonly partner: string;
  /** The new version's replica tables: ensureTables(ensureTables) performs every create-table and add-columns. */
  readonly ensureTables: readonly ReplicaTableDefinition[];
  /** In order of execution: drops and rebuilds, then creations and additions, then removals, then backfills. */
  readonly steps: readonly ReplicaStep[];
  readonly additiveOnly: boolean;
}

const stepOrder: readonly ReplicaStepKind[] = ['drop-table', 'rebuild-table', 'create-table', 'add-columns', 'relax-not-null', 'drop-columns', 'delete-rows', 'backfill'];

export function planReplicaMigration(old: UnifiedSchema, next: UnifiedSchema, partner: string): ReplicaMigrationPlan {
  const before = tablesByName(old, partner);
  const after = tablesByName(next, partner);
  const steps: ReplicaStep[] = [];
  for (const [name, { type }] of before) {
    if (after.has(name)) continue;
    const moved = next.types.find((candidate) => candidate.name === type.name);
    const why = moved === undefined ? `type ${type.name} was removed`
      : moved.owner === partner ? `${partner} now owns ${type.name}: its data lives in ${partner}'s own table`
      : moved.owner !== type.owner ? `${type.name} moved to ${moved.owner} (replica ${replicaTableName(moved)})`
      : `${partner} may no longer replicate ${type.name}`;
    steps.push({ kind: 'drop-table', table: name, columns: [], reason: `${why}.` });
  }
  for (const [name, { definition, type }] of after) {
    const previous = before.get(name);
    if (previous === undefined) {
      steps.push({ kind: 'create-table', table: name, columns: [], reason: `${partner} may now replicate ${type.name}.` });
      steps.push({ kind: 'backfill', table: name, columns: [], reason: `the rows of ${type.name} that exist already were never sent to ${partner}.` });
      continue;
    }
    steps.push(...compareTables(previous, { definition, type }, partner));
  }
  steps.sort((a, b) => stepOrder.indexOf(a.kind) - stepOrder.indexOf(b.kind) || (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
  return {
    partner,
    ensureTables: [...after.values()].map((entry) => entry.definition),
    steps,
    additiveOnly: steps.every((step) => additiveReplicaSteps.includes(step.kind)),
  };
}

interface TableEntry {
  readonly definition: ReplicaTableDefinition;
  readonly type: TypePolicy;
}

function tablesByName(unified: UnifiedSchema, partner: string): Map<string, TableEntry> {
  const definitions = replicaTablesFor(unified, partner);
  return new Map(definitions.map((definition) => {
    const type = unified.types.find((candidate) => candidate.owner !== partner && replicaTableName(candidate) === definition.name)!;
    return [definition.name, { definition, type }];
  }));
}

function sameValueType(a: ReplicaColumn, b: ReplicaColumn): boolean {
  // Enum values are stored as text: a changed value list does not change the column.
  const shape = (column: ReplicaColumn) => JSON.stringify(column.type.kind === 'enum' ? { kind: 'enum' } : column.type);
  return shape(a) === shape(b);
}

function rowsOnly(access: Access): Access {
  return access.map((alternative) => ({ roles: null, rows: alternative.rows }));
}

function compareTables(before: TableEntry, after: TableEntry, partner: string): ReplicaStep[] {
  const table = after.definition.name;
  const name = after.type.name;
  const oldColumns = new Map(before.definition.columns.map((column) => [column.name, column]));
  const newColumns = new Map(after.definition.columns.map((column) => [column.name, column]));
  if (before.definition.primaryKey.join('\u0000') !== after.definition.primaryKey.join('\u0000')) {
    return [{ kind: 'rebuild-table', table, columns: [], reason: `the key of ${name} changes from (${before.definition.primaryKey.join(', ')}) to (${after.definition.primaryKey.join(', ')}).` }];
  }
  const retyped = [...newColumns.values()].filter((column) => oldColumns.has(column.name) && !sameValueType(oldColumns.get(column.name)!, column)).map((column) => column.name);
  if (retyped.length > 0) return [{ kind: 'rebuild-table', table, columns: retyped, reason: `the value type of ${retyped.join(', ')} changes.` }];
  const steps: ReplicaStep[] = [];
  const added = [...newColumns.keys()].filter((column) => !oldColumns.has(column));
  const removed = [...oldColumns.keys()].filter((column) => !newColumns.has(column));
  const relaxed = [...newColumns.values()].filter((column) => column.nullable && oldColumns.get(column.name)?.nullable === false).map((column) => column.name);
  if (added.length > 0) {
    steps.push({ kind: 'add-columns', table, columns: added, reason: `${partner} may now hold ${added.join(', ')} of ${name}.` });
    steps.push({ kind: 'backfill', table, columns: added, reason: `existing rows of ${name} hold no value for ${added.join(', ')} until the owner re-publishes them.` });
  }
  if (relaxed.length > 0) steps.push({ kind: 'relax-not-null', table, columns: relaxed, reason: `${relaxed.join(', ')} of ${name} may now be null; the replica column was created NOT NULL.` });
  if (removed.length > 0) steps.push({ kind: 'drop-columns', table, columns: removed, reason: `${partner} may no longer hold ${removed.join(', ')} of ${name} (or they were removed).` });
  // A gateway holds what any of its partner's users may read: roles do not narrow a replica.
  const wasRows = rowsOnly(typeAccess(before.type, partner, 'read'));
  const nowRows = rowsOnly(typeAccess(after.type, partner, 'read'));
  if (!accessCovers(nowRows, wasRows)) steps.push({ kind: 'delete-rows', table, columns: [], reason: `${partner} may now hold only ${describeAccess(nowRows)} of ${name} (was: ${describeAccess(wasRows)}).` });
  if (!accessCovers(wasRows, nowRows)) steps.push({ kind: 'backfill', table, columns: [], reason: `${partner} may now hold ${describeAccess(nowRows)} of ${name} (was: ${describeAccess(wasRows)}); those rows were never sent to it.` });
  return steps;
}
