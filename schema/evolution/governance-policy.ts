// The network's governance policy for schema changes: which partners must approve which class of
// change. It belongs in the network configuration every partner agrees on (the genesis file, key
// "governance"); a missing key or field takes the documented default below, so a network that never
// wrote a policy still has one.
//
//   "governance": { "additive": "owner", "dangerous": "owner", "widening": "owner", "narrowing": "owner", "breaking": "all-affected" }
//
// Who each rule names, for one change:
//   owner          the partner(s) owning the data concerned (both, for an ownership move)
//   affected       the other partners the change touches (who gains or loses access, whose API or replica changes)
//   all-affected   owner + affected
//   all            every partner of the network (the new version's partner list)
// The proposer's own approval is implied by proposing.
import { EntenteError } from '../../common/errors.ts';
import type { SchemaChange } from './change.ts';

export type ApprovalRule = 'owner' | 'affected' | 'all-affected' | 'all';
export const approvalRules: readonly ApprovalRule[] = ['owner', 'affected', 'all-affected', 'all'];

/** The class of a change for governance; see `governanceClassOf`. */
export type GovernanceClass = 'additive' | 'dangerous' | 'widening' | 'narrowing' | 'breaking';
export const governanceClasses: readonly GovernanceClass[] = ['additive', 'dangerous', 'widening', 'narrowing', 'breaking'];

export type GovernancePolicy = Readonly<Record<GovernanceClass, ApprovalRule>>;

/**
 * Defaults: the data owner decides everything that does not break anyone — adding, sharing more, and also
 * sharing less (an owner may always stop sharing its own data; the partner losing access is named in the
 * diff). A breaking change needs the owner and every partner it affects.
 */
export const defaultGovernancePolicy: GovernancePolicy = {
  additive: 'owner',
  dangerous: 'owner',
  widening: 'owner',
  narrowing: 'owner',
  breaking: 'all-affected',
};

/** Breaking wins over everything; then widening and narrowing (dangerous by level); then the level. */
export function governanceClassOf(change: SchemaChange): GovernanceClass {
  if (change.level === 'breaking') return 'breaking';
  if (change.kind === 'widening') return 'widening';
  if (change.kind === 'narrowing') return 'narrowing';
  return change.level === 'dangerous' ? 'dangerous' : 'additive';
}

/**
 * Reads the policy from the network configuration's "governance" value (undefined: every default).
 * Unknown keys and unknown rules are errors: a typo must not silently fall back to a weaker default.
 */
export function governancePolicyFromJson(value: unknown, source: string): GovernancePolicy {
  if (value === undefined) return defaultGovernancePolicy;
  const fail = (why: string): never => {
    throw new EntenteError('CONFIG_INVALID', `${source}: "governance" ${why}. Write it as { "breaking": "all-affected", … } with keys ${governanceClasses.join(', ')} and rules ${approvalRules.join(', ')}; missing keys take the defaults (schema/README.md, "Schema evolution").`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('must be an object');
  const entries = Object.entries(value as Record<string, unknown>);
  const policy: Record<GovernanceClass, ApprovalRule> = { ...defaultGovernancePolicy };
  for (const [key, rule] of entries) {
    if (!governanceClasses.includes(key as GovernanceClass)) fail(`has unknown key "${key}"`);
    if (!approvalRules.includes(rule as ApprovalRule)) fail(`.${key} is ${JSON.stringify(rule)}, not one of the rules`);
    policy[key as GovernanceClass] = rule as ApprovalRule;
  }
  return policy;
}

/** Canonical JSON (keys in class order) for hashing into the network configuration. */
export function governancePolicyToJson(policy: GovernancePolicy): Record<GovernanceClass, ApprovalRule> {
  return Object.fromEntries(governanceClasses.map((key) => [key, policy[key]])) as Record<GovernanceClass, ApprovalRule>;
}
