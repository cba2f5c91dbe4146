// What one partner may do with one type (or read of one field), as a set of alternatives, and whether one
// set grants at least what another does. Schema evolution uses it to tell widening (a type, field or row
// shared with more partners, roles or rows) from narrowing (access lost) between two schema versions.
//
// The comparison is sound but not complete: "covers" is proven alternative by alternative, so two grants
// that together cover a third (rows in ["EU"] OR in ["CH"] versus in ["EU", "CH"]) are not recognised and
// the change is reported as both widening and narrowing. That errs on the side of asking for more
// approvals, never fewer.
import { everyPartnerToken } from '../directives.ts';
import type { FieldPolicy, Operation, TypePolicy } from '../policy.ts';

/** One grant as it applies to one partner: which of its users (null: all) and which rows (field → allowed values, ANDed). */
export interface AccessAlternative {
  readonly roles: ReadonlySet<string> | null;
  readonly rows: ReadonlyMap<string, ReadonlySet<string>>;
}

/** OR of alternatives; empty: no access. */
export type Access = readonly AccessAlternative[];

function names(partners: readonly string[], partner: string): boolean {
  return partners.includes(partner) || partners.includes(everyPartnerToken);
}

/** The access `partner` (not the owner) holds for `operation` on `type`, from its @grant directives. */
export function typeAccess(type: TypePolicy, partner: string, operation: Operation): Access {
  if (operation !== 'read' && !type.writable) return [];
  return type.grants
    .filter((grant) => names(grant.partners, partner) && grant.operations.includes(operation))
    .map((grant) => {
      const rows = new Map<string, Set<string>>();
      for (const rule of grant.rows) {
        const previous = rows.get(rule.field);
        // Two rules on one field must both hold: the allowed values are the intersection.
        rows.set(rule.field, previous === undefined ? new Set(rule.values) : new Set(rule.values.filter((value) => previous.has(value))));
      }
      return { roles: grant.roles === null ? null : new Set(grant.roles), rows };
    });
}

/** The users of `partner` allowed to read `field` by its @readableBy, given they may read the type: [all] when unrestricted. */
export function fieldAccess(field: FieldPolicy, partner: string): Access {
  if (field.readableBy.length === 0) return [{ roles: null, rows: new Map() }];
  return field.readableBy.filter((grant) => names(grant.partners, partner)).map((grant) => ({ roles: grant.roles === null ? null : new Set(grant.roles), rows: new Map() }));
}

function alternativeCovers(wide: AccessAlternative, narrow: AccessAlternative): boolean {
  const rolesCovered = wide.roles === null || (narrow.roles !== null && [...narrow.roles].every((role) => wide.roles!.has(role)));
  if (!rolesCovered) return false;
  for (const [field, allowed] of wide.rows) {
    const narrowAllowed = narrow.rows.get(field);
    if (narrowAllowed === undefined || ![...narrowAllowed].every((value) => allowed.has(value))) return false;
  }
  return true;
}

/** Whether `wide` grants at least everything `narrow` grants (proven per alternative; see the file comment). */
export function accessCovers(wide: Access, narrow: Access): boolean {
  return narrow.every((alternative) => wide.some((candidate) => alternativeCovers(candidate, alternative)));
}

function describeAlternative(alternative: AccessAlternative): string {
  const rows = [...alternative.rows].map(([field, values]) => (values.size === 1 ? `${field} = ${[...values][0]!}` : `${field} in [${[...values].join(', ')}]`));
  const who = alternative.roles === null ? '' : `roles ${[...alternative.roles].join(', ')}: `;
  return `${who}${rows.length === 0 ? 'all rows' : `rows where ${rows.join(' and ')}`}`;
}

/** "nothing", "all rows", "rows where supplierId = $partner", "roles auditor: all rows or …". */
export function describeAccess(access: Access): string {
  return access.length === 0 ? 'nothing' : access.map(describeAlternative).join(' or ');
}
