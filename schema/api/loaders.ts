// Per-request DataLoaders: every by-key read and every nested list in one request is batched into one
// connector call per (table, columns, arguments), so a nested list costs one round trip per level,
// never one per parent. Loaders hang off the request's context object and die with it.
import DataLoader from 'dataloader';
import type { Filter, OrderTerm, Row, TableRef, Value } from '../../connectors/connector.ts';
import type { SchemaContext } from './context.ts';

type Key = readonly Value[];

const loadersByContext = new WeakMap<SchemaContext, Map<string, DataLoader<Key, unknown, string>>>();

function cacheKey(key: Key): string {
  return JSON.stringify(key);
}

function loaderFor<T>(context: SchemaContext, id: string, batch: (keys: readonly Key[]) => Promise<readonly T[]>): DataLoader<Key, T, string> {
  let loaders = loadersByContext.get(context);
  if (loaders === undefined) {
    loaders = new Map();
    loadersByContext.set(context, loaders);
  }
  const existing = loaders.get(id);
  if (existing !== undefined) return existing as DataLoader<Key, T, string>;
  const created = new DataLoader<Key, T, string>(batch, { cacheKeyFn: cacheKey, maxBatchSize: context.connector.limits.keysPerLoadMax });
  loaders.set(id, created as DataLoader<Key, unknown, string>);
  return created;
}

/** One row per key (null where absent) from `table`, matched on `columns`. */
export function rowsByKey(context: SchemaContext, table: TableRef, columns: readonly string[]): DataLoader<Key, Row | null, string> {
  const id = JSON.stringify(['byKey', table.schema, table.name, columns]);
  return loaderFor(context, id, (keys) => context.connector.loadByKeys(table, columns, keys));
}

export interface GroupedListSpec {
  readonly table: TableRef;
  readonly columns: readonly string[];
  readonly where: Filter | undefined;
  readonly orderBy: readonly OrderTerm[];
  readonly first: number;
}

/** The rows of each group (rows whose `columns` equal the key), all groups in one statement. */
export function rowsByGroup(context: SchemaContext, spec: GroupedListSpec): DataLoader<Key, readonly Row[], string> {
  const id = JSON.stringify(['grouped', spec.table.schema, spec.table.name, spec.columns, spec.where ?? null, spec.orderBy, spec.first]);
  return loaderFor(context, id, (groups) => context.connector.listGrouped({
    table: spec.table, columns: spec.columns, groups, first: spec.first,
    ...(spec.where === undefined ? {} : { where: spec.where }),
    ...(spec.orderBy.length === 0 ? {} : { orderBy: spec.orderBy }),
  }));
}

/** Forgets every cached row of this context (a long-lived subscription context, between events). */
export function clearLoaders(context: SchemaContext): void {
  loadersByContext.delete(context);
}
