// Schema evolution on one gateway (issue #11): follows the '$schema' transactions of committed blocks in
// the replica applier's order, so a new version becomes active here exactly between block h (the one
// that activates it, whose data was produced under the old version) and block h + 1. On an activation it
// migrates the replica (additive steps: ensureTables) before block h is applied, then — once block h is
// applied — swaps the active UnifiedSchema that the capture publisher, replica applier, write path and
// ledger reader read through `live`, and tells listeners (the server's SchemaHolder: open subscriptions
// stay on the schema they started with). It also publishes this partner's proposals and approvals, and
// the activation of its own proposals once the approvals committed so far satisfy the governance policy.
// The state comes from the genesis (governance, first files) and the ledger alone: a restarted gateway
// replays its stored blocks to the same version (acceptance 3).
import { EntenteError } from '../../common/errors.ts';
import type { Connector } from '../../connectors/connector.ts';
import { blockHash, type Block } from '../../ledger/block.ts';
import type { Hasher } from '../../ledger/crypto/hasher.ts';
import { bytesEqual, toHex } from '../../ledger/encoding/hex.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import type { LedgerNode } from '../../ledger/node/ledger-node.ts';
import { readCheckpointFile, writeCheckpointFile } from '../../ledger/store/chain-checkpoint.ts';
import { PUBLIC_AUDIENCE, type Payload } from '../../ledger/transaction.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { decideApproval, refusalMessage, type ApprovalDecision } from '../../schema/evolution/governance.ts';
import { planReplicaMigration } from '../../schema/evolution/replica-migration.ts';
import { foldSchemaTransactions, genesisSchemaState, schemaTransactionIndices } from '../../schema/evolution/schema-judge.ts';
import { applySchemaTransaction, pendingProposalsMax, restoreSchemaLedgerState, storedSchemaLedgerState, type PendingProposal, type SchemaLedgerState, type StoredSchemaLedgerState } from '../../schema/evolution/schema-ledger-state.ts';
import { diffSchemas } from '../../schema/evolution/schema-diff.ts';
import { schemaLedgerTransaction, schemaProposalHash, type SchemaFileText, type SchemaLedgerBody, type SchemaProposal } from '../../schema/evolution/schema-transactions.ts';
import type { UnifiedSchema } from '../../schema/policy.ts';
import type { Logger } from '../server/logger.ts';

export interface SchemaEvolutionOptions {
  readonly partner: string;
  readonly genesis: Genesis;
  readonly hasher: Hasher;
  readonly connector: Connector;
  readonly logger: Logger;
  /** The configured schema: served as is when the genesis holds no schema files and none are given below. */
  readonly unified: UnifiedSchema;
  /** The configured partner files: the first version's files when the genesis does not hold them. */
  readonly files?: readonly SchemaFileText[];
  /**
   * Where the folded state is saved (SCHEMA_STATE_FILE, the chain checkpoint's layout): at stop and every
   * SCHEMA_SAVE_BLOCKS folded blocks, so a start folds only the blocks after it. Unset: never saved.
   */
  readonly stateDirectory?: string;
}

/** The saved fold, beside the ledger's chain checkpoint. */
export const SCHEMA_STATE_FILE = 'schema-state.bin';
/** Folded blocks between two saves of the state. */
export const SCHEMA_SAVE_BLOCKS = 65_536;
/** How far a saved state may be ahead of the replica's recorded height (those blocks are read to check them). */
const SCHEMA_RESTORE_GAP_MAX = 1_024;

/** What the schema state file holds besides the state itself. */
interface SavedFold {
  readonly state: StoredSchemaLedgerState;
  readonly activatedAt: number;
  /** The content hash of the first version's files the fold started from. */
  readonly initialHash: string;
}

export interface SchemaActivated {
  readonly version: number;
  readonly height: number;
  readonly unified: UnifiedSchema;
  readonly previous: UnifiedSchema;
}

/** What a proposal or approval published from here reports back. */
export interface SchemaChangeReceipt {
  readonly proposal: string;
  readonly version: number;
  /** The height the transaction committed at. */
  readonly height: number;
  readonly approved: boolean;
  readonly required: readonly string[];
  readonly missing: readonly string[];
  readonly message: string;
}

/** A block's '$schema' fold waiting for the block's data to be applied (one block at a time). */
interface Staged {
  readonly height: number;
  readonly state: SchemaLedgerState;
  readonly activated: boolean;
}

export class SchemaEvolution {
  readonly #o: SchemaEvolutionOptions;
  /** null: the network's first schema files are unknown, so versions cannot be followed (the configured schema is served). */
  #state: SchemaLedgerState | null;
  #unified: UnifiedSchema;
  #version: number;
  #activatedAt = 0;
  /** Blocks up to here are folded into #state. */
  #foldedHeight = 0;
  #staged: Staged | null = null;
  #node: LedgerNode | null = null;
  readonly #initialHash: string;
  #restoredFrom = 0;
  /** Blocks folded since the state was last saved, and the save under way. */
  #unsaved = 0;
  #saving: Promise<void> | null = null;
  readonly #listeners: ((event: SchemaActivated) => void)[] = [];
  /** Proposals of this partner whose activation was published (or is being). */
  readonly #activating = new Set<string>();
  readonly #decisions = new Map<string, { readonly approvals: number; readonly version: number; readonly approved: boolean }>();
  /**
   * The active UnifiedSchema, read field by field: components keep this object and see each new
   * version from the moment it is swapped in (the swap is synchronous, so one operation never mixes two).
   */
  readonly live: UnifiedSchema;

  constructor(options: SchemaEvolutionOptions) {
    this.#o = options;
    this.#state = genesisSchemaState(options.hasher, options.genesis, options.files);
    this.#initialHash = this.#state === null ? '' : toHex(this.#state.contentHash);
    this.#unified = this.#state?.unified ?? options.unified;
    this.#version = options.genesis.schemaVersion;
    const active = (): UnifiedSchema => this.#unified;
    this.live = {
      get partners() { return active().partners; },
      get types() { return active().types; },
      get enums() { return active().enums; },
      get scalars() { return active().scalars; },
    };
  }

  get version(): number {
    return this.#version;
  }

  get unified(): UnifiedSchema {
    return this.#unified;
  }

  /** The height of the saved state this start folded on from; 0: folded from genesis. */
  get restoredFromHeight(): number {
    return this.#restoredFrom;
  }

  get enabled(): boolean {
    return this.#state !== null;
  }

  /** For `/ready` and the `schemaEvolution` query. */
  status(): { readonly version: number; readonly activatedAtHeight: number; readonly pending: readonly { proposal: string; version: number; proposer: string; approvals: readonly string[] }[] } {
    const pending = [...(this.#state?.pending.values() ?? [])].map((entry) => ({ proposal: toHex(entry.hash), version: entry.proposal.version, proposer: entry.proposer, approvals: entry.approvals }));
    return { version: this.#version, activatedAtHeight: this.#activatedAt, pending };
  }

  onActivated(listener: (event: SchemaActivated) => void): void {
    this.#listeners.push(listener);
  }

  /** The node publishes and stores the blocks; set once the ledger runtime is up. */
  attach(node: LedgerNode): void {
    this.#node = node;
  }

  /**
   * On start: folds the stored blocks up to the replica's applied height (the schema the replica was
   * left in) from their stored public payloads. Stops early at a block whose public schema payload this
   * node never received; `beforeBlock` completes the replay, fetching it, once peers are reachable.
   */
  replayStored(upToHeight: number): void {
    const node = this.#requireNode();
    this.#restoreSaved(upToHeight);
    while (this.#state !== null && this.#foldedHeight < upToHeight) {
      const height = this.#foldedHeight + 1;
      const block = node.blockStore.readBlockSync(height);
      if (block === null) return;
      const stored = (txIndex: number) => block.payloads.filter((payload) => payload.txIndex === txIndex);
      const indices = schemaTransactionIndices(block);
      if (indices.some((index) => !stored(index).some((payload) => payload.audience === PUBLIC_AUDIENCE))) return;
      this.#commit(this.#fold(height, block, stored));
    }
  }

  // ---- hooks for the replica applier (blocks in height order) ---------------------------------

  /**
   * Before block `height`'s data is applied: folds its schema transactions; on an activation, migrates
   * the replica to the new version (additive steps only; the data of block h is still written under the
   * old version, into a superset of its columns). Idempotent: a retried block folds once.
   */
  async beforeBlock(height: number, block: Block, payloadsOf: (txIndex: number) => readonly Payload[]): Promise<void> {
    if (this.#state === null || height <= this.#foldedHeight) return;
    await this.#catchUp(height - 1);
    if (this.#staged?.height !== height) this.#staged = this.#fold(height, block, payloadsOf);
    if (this.#staged.activated) await this.#migrateReplica(this.#unified, this.#staged.state.unified, height);
  }

  /** After block `height` is applied: the folded state becomes current; an activation swaps the API. */
  afterBlock(height: number): void {
    const staged = this.#staged;
    if (staged === null || staged.height !== height) return;
    this.#staged = null;
    this.#commit(staged);
    this.#activateOwnProposals();
  }

  // ---- publishing ----------------------------------------------------------------------------

  /**
   * Proposes the next version: the given partner files replace those partners' files of the active
   * version (the others stay). Resolves once the proposal is committed; an approved one is activated by
   * this gateway as soon as the approvals are committed.
   */
  async propose(files: readonly SchemaFileText[]): Promise<SchemaChangeReceipt> {
    const state = this.#requireState();
    const replaced = new Set(files.map((file) => file.partner));
    const proposal: SchemaProposal = {
      version: state.version + 1, previousHash: state.contentHash,
      files: [...state.files.filter((file) => !replaced.has(file.partner)), ...files.map(({ partner, source }) => ({ partner, source }))],
    };
    const step = applySchemaTransaction(this.#o.hasher, state, { kind: 'proposal', proposal }, this.#o.partner);
    if (!step.ok) throw new EntenteError('SCHEMA_INVALID', `the schema change cannot be proposed: ${step.reason}`);
    const pending = step.state.pending.get(toHex(schemaProposalHash(this.#o.hasher, proposal)))!;
    const decision = this.#decide(state, pending);
    const height = await this.#publish({ kind: 'proposal', proposal });
    return receipt(pending, height, decision);
  }

  /** Approves a pending proposal as this partner. */
  async approve(proposalHex: string): Promise<SchemaChangeReceipt> {
    const state = this.#requireState();
    const pending = state.pending.get(proposalHex.toLowerCase());
    if (pending === undefined) {
      const known = [...state.pending.keys()];
      throw new EntenteError('SCHEMA_INVALID', `no pending schema proposal ${proposalHex} at version ${state.version}${known.length === 0 ? ' (none is pending)' : `; pending: ${known.join(', ')}`}. Check the hash \`entente schema propose\` printed, or whether it was activated already.`);
    }
    const height = await this.#publish({ kind: 'approval', approval: { proposalHash: pending.hash, approver: this.#o.partner } });
    return receipt(pending, height, this.#decide(state, { ...pending, approvals: [...pending.approvals, this.#o.partner] }));
  }

  // ---- saved state -----------------------------------------------------------------------------

  /**
   * Saves the folded state (at stop, and every SCHEMA_SAVE_BLOCKS blocks), so that a start folds only the
   * blocks after it instead of reading every block up to the replica's height. Never throws: a state
   * that is not saved only makes the next start slower (logged).
   */
  async save(): Promise<void> {
    await this.#saving;
    const directory = this.#o.stateDirectory;
    const state = this.#state;
    const height = this.#foldedHeight;
    const block = height === 0 ? null : this.#node?.blockStore.readBlockSync(height) ?? null;
    if (directory === undefined || state === null || block === null) return;
    this.#unsaved = 0;
    const fold: SavedFold = { state: storedSchemaLedgerState(state), activatedAt: this.#activatedAt, initialHash: this.#initialHash };
    this.#saving = writeCheckpointFile(directory, { height, headHash: blockHash(this.#o.hasher, block.headerBytes), chain: fold, node: null }, SCHEMA_STATE_FILE)
      .then(
        () => {},
        (error: unknown) => this.#o.logger.warn({ error: (error as Error).message }, 'schema: saving the folded schema state failed; the next start folds from genesis'),
      )
      .finally(() => {
        this.#saving = null;
      });
    await this.#saving;
  }

  /** Takes the saved fold when it is at or below `upToHeight` and was made from the stored chain. */
  #restoreSaved(upToHeight: number): void {
    const directory = this.#o.stateDirectory;
    if (directory === undefined || this.#state === null || this.#foldedHeight > 0) return;
    const read = readCheckpointFile(directory, SCHEMA_STATE_FILE);
    if (read === null) return;
    const ignored = (reason: string): void => this.#o.logger.warn({ reason }, 'schema: the saved schema state is not used; the schema transactions are folded from genesis');
    if (!read.ok) return ignored(read.reason);
    const { height, headHash, chain } = read.checkpoint;
    const node = this.#requireNode();
    const block = node.blockStore.readBlockSync(height);
    if (block === null || !bytesEqual(blockHash(this.#o.hasher, block.headerBytes), headHash)) return ignored(`the stored block ${height} is not the one it was saved at`);
    // The replica's recorded height may trail the fold by blocks it had nothing to apply from. The state
    // is the replica's own when no schema transaction lies between (folding such blocks changes nothing);
    // otherwise an activation there must reach the replica through the applier, which migrates it.
    if (height - upToHeight > SCHEMA_RESTORE_GAP_MAX) return ignored(`it is at height ${height}, past the replica's applied height ${upToHeight}`);
    for (let between = upToHeight + 1; between <= height; between++) {
      const later = node.blockStore.readBlockSync(between);
      if (later === null || schemaTransactionIndices(later).length > 0) return ignored(`it is at height ${height}, past the replica's applied height ${upToHeight}, with a schema transaction at ${between}`);
    }
    const foldedAt = Math.min(height, upToHeight);
    const fold = chain as Partial<SavedFold> | null;
    let state: SchemaLedgerState;
    try {
      state = restoreSchemaLedgerState(fold?.state as StoredSchemaLedgerState);
    } catch (error) {
      return ignored((error as Error).message);
    }
    if (typeof fold?.activatedAt !== 'number' || typeof fold.initialHash !== 'string') return ignored('it lacks its activation height or first files');
    // The first version's files may be configured (when the genesis lacks them) and changed since.
    if (fold.initialHash !== this.#initialHash) return ignored('the first version\'s files differ from the ones it was folded from');
    this.#state = state;
    this.#foldedHeight = foldedAt;
    this.#unified = state.unified;
    this.#version = state.version;
    this.#activatedAt = fold.activatedAt;
    this.#restoredFrom = foldedAt;
    this.#o.logger.info({ height: foldedAt, version: state.version }, 'schema: folding on from the saved schema state');
  }

  // ---- internals -----------------------------------------------------------------------------

  #fold(height: number, block: Block, payloadsOf: (txIndex: number) => readonly Payload[]): Staged {
    const state = this.#requireState();
    const indices = schemaTransactionIndices(block);
    if (indices.length === 0) return { height, state, activated: false };
    const fold = foldSchemaTransactions(this.#o.hasher, state, block.transactions, indices, payloadsOf);
    for (const outcome of fold.outcomes) {
      if (outcome.kind !== 'applied') this.#o.logger.warn({ height, txIndex: outcome.txIndex, reason: outcome.reason }, outcome.kind === 'ignored' ? 'schema: a schema transaction does not apply; ignored' : 'schema: a committed activation is refused by the governance policy; the active version stays');
    }
    return { height, state: fold.state, activated: fold.outcomes.some((outcome) => outcome.kind === 'applied' && outcome.activated) };
  }

  #commit(staged: Staged): void {
    this.#state = staged.state;
    this.#foldedHeight = staged.height;
    if (++this.#unsaved >= SCHEMA_SAVE_BLOCKS && this.#saving === null) void this.save();
    if (!staged.activated) return;
    const previous = this.#unified;
    this.#unified = staged.state.unified;
    this.#version = staged.state.version;
    this.#activatedAt = staged.height;
    this.#o.logger.info({ version: this.#version, height: staged.height }, 'schema: a new version is active');
    for (const listener of this.#listeners) listener({ version: this.#version, height: staged.height, unified: this.#unified, previous });
  }

  /** Blocks already applied but not folded (the replay stopped at a payload not stored here): fetch and fold them. */
  async #catchUp(upToHeight: number): Promise<void> {
    const node = this.#requireNode();
    while (this.#foldedHeight < upToHeight) {
      const height = this.#foldedHeight + 1;
      const block = node.blockStore.readBlockSync(height);
      if (block === null) throw new EntenteError('LEDGER_CORRUPT', `block ${height} is applied to the replica but not stored; restore the ledger directory from a partner`);
      const held = new Map<number, Payload[]>();
      for (const payload of block.payloads) held.set(payload.txIndex, [...(held.get(payload.txIndex) ?? []), payload]);
      const missing = schemaTransactionIndices(block).filter((index) => !(held.get(index) ?? []).some((payload) => payload.audience === PUBLIC_AUDIENCE));
      if (missing.length > 0) for (const [index, payloads] of await node.fetchPayloads(height, missing)) held.set(index, payloads);
      const staged = this.#fold(height, block, (index) => held.get(index) ?? []);
      if (staged.activated) await this.#migrateReplica(this.#unified, staged.state.unified, height);
      this.#commit(staged);
    }
  }

  async #migrateReplica(old: UnifiedSchema, next: UnifiedSchema, height: number): Promise<void> {
    const plan = planReplicaMigration(old, next, this.#o.partner);
    if (!plan.additiveOnly) {
      // Drops, rebuilds and NOT NULL relaxations need the connector's migrate (schema/README.md, "Activating
      // a version"); until then the additive part runs and the rest is reported for the operator.
      this.#o.logger.error({ height, steps: plan.steps.filter((step) => step.kind !== 'create-table' && step.kind !== 'add-columns' && step.kind !== 'backfill') }, 'schema: the new version needs replica migration steps this gateway cannot run yet; apply them by hand');
    }
    await this.#o.connector.replica.ensureTables(plan.ensureTables);
  }

  /** decideApproval composes and diffs: asked again only when the proposal's approvals changed. */
  #approvedNow(state: SchemaLedgerState, hex: string, pending: PendingProposal): boolean {
    const cached = this.#decisions.get(hex);
    if (cached !== undefined && cached.approvals === pending.approvals.length && cached.version === state.version) return cached.approved;
    const approved = this.#decide(state, pending).approved;
    if (this.#decisions.size >= pendingProposalsMax) this.#decisions.clear();
    this.#decisions.set(hex, { approvals: pending.approvals.length, version: state.version, approved });
    return approved;
  }

  #decide(state: SchemaLedgerState, pending: PendingProposal): ApprovalDecision {
    const next = composeSchemas(pending.proposal.files.map((file) => ({ path: `${file.partner}.graphql`, partner: file.partner, source: file.source })), { partners: state.partners });
    return decideApproval({ diff: diffSchemas(state.unified, next), partners: state.partners, proposer: pending.proposer, approvals: pending.approvals, policy: state.policy });
  }

  /**
   * Publishes the activation of each of this partner's pending proposals the committed approvals now
   * satisfy, never twice for one proposal: the origin names it, and the node knows its committed
   * origins, so a gateway replaying after a restart (which sees its proposal pending again until it
   * reaches the activation's block) does not send it again. A duplicate that slips through (a restart
   * between publishing and commit) is a no-op in validity.
   */
  #activateOwnProposals(): void {
    const state = this.#state;
    const node = this.#node;
    if (state === null || node === null) return;
    for (const [hex, pending] of state.pending) {
      if (pending.proposer !== this.#o.partner || this.#activating.has(hex)) continue;
      const origin = `entente:schema:activation:${hex}`;
      if (node.committedOrigin(origin) !== undefined || !this.#approvedNow(state, hex, pending)) continue;
      this.#activating.add(hex);
      this.#publish({ kind: 'activation', activation: { version: pending.proposal.version, proposalHash: pending.hash } }, origin)
        .then((height) => this.#o.logger.info({ proposal: hex, version: pending.proposal.version, height }, 'schema: activation committed'))
        .catch((error: unknown) => {
          this.#activating.delete(hex);
          this.#o.logger.error({ err: error, proposal: hex }, 'schema: publishing the activation failed; it is retried after the next schema transaction');
        });
    }
  }

  async #publish(body: SchemaLedgerBody, origin = `entente:schema:${body.kind}:${Date.now()}`): Promise<number> {
    const node = this.#requireNode();
    const { transaction, payload } = schemaLedgerTransaction(this.#o.hasher, body, this.#o.partner, origin);
    const commit = await node.publish([transaction], [[payload]]);
    return commit.height;
  }

  #requireState(): SchemaLedgerState {
    if (this.#state === null) throw new EntenteError('CONFIG_INVALID', 'schema evolution needs the network\'s first schema files: put them in the genesis ("schema": { partner: SDL }) so every partner replays the same versions');
    return this.#state;
  }

  #requireNode(): LedgerNode {
    if (this.#node === null) throw new EntenteError('UNAVAILABLE', 'the ledger node is not started yet; retry once the gateway is ready');
    return this.#node;
  }
}

function receipt(pending: PendingProposal, height: number, decision: ApprovalDecision): SchemaChangeReceipt {
  return {
    proposal: toHex(pending.hash), version: pending.proposal.version, height, approved: decision.approved, required: decision.required, missing: decision.missing,
    message: decision.approved ? `Version ${pending.proposal.version} is approved; ${pending.proposer}'s gateway activates it once this is committed.` : refusalMessage(decision),
  };
}

