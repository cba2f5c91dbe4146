// Whether a proposed schema version may become active: every change of the diff names, through the
// network's governance policy, the partners who must approve it; the proposal is approved when each of
// them has (the proposer by proposing). Pure and synchronous, so every gateway reaches the same decision
// from the same ledger: the integrator calls it when an activation is validated.
import type { UnifiedSchema } from '../policy.ts';
import { sortedUnique, type SchemaChange, type SchemaDiff } from './change.ts';
import { defaultGovernancePolicy, governanceClassOf, type ApprovalRule, type GovernanceClass, type GovernancePolicy } from './governance-policy.ts';
import { diffSchemas } from './schema-diff.ts';

export interface ApprovalRequest {
  readonly diff: SchemaDiff;
  /** The partners of the network (of the proposed version): who may propose, approve, and whom "all" names. */
  readonly partners: readonly string[];
  readonly proposer: string;
  /** Partners that approved so far (ledger approvals); repeats and non-partners are ignored. */
  readonly approvals: readonly string[];
  readonly policy?: GovernancePolicy;
}

/** What one change needs. */
export interface ApprovalRequirement {
  readonly change: SchemaChange;
  readonly governanceClass: GovernanceClass;
  readonly rule: ApprovalRule;
  readonly approvers: readonly string[];
  readonly missing: readonly string[];
}

export interface ApprovalDecision {
  readonly approved: boolean;
  /** Everyone whose approval the changes need, the proposer included. */
  readonly required: readonly string[];
  /** Who still has to approve; empty when approved (unless the proposal itself is refused, see reasons). */
  readonly missing: readonly string[];
  /** Why it is not approved, one sentence each; empty when approved. */
  readonly reasons: readonly string[];
  readonly requirements: readonly ApprovalRequirement[];
}

function approversFor(change: SchemaChange, rule: ApprovalRule, partners: readonly string[]): string[] {
  const named = rule === 'owner' ? change.owners
    : rule === 'affected' ? change.affected
    : rule === 'all-affected' ? [...change.owners, ...change.affected]
    : partners;
  return sortedUnique(named).filter((partner) => partners.includes(partner));
}

export function decideApproval(request: ApprovalRequest): ApprovalDecision {
  const policy = request.policy ?? defaultGovernancePolicy;
  const partners = sortedUnique(request.partners);
  const given = new Set([request.proposer, ...request.approvals].filter((partner) => partners.includes(partner)));
  const requirements = request.diff.changes.map((change): ApprovalRequirement => {
    const governanceClass = governanceClassOf(change);
    const rule = policy[governanceClass];
    const approvers = approversFor(change, rule, partners);
    return { change, governanceClass, rule, approvers, missing: approvers.filter((partner) => !given.has(partner)) };
  });
  const required = sortedUnique([request.proposer, ...requirements.flatMap((requirement) => requirement.approvers)]);
  const missing = sortedUnique(requirements.flatMap((requirement) => requirement.missing));
  const reasons: string[] = [];
  if (!partners.includes(request.proposer)) reasons.push(`${request.proposer} is not a partner of the network (${partners.join(', ')}), so it cannot propose a schema change.`);
  if (request.diff.changes.length === 0) reasons.push('The proposed schema is the same as the active one: there is nothing to approve.');
  for (const requirement of requirements) {
    if (requirement.missing.length === 0) continue;
    reasons.push(`${requirement.governanceClass} change (${requirement.change.path}): ${requirement.change.message} Needs approval from ${requirement.missing.join(', ')} (governance.${requirement.governanceClass} = "${requirement.rule}").`);
  }
  return { approved: reasons.length === 0, required, missing, reasons, requirements };
}

/** Convenience: diff the two versions, then decide. */
export function decideSchemaChange(old: UnifiedSchema, next: UnifiedSchema, proposer: string, approvals: readonly string[], policy: GovernancePolicy = defaultGovernancePolicy): ApprovalDecision {
  return decideApproval({ diff: diffSchemas(old, next), partners: next.partners, proposer, approvals, policy });
}

/** One message for a refused proposal, naming who must approve first. */
export function refusalMessage(decision: ApprovalDecision): string {
  if (decision.approved) return 'The schema change is approved.';
  const who = decision.missing.length === 0 ? '' : ` It needs approval from ${decision.missing.join(', ')}.`;
  return `The schema change is refused.${who}\n${decision.reasons.map((reason) => `  - ${reason}`).join('\n')}`;
}
