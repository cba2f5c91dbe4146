// One classified difference between two schema versions, as `entente schema diff` prints it and the
// governance policy (./governance.ts) judges it. Plain readonly data, so it can be printed as JSON.

/** safe: no client, replica or partner loses anything; dangerous: someone should look (more sharing, less
 * access, a new enum value); breaking: clients, replicas or partners stop working as before without a change
 * on their side. */
export type ChangeLevel = 'safe' | 'dangerous' | 'breaking';
export const changeLevels: readonly ChangeLevel[] = ['safe', 'dangerous', 'breaking'];

/**
 * What the change is about:
 * - structure: fields, types and enum values (from graphql-inspector on the model SDL);
 * - widening / narrowing: a type, field, operation or row set shared with more / fewer partners or roles;
 * - ownership: the type moves to another partner; key: its primary key or other keys change;
 * - storage: the table or column behind a type or field changes (replicas are rebuilt, the API is not touched);
 * - write-contract: creating a row needs a value it did not need before.
 */
export type ChangeKind = 'structure' | 'widening' | 'narrowing' | 'ownership' | 'key' | 'storage' | 'write-contract';

export interface SchemaChange {
  readonly level: ChangeLevel;
  readonly kind: ChangeKind;
  /** 'Type', 'Type.field' or 'Enum.VALUE'. */
  readonly path: string;
  readonly message: string;
  /** The partners that own the data concerned (two for an ownership change: old and new). */
  readonly owners: readonly string[];
  /** The other partners whose API, replica or access the change touches, sorted. */
  readonly affected: readonly string[];
  /** Who found it: graphql-inspector (with its change type) or Entente's own rules. */
  readonly source: 'graphql-inspector' | 'entente';
  readonly inspectorType?: string;
}

export interface SchemaDiff {
  readonly changes: readonly SchemaChange[];
  /** The highest level among the changes; 'safe' when there are none. */
  readonly level: ChangeLevel;
  readonly counts: Readonly<Record<ChangeLevel, number>>;
}

export function highestLevel(levels: readonly ChangeLevel[]): ChangeLevel {
  return levels.reduce<ChangeLevel>((highest, level) => (changeLevels.indexOf(level) > changeLevels.indexOf(highest) ? level : highest), 'safe');
}

export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
