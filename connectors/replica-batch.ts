// The changes of one ledger height, folded into per-table batches a connector applies with a few
// multi-row statements instead of one statement per change. Folding keeps the outcome of applying the
// changes one by one, in order: per key, a delete drops every image before it, later after-images are
// merged over earlier ones (an upsert sets only the columns it names), and a key deleted at any point
// of the height is deleted before the batch's upserts run. Pure: no database, no I/O.
import type { ReplicaChange, Row } from './connector.ts';

export interface ReplicaTableBatch {
  readonly table: string;
  /** Keys to delete, before any upsert of the batch: final deletes, and keys deleted and written again. */
  readonly deletes: readonly Row[];
  /** One merged after-image per key still present at the end of the height, in first-seen key order. */
  readonly upserts: readonly Row[];
}

/** Identifies a table's row by its primary key: equal keys must give equal text. */
export type ReplicaKeyText = (table: string, key: Row) => string;

interface KeyState {
  deleteKey: Row | null;
  image: Row | null;
}

export function foldReplicaChanges(changes: readonly ReplicaChange[], keyText: ReplicaKeyText): ReplicaTableBatch[] {
  const tables = new Map<string, Map<string, KeyState>>();
  for (const change of changes) {
    let keys = tables.get(change.table);
    if (keys === undefined) {
      keys = new Map();
      tables.set(change.table, keys);
    }
    const removedText = keyText(change.table, change.key);
    const after = change.op === 'delete' ? null : change.after;
    const afterText = after === null ? null : keyText(change.table, after);
    // A delete, or an update that moves its row to another key, removes the row at the old key.
    if (after === null || afterText !== removedText) {
      const state = keys.get(removedText);
      if (state === undefined) keys.set(removedText, { deleteKey: change.key, image: null });
      else {
        state.deleteKey = change.key;
        state.image = null;
      }
    }
    if (after === null || afterText === null) continue;
    const state = keys.get(afterText);
    if (state === undefined) keys.set(afterText, { deleteKey: null, image: after });
    else state.image = state.image === null ? after : { ...state.image, ...after };
  }
  return [...tables].map(([table, keys]) => {
    const deletes: Row[] = [];
    const upserts: Row[] = [];
    for (const state of keys.values()) {
      if (state.deleteKey !== null) deletes.push(state.deleteKey);
      if (state.image !== null) upserts.push(state.image);
    }
    return { table, deletes, upserts };
  });
}
