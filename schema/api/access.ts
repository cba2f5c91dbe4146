// Run-time access checks shared by every generated resolver: the caller in the context decides,
// whichever schema (full or per-viewer) is executing.
import type { Filter, Row } from '../../connectors/connector.ts';
import { mayPerform, mayReadField, rowFilter, type Caller, type FieldPolicy, type Operation } from '../policy.ts';
import { forbidden } from './errors.ts';
import { matchesFilter } from './row-filter.ts';
import type { TypeView } from './type-view.ts';

/** The Filter to AND into a query for `operation` (undefined: every row); throws when nothing is granted. */
export function requiredRowFilter(view: TypeView, caller: Caller, operation: Operation): Filter | undefined {
  const filter = rowFilter(view.policy, caller, operation);
  if (filter === 'none' || (operation !== 'read' && !mayPerform(view.policy, caller, operation))) {
    throw forbidden(`Partner "${caller.partner}" may not ${operation} ${view.policy.name}${caller.roles.length > 0 ? ` with roles ${caller.roles.join(', ')}` : ''}.`);
  }
  return filter === 'all' ? undefined : filter;
}

/** The row if the caller may read it, else null. */
export function visibleRow(row: Row | null, view: TypeView, caller: Caller): Row | null {
  if (row === null) return null;
  const filter = rowFilter(view.policy, caller, 'read');
  if (filter === 'none') return null;
  if (filter === 'all') return row;
  return matchesFilter(row, filter, view.kinds) ? row : null;
}

export function checkFieldReadable(view: TypeView, field: FieldPolicy, caller: Caller): void {
  if (!mayReadField(view.policy, field, caller)) throw forbidden(`Partner "${caller.partner}" may not read ${view.policy.name}.${field.name}.`);
}
