// Entente's own rules over two versions of the directive-annotated schema: what graphql-inspector cannot
// see because it lives in @owner, @key, @table, @column, @grant and @readableBy.
//   ownership moved ............................ breaking   (every replica and writer changes hands)
//   primary key changed ......................... breaking   (replicas, references and by-key queries)
//   other keys changed .......................... dangerous
//   table or column behind a type/field moved ... dangerous  (storage: replicas are rebuilt; the API is unchanged)
//   more partners/roles/rows/operations ......... dangerous  (widening: the data owner must agree)
//   fewer ....................................... dangerous  (narrowing: the partner losing access is named)
//   a create needs a value it did not need ...... breaking   (for partners granted CREATE; dangerous if only the owner creates)
// A new type or field that is not shared is left to graphql-inspector, which calls it safe.
import { columnFields, partnerMayRead, partnerMayReadField, primaryKey, type FieldPolicy, type Operation, type ScalarFieldPolicy, type TypePolicy, type UnifiedSchema } from '../policy.ts';
import { operations } from '../policy.ts';
import { accessCovers, describeAccess, fieldAccess, typeAccess, type Access } from './access.ts';
import { sortedUnique, type SchemaChange } from './change.ts';

interface RuleContext {
  /** Every partner of either version: a partner joining the network can gain access through "*". */
  readonly partners: readonly string[];
  readonly oldPartners: readonly string[];
  readonly newPartners: readonly string[];
  readonly changes: SchemaChange[];
}

export function ententeChanges(old: UnifiedSchema, next: UnifiedSchema): SchemaChange[] {
  const context: RuleContext = { partners: sortedUnique([...old.partners, ...next.partners]), oldPartners: old.partners, newPartners: next.partners, changes: [] };
  const names = sortedUnique([...old.types.map((type) => type.name), ...next.types.map((type) => type.name)]);
  for (const name of names) {
    const before = old.types.find((type) => type.name === name);
    const after = next.types.find((type) => type.name === name);
    if (before !== undefined && after !== undefined) compareType(before, after, context);
    else if (after !== undefined) newTypeShared(after, context);
    // A removed type is graphql-inspector's TYPE_REMOVED (breaking), enriched with its readers.
  }
  return context.changes;
}

/** A partner's access in one version: none when it is not a partner of that version ("*" names members only). */
function accessIn(type: TypePolicy, partner: string, operation: Operation, members: readonly string[]): Access {
  return members.includes(partner) ? typeAccess(type, partner, operation) : [];
}

/** Partners other than the owner that may read `type` (any of their users). */
export function readersOf(type: TypePolicy, partners: readonly string[]): string[] {
  return partners.filter((partner) => partner !== type.owner && partnerMayRead(type, partner));
}

export function fieldReadersOf(type: TypePolicy, field: FieldPolicy, partners: readonly string[]): string[] {
  return partners.filter((partner) => partner !== type.owner && partnerMayReadField(type, field, partner));
}

function add(context: RuleContext, change: Omit<SchemaChange, 'source' | 'affected'> & { readonly affected: Iterable<string> }): void {
  context.changes.push({ ...change, affected: sortedUnique(change.affected), source: 'entente' });
}

function compareType(before: TypePolicy, after: TypePolicy, context: RuleContext): void {
  const readers = sortedUnique([...readersOf(before, context.oldPartners), ...readersOf(after, context.newPartners)]);
  if (before.owner !== after.owner) {
    add(context, {
      level: 'breaking', kind: 'ownership', path: after.name, owners: [before.owner, after.owner],
      affected: readers.filter((partner) => partner !== before.owner && partner !== after.owner),
      message: `Type ${after.name} moves from ${before.owner} to ${after.owner}: its data is published by another gateway, every replica and writer changes.`,
    });
    return; // Access is relative to the owner; with a new owner every other comparison would mislead.
  }
  compareKeys(before, after, readers, context);
  compareStorage(before, after, context);
  compareTypeAccess(before, after, context);
  compareFieldAccess(before, after, context);
  compareWriteContract(before, after, context);
}

function keyText(key: readonly string[] | null): string {
  return key === null ? 'none' : `"${key.join(' ')}"`;
}

function compareKeys(before: TypePolicy, after: TypePolicy, readers: readonly string[], context: RuleContext): void {
  const oldPrimary = primaryKey(before);
  const newPrimary = primaryKey(after);
  if (keyText(oldPrimary) !== keyText(newPrimary)) {
    add(context, {
      level: 'breaking', kind: 'key', path: after.name, owners: [after.owner], affected: readers,
      message: `Primary key of ${after.name} changes from ${keyText(oldPrimary)} to ${keyText(newPrimary)}: replicas are rebuilt, by-key queries and references change.`,
    });
  }
  const others = (type: TypePolicy) => type.keys.slice(1).map((key) => key.join(' ')).sort().join(', ');
  if (others(before) !== others(after)) {
    add(context, {
      level: 'dangerous', kind: 'key', path: after.name, owners: [after.owner], affected: readers,
      message: `Other keys of ${after.name} change from [${others(before)}] to [${others(after)}]: federation references by those keys change.`,
    });
  }
}

function compareStorage(before: TypePolicy, after: TypePolicy, context: RuleContext): void {
  const holders = sortedUnique([...readersOf(before, context.oldPartners), ...readersOf(after, context.newPartners)]);
  if (before.table.schema !== after.table.schema || before.table.name !== after.table.name) {
    add(context, {
      level: 'dangerous', kind: 'storage', path: after.name, owners: [after.owner], affected: holders,
      message: `Type ${after.name} moves from table ${before.table.schema}.${before.table.name} to ${after.table.schema}.${after.table.name}: replica tables are renamed (rebuilt); the API is unchanged.`,
    });
  }
  for (const field of columnFields(after)) {
    const previous = columnFields(before).find((candidate) => candidate.name === field.name);
    if (previous === undefined || previous.column === field.column) continue;
    add(context, {
      level: 'dangerous', kind: 'storage', path: `${after.name}.${field.name}`, owners: [after.owner],
      affected: sortedUnique([...fieldReadersOf(before, previous, context.oldPartners), ...fieldReadersOf(after, field, context.newPartners)]),
      message: `Field ${after.name}.${field.name} moves from column ${previous.column} to ${field.column}: replica columns are rebuilt; the API is unchanged.`,
    });
  }
}

function compareTypeAccess(before: TypePolicy, after: TypePolicy, context: RuleContext): void {
  for (const partner of context.partners.filter((candidate) => candidate !== after.owner)) {
    for (const operation of operations) {
      const was = accessIn(before, partner, operation, context.oldPartners);
      const now = accessIn(after, partner, operation, context.newPartners);
      const what = operation === 'read' ? 'read' : operation;
      if (!accessCovers(was, now)) {
        const fields = operation === 'read' && was.length === 0 ? ` (fields ${sharedFields(after, partner).join(', ')})` : '';
        add(context, {
          level: 'dangerous', kind: 'widening', path: after.name, owners: [after.owner], affected: [partner],
          message: `${partner} may now ${what} ${describeAccess(now)} of ${after.name}${fields} (was: ${describeAccess(was)}): more data shared, the owner ${after.owner} must agree.`,
        });
      }
      if (!accessCovers(now, was)) {
        add(context, {
          level: 'dangerous', kind: 'narrowing', path: after.name, owners: [after.owner], affected: [partner],
          message: `${partner} may no longer ${what} ${describeAccess(was)} of ${after.name} (now: ${describeAccess(now)}): ${partner} loses access${operation === 'read' ? ' and replica data' : ''}.`,
        });
      }
    }
  }
}

function sharedFields(type: TypePolicy, partner: string): string[] {
  return type.fields.filter((field) => partnerMayReadField(type, field, partner)).map((field) => field.name);
}

/** Field @readableBy changes, for partners that may read the type in both versions (otherwise the type-level
 * change already says it), and new fields shared with such partners. */
function compareFieldAccess(before: TypePolicy, after: TypePolicy, context: RuleContext): void {
  const partners = context.partners.filter((partner) => partner !== after.owner && accessIn(before, partner, 'read', context.oldPartners).length > 0 && accessIn(after, partner, 'read', context.newPartners).length > 0);
  for (const field of after.fields) {
    const previous = before.fields.find((candidate) => candidate.name === field.name);
    const path = `${after.name}.${field.name}`;
    if (previous === undefined) {
      const sharedWith = partners.filter((partner) => partnerMayReadField(after, field, partner));
      if (sharedWith.length === 0) continue;
      add(context, {
        level: 'dangerous', kind: 'widening', path, owners: [after.owner], affected: sharedWith,
        message: `New field ${path} is shared with ${sharedWith.join(', ')}${field.readableBy.length === 0 ? ' (no @readableBy: every reader of the type sees it)' : ''}: the owner ${after.owner} must agree.`,
      });
      continue;
    }
    for (const partner of partners) {
      const was = fieldAccess(previous, partner);
      const now = fieldAccess(field, partner);
      if (!accessCovers(was, now)) {
        add(context, { level: 'dangerous', kind: 'widening', path, owners: [after.owner], affected: [partner], message: `${partner} may now read field ${path} (${describeRoles(now)}; was: ${describeRoles(was)}): the owner ${after.owner} must agree.` });
      }
      if (!accessCovers(now, was)) {
        add(context, { level: 'dangerous', kind: 'narrowing', path, owners: [after.owner], affected: [partner], message: `${partner} may no longer read field ${path} (${describeRoles(now)}; was: ${describeRoles(was)}): ${partner} loses it from its API and replica.` });
      }
    }
  }
}

function describeRoles(access: ReturnType<typeof fieldAccess>): string {
  if (access.length === 0) return 'nobody';
  return access.map((alternative) => (alternative.roles === null ? 'every user' : `roles ${[...alternative.roles].join(', ')}`)).join(' or ');
}

function requiredForCreate(field: ScalarFieldPolicy): boolean {
  return !field.type.nullable && !field.generated && !field.hasDefault;
}

function compareWriteContract(before: TypePolicy, after: TypePolicy, context: RuleContext): void {
  const creators = context.newPartners.filter((partner) => partner !== after.owner && typeAccess(after, partner, 'create').length > 0);
  for (const field of columnFields(after)) {
    const previous = columnFields(before).find((candidate) => candidate.name === field.name);
    if (!requiredForCreate(field) || (previous !== undefined && requiredForCreate(previous))) continue;
    const path = `${after.name}.${field.name}`;
    const why = previous === undefined ? 'a new non-null field without a default' : 'it becomes non-null without a default';
    add(context, creators.length > 0
      ? { level: 'breaking', kind: 'write-contract', path, owners: [after.owner], affected: creators, message: `Creating a ${after.name} now requires ${field.name} (${why}): create mutations of ${creators.join(', ')} that do not send it fail.` }
      : { level: 'dangerous', kind: 'write-contract', path, owners: [after.owner], affected: [], message: `Creating a ${after.name} now requires ${field.name} (${why}): the owner's own apps must send it.` });
  }
}

function newTypeShared(type: TypePolicy, context: RuleContext): void {
  for (const partner of context.newPartners.filter((candidate) => candidate !== type.owner)) {
    const granted = operations.filter((operation) => typeAccess(type, partner, operation).length > 0);
    if (granted.length === 0) continue;
    add(context, {
      level: 'dangerous', kind: 'widening', path: type.name, owners: [type.owner], affected: [partner],
      message: `New type ${type.name} is shared with ${partner} (${granted.join(', ')}: ${describeAccess(typeAccess(type, partner, granted[0]!))}; fields ${sharedFields(type, partner).join(', ')}): the owner ${type.owner} must agree.`,
    });
  }
}
