// `entente schema diff`: every difference between two composed schema versions, classified safe,
// dangerous or breaking. Two sources, one list:
// - graphql-inspector compares the model SDL (./model-sdl.ts: types, fields, enums, descriptions) and
//   classifies each structural change as GraphQL clients see it (a removed field breaks them, an added enum
//   value is dangerous, an added field is safe);
// - Entente's rules (./entente-rules.ts) judge the directives: ownership, keys, storage, sharing.
// Every change names the data owner and the partners it affects, which is what governance needs.
//
// Synchronous and pure: the governance decision built on it must give the same answer on every gateway.
// graphql-inspector's synchronous `diffSchema` is the function its async `diff` wraps (with no rules).
import { diffSchema } from '@graphql-inspector/core/diff/schema';
import { CriticalityLevel, type Change } from '@graphql-inspector/core';
import type { EnumPolicy, TypePolicy, UnifiedSchema } from '../policy.ts';
import { changeLevels, highestLevel, sortedUnique, type ChangeLevel, type SchemaChange, type SchemaDiff } from './change.ts';
import { ententeChanges, fieldReadersOf, readersOf } from './entente-rules.ts';
import { modelSchema } from './model-sdl.ts';

export function diffSchemas(old: UnifiedSchema, next: UnifiedSchema): SchemaDiff {
  const structural = diffSchema(modelSchema(old), modelSchema(next)).map((change) => fromInspector(change, old, next));
  const changes = [...structural, ...ententeChanges(old, next)].sort(byPath);
  const counts = Object.fromEntries(changeLevels.map((level) => [level, changes.filter((change) => change.level === level).length])) as Record<ChangeLevel, number>;
  // Never truncated: governance must see every change. The inputs are bounded (schemaFilesMax files of at
  // most schemaSourceBytesMax each), and so is the diff.
  return { changes, level: highestLevel(changes.map((change) => change.level)), counts };
}

function byPath(a: SchemaChange, b: SchemaChange): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  if (a.source !== b.source) return a.source === 'graphql-inspector' ? -1 : 1;
  return 0;
}

const levels: Readonly<Record<CriticalityLevel, ChangeLevel>> = {
  [CriticalityLevel.Breaking]: 'breaking',
  [CriticalityLevel.Dangerous]: 'dangerous',
  [CriticalityLevel.NonBreaking]: 'safe',
};

function fromInspector(change: Change, old: UnifiedSchema, next: UnifiedSchema): SchemaChange {
  const path = change.path ?? '';
  const { owners, affected } = involved(path, old, next);
  const message = /[.!?]$/.test(change.message) ? change.message : `${change.message}.`;
  return { level: levels[change.criticality.level], kind: 'structure', path, message, owners, affected, source: 'graphql-inspector', inspectorType: change.type };
}

/** The owners and the readers of what a 'Type.member' path names, in either version. */
function involved(path: string, old: UnifiedSchema, next: UnifiedSchema): { owners: string[]; affected: string[] } {
  const [typeName, member] = path.split('.');
  const versions = [old, next];
  const types = versions.flatMap((unified) => unified.types.filter((type) => type.name === typeName).map((type) => ({ type, unified })));
  if (types.length > 0) {
    const owners = sortedUnique(types.map(({ type }) => type.owner));
    const readers = types.flatMap(({ type, unified }) => readersOfMember(type, member, unified.partners));
    return { owners, affected: sortedUnique(readers).filter((partner) => !owners.includes(partner)) };
  }
  // An enum: whoever owns or reads a field of that enum type.
  const users = versions.flatMap((unified) => enumUsers(unified, typeName ?? ''));
  const owners = sortedUnique(users.map(({ type }) => type.owner));
  const readers = users.flatMap(({ type, field, partners }) => fieldReadersOf(type, field, partners));
  return { owners, affected: sortedUnique(readers).filter((partner) => !owners.includes(partner)) };
}

function readersOfMember(type: TypePolicy, member: string | undefined, partners: readonly string[]): string[] {
  if (member === undefined) return readersOf(type, partners);
  const field = type.fields.find((candidate) => candidate.name === member);
  // A field (or enum value) this version does not have has no readers in it.
  return field === undefined ? [] : fieldReadersOf(type, field, partners);
}

function enumUsers(unified: UnifiedSchema, name: EnumPolicy['name']) {
  return unified.types.flatMap((type) => type.fields
    .filter((field) => field.kind === 'column' && field.type.name === name)
    .map((field) => ({ type, field, partners: unified.partners })));
}
