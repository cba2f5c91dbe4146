// The schema state machine folded over blocks: what validity's injected judge runs (ledger/validity.ts
// `SchemaJudge`), what `entente verify` replays offline, and what every gateway folds in replica order.
// One function for all three, so they cannot disagree. The rule for validity (FORMAT.md, governance): an
// activation the state machine refuses makes the block invalid; a refused proposal or approval (a stale
// proposal, a late approval racing the activation) is a no-op, so honest races never stall the chain, and
// so is an activation that does not raise the version in validity's terms (not of version + 1, or after
// another activation in the same block).
import type { Hasher } from '../../ledger/crypto/hasher.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import type { SchemaJudge, SchemaVerdict } from '../../ledger/validity.ts';
import type { Block } from '../../ledger/block.ts';
import type { Payload, Transaction } from '../../ledger/transaction.ts';
import { isEntenteError } from '../../common/errors.ts';
import { governancePolicyFromJson } from './governance-policy.ts';
import { applySchemaTransaction, initialSchemaLedgerState, restoreSchemaLedgerState, storedSchemaLedgerState, type SchemaLedgerState, type StoredSchemaLedgerState } from './schema-ledger-state.ts';
import { parseSchemaTransactionKey, readSchemaLedgerTransaction, type SchemaFileText, type SchemaLedgerBody } from './schema-transactions.ts';

/** What one schema transaction did to the state. */
export type SchemaTxOutcome =
  | { readonly kind: 'applied'; readonly txIndex: number; readonly body: SchemaLedgerBody; readonly activated: boolean }
  | { readonly kind: 'ignored'; readonly txIndex: number; readonly reason: string }
  | { readonly kind: 'refused-activation'; readonly txIndex: number; readonly reason: string };

export interface SchemaBlockFold {
  readonly state: SchemaLedgerState;
  readonly outcomes: readonly SchemaTxOutcome[];
}

/**
 * The schema state at the genesis: its version, the first files (the genesis's own `schema`, else
 * `configuredFiles`), the members as partners and the genesis `governance` policy.
 */
export function genesisSchemaState(hasher: Hasher, genesis: Genesis, configuredFiles?: readonly SchemaFileText[]): SchemaLedgerState | null {
  const files = genesis.schema ?? configuredFiles;
  if (files === undefined) return null;
  return initialSchemaLedgerState(hasher, {
    version: genesis.schemaVersion,
    files,
    partners: [...new Set(genesis.membership.nodes.map((node) => node.partner))].sort(),
    policy: governancePolicyFromJson(genesis.governance, 'the genesis'),
  });
}

/**
 * Applies the '$schema' transactions at `indices` (ledger order) to `state`. `payloadsOf` gives the public
 * payloads held for a transaction. Stops at a refused activation (the block is invalid), returning it last.
 */
export function foldSchemaTransactions(hasher: Hasher, state: SchemaLedgerState, transactions: readonly Transaction[], indices: readonly number[], payloadsOf: (txIndex: number) => readonly Payload[]): SchemaBlockFold {
  const outcomes: SchemaTxOutcome[] = [];
  let current = state;
  let activated = false;
  for (const txIndex of indices) {
    const tx = transactions[txIndex]!;
    const key = parseSchemaTransactionKey(tx.key);
    if (key?.kind === 'activation' && (activated || key.version !== state.version + 1)) {
      outcomes.push({ kind: 'ignored', txIndex, reason: `activation of version ${key.version} does not raise the active version ${current.version} (stale, early or repeated): a no-op` });
      continue;
    }
    if (key?.kind === 'activation') activated = true;
    let body: SchemaLedgerBody;
    try {
      body = readSchemaLedgerTransaction(tx, payloadsOf(txIndex));
    } catch (error) {
      if (!isEntenteError(error)) throw error;
      // An activation that cannot be read cannot be judged: refused like one the policy refuses.
      const refused = tx.key.startsWith('activation/');
      outcomes.push({ kind: refused ? 'refused-activation' : 'ignored', txIndex, reason: error.message });
      if (refused) return { state: current, outcomes };
      continue;
    }
    const step = applySchemaTransaction(hasher, current, body, tx.owner);
    if (!step.ok) {
      outcomes.push({ kind: body.kind === 'activation' ? 'refused-activation' : 'ignored', txIndex, reason: step.reason });
      if (body.kind === 'activation') return { state: current, outcomes };
      continue;
    }
    current = step.state;
    outcomes.push({ kind: 'applied', txIndex, body, activated: step.activated });
  }
  return { state: current, outcomes };
}

/** Indices of a block's '$schema' transactions. */
export function schemaTransactionIndices(block: Pick<Block, 'transactions'>): number[] {
  const indices: number[] = [];
  block.transactions.forEach((tx, index) => {
    if (tx.operation === 'schema-change') indices.push(index);
  });
  return indices;
}

/** The judge validity takes (ledger/validity.ts): the fold above from the genesis schema, over stored blocks' payloads. */
export function createSchemaJudge(hasher: Hasher, initial: SchemaLedgerState): SchemaJudge {
  return {
    judge(previous: unknown, block: Block, indices: readonly number[]): SchemaVerdict {
      const state = previous === undefined ? initial : (previous as SchemaLedgerState);
      const fold = foldSchemaTransactions(hasher, state, block.transactions, indices, (txIndex) => block.payloads.filter((payload) => payload.txIndex === txIndex));
      const last = fold.outcomes.at(-1);
      if (last?.kind === 'refused-activation') return { ok: false, message: `schema activation refused: ${last.reason}`, txIndex: last.txIndex };
      return { ok: true, state: fold.state };
    },
    exportState: (state) => storedSchemaLedgerState(state as SchemaLedgerState),
    importState: (value) => restoreSchemaLedgerState(value as StoredSchemaLedgerState),
  };
}
