// The schema-evolution state machine a gateway folds over the committed '$schema' transactions, in ledger
// order: proposals wait, approvals accumulate, and an activation makes the proposed version active only if
// the governance policy is satisfied at that point. Pure (hashing comes in through the Hasher) and
// deterministic, so a gateway replaying the ledger after a restart reaches the same active version
// (acceptance 3 of #11), and validity can refuse a block whose activation would be refused here.
import { EntenteError } from '../../common/errors.ts';
import type { Hasher } from '../../ledger/crypto/hasher.ts';
import { bytesEqual, toHex } from '../../ledger/encoding/hex.ts';
import { composeSchemas, SchemaCompositionError } from '../compose.ts';
import type { UnifiedSchema } from '../policy.ts';
import { sortedUnique } from './change.ts';
import { decideApproval, refusalMessage } from './governance.ts';
import type { GovernancePolicy } from './governance-policy.ts';
import { diffSchemas } from './schema-diff.ts';
import { schemaContentHash, schemaProposalHash, type SchemaFileText, type SchemaLedgerBody, type SchemaProposal } from './schema-transactions.ts';

/** Proposals waiting at once; a proposal beyond it is refused (they are cleared by every activation). */
export const pendingProposalsMax = 64;

export interface PendingProposal {
  readonly hash: Uint8Array;
  readonly proposal: SchemaProposal;
  readonly proposer: string;
  /** Sorted, unique; the proposer is not listed (its approval is implied). */
  readonly approvals: readonly string[];
}

export interface SchemaLedgerState {
  readonly version: number;
  readonly files: readonly SchemaFileText[];
  readonly unified: UnifiedSchema;
  readonly contentHash: Uint8Array;
  /** The network's partners (the genesis membership) and governance policy. */
  readonly partners: readonly string[];
  readonly policy: GovernancePolicy;
  /** By proposal hash (hex). */
  readonly pending: ReadonlyMap<string, PendingProposal>;
}

export interface InitialSchema {
  readonly version: number;
  readonly files: readonly SchemaFileText[];
  readonly partners: readonly string[];
  readonly policy: GovernancePolicy;
}

export type SchemaStep =
  | { readonly ok: true; readonly state: SchemaLedgerState; readonly activated: boolean }
  | { readonly ok: false; readonly reason: string };

function compose(files: readonly SchemaFileText[], partners: readonly string[]): UnifiedSchema {
  return composeSchemas(files.map((file) => ({ path: `${file.partner}.graphql`, partner: file.partner, source: file.source })), { partners });
}

/** The state without its composed schema: plain data a chain checkpoint holds (ledger/store/chain-checkpoint.ts). */
export type StoredSchemaLedgerState = Omit<SchemaLedgerState, 'unified'>;

export function storedSchemaLedgerState(state: SchemaLedgerState): StoredSchemaLedgerState {
  const { unified: _composed, ...stored } = state;
  return stored;
}

/** Back from storedSchemaLedgerState: the active files composed again (they composed when activated). */
export function restoreSchemaLedgerState(stored: StoredSchemaLedgerState): SchemaLedgerState {
  if (!Array.isArray(stored?.files) || !Array.isArray(stored.partners) || !(stored.pending instanceof Map) || !Number.isSafeInteger(stored.version)) {
    throw new EntenteError('LEDGER_CORRUPT', 'a stored schema state lacks its files, partners, pending proposals or version');
  }
  return { ...stored, unified: compose(stored.files, stored.partners) };
}

/** The state at genesis: the network's first schema files (they must compose). */
export function initialSchemaLedgerState(hasher: Hasher, initial: InitialSchema): SchemaLedgerState {
  return { ...initial, unified: compose(initial.files, initial.partners), contentHash: schemaContentHash(hasher, initial.files), pending: new Map() };
}

/** Applies one committed '$schema' transaction published by `publisher`; a refusal leaves the state as it was. */
export function applySchemaTransaction(hasher: Hasher, state: SchemaLedgerState, body: SchemaLedgerBody, publisher: string): SchemaStep {
  if (!state.partners.includes(publisher)) return { ok: false, reason: `${publisher} is not a partner of the network` };
  switch (body.kind) {
    case 'proposal': return propose(hasher, state, body.proposal, publisher);
    case 'approval': {
      const hex = toHex(body.approval.proposalHash);
      const pending = state.pending.get(hex);
      if (pending === undefined) return { ok: false, reason: `approval of unknown or no longer pending proposal ${hex}` };
      const approvals = sortedUnique([...pending.approvals, body.approval.approver]).filter((partner) => partner !== pending.proposer);
      return { ok: true, activated: false, state: { ...state, pending: new Map([...state.pending, [hex, { ...pending, approvals }]]) } };
    }
    case 'activation': {
      const hex = toHex(body.activation.proposalHash);
      const pending = state.pending.get(hex);
      if (pending === undefined) return { ok: false, reason: `activation of unknown or no longer pending proposal ${hex}` };
      if (body.activation.version !== state.version + 1 || pending.proposal.version !== body.activation.version) {
        return { ok: false, reason: `activation of version ${body.activation.version}, but the active version is ${state.version} and the proposal is for ${pending.proposal.version}` };
      }
      const unified = compose(pending.proposal.files, state.partners);
      const decision = decideApproval({ diff: diffSchemas(state.unified, unified), partners: state.partners, proposer: pending.proposer, approvals: pending.approvals, policy: state.policy });
      if (!decision.approved) return { ok: false, reason: refusalMessage(decision) };
      // Every other pending proposal was made against the version just replaced: they are void.
      return { ok: true, activated: true, state: { ...state, version: body.activation.version, files: pending.proposal.files, unified, contentHash: schemaContentHash(hasher, pending.proposal.files), pending: new Map() } };
    }
  }
}

function propose(hasher: Hasher, state: SchemaLedgerState, proposal: SchemaProposal, proposer: string): SchemaStep {
  if (proposal.version !== state.version + 1) return { ok: false, reason: `a proposal must name version ${state.version + 1} (the active version is ${state.version}), not ${proposal.version}` };
  if (!bytesEqual(proposal.previousHash, state.contentHash)) return { ok: false, reason: `the proposal was made against other files than the active version ${state.version} (previous hash ${toHex(proposal.previousHash)}, active ${toHex(state.contentHash)})` };
  if (state.pending.size >= pendingProposalsMax) return { ok: false, reason: `${pendingProposalsMax} proposals are already pending; activate or let them lapse first` };
  const unknown = proposal.files.filter((file) => !state.partners.includes(file.partner)).map((file) => file.partner);
  if (unknown.length > 0) return { ok: false, reason: `the proposal has schema files of ${unknown.join(', ')}, which are not partners of the network` };
  try {
    compose(proposal.files, state.partners);
  } catch (error) {
    if (error instanceof SchemaCompositionError) return { ok: false, reason: error.message };
    throw error;
  }
  const hash = schemaProposalHash(hasher, proposal);
  const hex = toHex(hash);
  if (state.pending.has(hex)) return { ok: false, reason: `proposal ${hex} is already pending` };
  return { ok: true, activated: false, state: { ...state, pending: new Map([...state.pending, [hex, { hash, proposal, proposer, approvals: [] }]]) } };
}

/** For callers that treat a refused step as a broken chain (replay of already-validated blocks). */
export function applySchemaTransactionOrThrow(hasher: Hasher, state: SchemaLedgerState, body: SchemaLedgerBody, publisher: string): SchemaLedgerState {
  const step = applySchemaTransaction(hasher, state, body, publisher);
  if (!step.ok) throw new EntenteError('LEDGER_INVALID', `a committed schema transaction by ${publisher} does not apply: ${step.reason}`);
  return step.state;
}

/** A proposal of the next version that replaces (or adds) one partner's file: e.g. an introspection draft. */
export function proposalReplacingFile(state: SchemaLedgerState, file: SchemaFileText): SchemaProposal {
  const files = [...state.files.filter((candidate) => candidate.partner !== file.partner), { partner: file.partner, source: file.source }];
  return { version: state.version + 1, previousHash: state.contentHash, files };
}
