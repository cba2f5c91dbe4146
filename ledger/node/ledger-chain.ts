// The consensus host's chain (HostChain) over the ledger's own block format, validity rules and block
// store — so what consensus commits is exactly what `entente verify` checks: the value consensus agrees
// on is a block header's hash, and the round's precommits ARE the block's commit certificate (the two
// sign the same bytes, see ledger/block.ts commitVoteMessage).
//
// Private payloads never travel inside consensus messages. A proposal and a synced block carry the
// header, batch seals, transactions and the PUBLIC ('*') payloads only — governance reads those, so every
// node judges a schema activation from the block itself; each node attaches, when it stores a committed
// block, the payloads it received from the owners for its own audiences (see ledger-node.ts). So a
// partner never receives data it may not read, whoever proposes.
import { EntenteError } from '../../common/errors.ts';
import { blockHash, decodeBlock, encodeBlock, type Block, type CommitCertificate as LedgerCertificate, type StoredPayload } from '../block.ts';
import type { ValueId, VoteMessage } from '../consensus/types.ts';
import type { Hasher } from '../crypto/hasher.ts';
import type { SignatureVerifier } from '../crypto/signature.ts';
import { bytesEqual, fromHex, toHex } from '../encoding/hex.ts';
import type { Genesis } from '../genesis.ts';
import type { Membership } from '../membership.ts';
import type { BlockStore } from '../store/block-store.ts';
import type { CommitCertificate } from '../sync/commit-certificate.ts';
import type { HostChain } from './consensus-host.ts';
import { payloadCommitment, PUBLIC_AUDIENCE, type Payload } from '../transaction.ts';
import { checkBlock, genesisState, type ChainState, type SchemaJudge, type ValidityContext, type Violation } from '../validity.ts';
import { MemoryTransactionIndex, type CommittedTransactionIndex } from '../store/committed-transaction-index.ts';
import type { ChainCheckpoint } from '../store/chain-checkpoint.ts';

const EMPTY_CERTIFICATE: LedgerCertificate = { round: 0, signatures: [] };
/** Replaying our own store at start-up: every block in it was fully checked before it was stored. */
const trustedVerifier: SignatureVerifier = { verify: () => true };

function publicOnly(block: Block): boolean {
  return block.payloads.every((payload) => payload.audience === PUBLIC_AUDIENCE);
}

/** Payloads this node holds for a transaction (received from its owner), by transaction id (hex). */
export type PayloadSource = (txIdHex: string) => readonly Payload[] | undefined;

export interface LedgerChainOptions {
  readonly genesis: Genesis;
  readonly store: BlockStore;
  readonly hasher: Hasher;
  readonly verifier: SignatureVerifier;
  readonly payloads: PayloadSource;
  /** The schema-evolution state machine (schema/evolution/schema-judge.ts), when the genesis holds the schema. */
  readonly schemaJudge?: SchemaJudge;
  /** Told when a proposed block was judged valid and when a decided block starts and ends being stored (the write-path trace). */
  readonly observer?: ChainObserver;
  /**
   * Where committed transaction ids are kept (the replay rule asks it); all in memory when absent. The
   * chain adds every block it replays or stores; an index that already holds a height ignores it.
   */
  readonly transactionIndex?: CommittedTransactionIndex;
  /** Shown each stored block as `open` replays it, so the host builds its own indexes in the same pass. */
  readonly replayed?: (block: Block) => void;
  /**
   * A checkpoint (ledger/store/chain-checkpoint.ts) to start from instead of genesis: `open` replays only
   * the blocks after it. One that does not fit this store and genesis is refused (`checkpointRefused`
   * says why) and the whole chain is replayed.
   */
  readonly checkpoint?: ChainCheckpoint;
  readonly checkpointRefused?: (reason: string) => void;
  /** Told when the checkpoint was taken, before the blocks after it are replayed (the host restores its own indexes). */
  readonly resumed?: () => void;
}

/** The chain's part of a checkpoint: its state at the checkpoint's height and the membership history. */
interface ChainCheckpointState {
  readonly state: ChainState;
  readonly memberships: readonly { readonly from: number; readonly membership: Membership }[];
  /** Whether a schema judge kept schemaState (the genesis decides; a mismatch means another configuration). */
  readonly judged: boolean;
}

export interface ChainObserver {
  judged?(block: Block): void;
  deciding?(block: Block): void;
  stored?(block: Block): void;
}

export interface CommittedBlock {
  readonly block: Block;
  readonly hash: Uint8Array;
  readonly transactionIds: readonly string[];
}

export class LedgerChain implements HostChain<Block> {
  private readonly o: LedgerChainOptions;
  private chainState: ChainState;
  private readonly genesisState: ChainState;
  /** Membership from a height on (the genesis membership from height 1), oldest first. */
  private readonly memberships: { readonly from: number; readonly membership: Membership }[] = [];
  /** Transaction id → height and position, for every committed transaction. */
  readonly committedTxs: CommittedTransactionIndex;
  private readonly ids = new WeakMap<Block, ValueId>();
  private readonly txIdLists = new WeakMap<Block, readonly string[]>();
  private readonly context: ValidityContext;
  private readonly trustedContext: ValidityContext;
  /** The block last stored, as stored (certificate and held payloads): what the node hands on without reading it back. */
  private lastStored: Block | null = null;
  private resumedHeight = 0;

  private constructor(options: LedgerChainOptions) {
    this.o = options;
    this.committedTxs = options.transactionIndex ?? new MemoryTransactionIndex();
    const judge = options.schemaJudge === undefined ? {} : { schemaJudge: options.schemaJudge };
    this.context = { hasher: options.hasher, verifier: options.verifier, ...judge };
    this.trustedContext = { hasher: options.hasher, verifier: trustedVerifier, ...judge };
    this.genesisState = genesisState(options.hasher, options.genesis);
    this.chainState = this.genesisState;
    this.memberships.push({ from: 1, membership: options.genesis.membership });
  }

  /** The height `open` started its replay after: a checkpoint's, or 0 (genesis). */
  get resumedFrom(): number {
    return this.resumedHeight;
  }

  /**
   * Replays the stored chain (already verified when stored) to rebuild state and the transaction index:
   * from genesis, or from a checkpoint that fits this store.
   */
  static open(options: LedgerChainOptions): LedgerChain {
    const chain = new LedgerChain(options);
    const head = options.store.head();
    if (options.checkpoint !== undefined) {
      const problem = chain.resume(options.checkpoint, head.height);
      if (problem !== null) options.checkpointRefused?.(problem);
      else options.resumed?.();
    }
    // Blocks at or below the checkpoint whose ids are not in the index's runs yet (the newest ones, which
    // the index keeps in memory): their ids only, not the rules.
    for (let height = chain.committedTxs.openedHeight + 1; height <= chain.resumedHeight; height++) {
      const block = chain.readStored(height);
      chain.committedTxs.add(height, chain.txIdsOf(block), blockHash(options.hasher, block.headerBytes));
    }
    for (let height = chain.resumedHeight + 1; height <= head.height; height++) {
      const block = chain.readStored(height);
      const check = checkBlock(chain.trustedContext, chain.chainState, block);
      if (!check.ok) throw new EntenteError('LEDGER_CORRUPT', `stored block ${height} does not follow its predecessor (${check.violation.rule}: ${check.violation.message}); this ledger belongs to another network or is damaged — run \`entente verify\``);
      chain.remember(block, check.state, check.transactionIds.map(toHex));
      options.replayed?.(block);
    }
    return chain;
  }

  get state(): ChainState {
    return this.chainState;
  }

  /**
   * The chain's part of a checkpoint at the stored head (structured-clone safe), or null when the schema
   * judge cannot export its state (then no checkpoint is written and a restart replays everything).
   */
  checkpointState(): ChainCheckpointState | null {
    const judge = this.o.schemaJudge;
    let state = this.chainState;
    if (state.schemaState !== undefined) {
      if (judge?.exportState === undefined) return null;
      state = { ...state, schemaState: judge.exportState(state.schemaState) };
    }
    return { state, memberships: [...this.memberships], judged: judge !== undefined };
  }

  /** Takes the checkpoint's state when it fits this store and genesis; otherwise says why and changes nothing. */
  private resume(checkpoint: ChainCheckpoint, headHeight: number): string | null {
    if (checkpoint.height > headHeight) return `it is at height ${checkpoint.height}, above the stored head ${headHeight}`;
    const stored = this.o.store.readBlockSync(checkpoint.height);
    if (stored === null || !bytesEqual(blockHash(this.o.hasher, stored.headerBytes), checkpoint.headHash)) return `the stored block ${checkpoint.height} is not the one it was written at (another chain)`;
    const saved = checkpoint.chain as Partial<ChainCheckpointState> | null;
    const state = saved?.state;
    if (state === undefined || !Array.isArray(saved?.memberships) || saved.memberships.length === 0 || typeof saved.judged !== 'boolean') return 'its chain state is missing';
    if (state.chainId !== this.genesisState.chainId || state.height !== checkpoint.height || !bytesEqual(state.headHash, checkpoint.headHash)) return 'its chain state is for another chain or height';
    const judge = this.o.schemaJudge;
    if (saved.judged !== (judge !== undefined)) return saved.judged ? 'it was written with a schema judge and this node has none' : 'it was written without a schema judge';
    let restored: ChainState = state;
    if (state.schemaState !== undefined) {
      if (judge?.importState === undefined) return 'the schema judge cannot restore its state';
      try {
        restored = { ...state, schemaState: judge.importState(state.schemaState) };
      } catch (error) {
        return `its schema state cannot be restored (${(error as Error).message})`;
      }
    }
    this.chainState = restored;
    this.memberships.length = 0;
    this.memberships.push(...saved.memberships);
    this.resumedHeight = checkpoint.height;
    return null;
  }

  private readStored(height: number): Block {
    const block = this.o.store.readBlockSync(height);
    if (block === null) throw new EntenteError('LEDGER_CORRUPT', `block ${height} is missing from the store; run \`entente verify\` on the ledger directory`);
    return block;
  }

  get chainId(): string {
    return this.genesisState.chainId;
  }

  headHeight(): number {
    return this.chainState.height;
  }

  headId(): ValueId {
    return toHex(this.chainState.headHash);
  }

  blockId(block: Block): ValueId {
    const known = this.ids.get(block);
    if (known !== undefined) return known;
    const id = toHex(blockHash(this.o.hasher, block.headerBytes));
    this.ids.set(block, id);
    return id;
  }

  txIdsOf(block: Block): readonly string[] {
    const known = this.txIdLists.get(block);
    if (known !== undefined) return known;
    const ids = block.transactionBytes.map((bytes) => toHex(this.o.hasher.merkleLeaf(bytes)));
    this.txIdLists.set(block, ids);
    return ids;
  }

  /** The wire form: no certificate (it does not exist yet) and only public payloads (the rest go only to their audiences). */
  encodeBlock(block: Block): Uint8Array {
    const bare = publicOnly(block) && block.certificate.signatures.length === 0 ? block : { ...block, certificate: EMPTY_CERTIFICATE, payloads: block.payloads.filter((p) => p.audience === PUBLIC_AUDIENCE) };
    return encodeBlock(bare);
  }

  decodeBlock(bytes: Uint8Array): Block | null {
    try {
      const block = decodeBlock(bytes);
      if (!publicOnly(block) || block.certificate.signatures.length > 0) return null;
      return block;
    } catch {
      return null;
    }
  }

  isValidBlock(block: Block, height: number, parentId: ValueId): boolean {
    if (block.header.height !== height || toHex(block.header.previousHash) !== parentId || height !== this.chainState.height + 1) return false;
    const check = checkBlock(this.context, this.chainState, block, { uncertified: true });
    if (!check.ok) return false;
    const seen = new Set<string>();
    for (const id of this.txIdsOf(block)) {
      if (seen.has(id) || this.committedTxs.has(id)) return false;
      seen.add(id);
    }
    this.o.observer?.judged?.(block);
    return true;
  }

  commitBlock(height: number, block: Block, certificate: CommitCertificate): void {
    if (height !== this.chainState.height + 1) throw new EntenteError('LEDGER_INVALID', `block ${height} does not follow the stored head ${this.chainState.height}`);
    this.o.observer?.deciding?.(block);
    const signatures = [...certificate.votes].sort((a, b) => a.sender - b.sender).map((vote) => ({ signer: vote.sender, signature: fromHex(vote.signature) }));
    const txIds = this.txIdsOf(block);
    const certified: Block = { ...block, certificate: { round: certificate.round, signatures }, payloads: this.payloadsOf(block, txIds) };
    // The certificate was checked by consensus (or by sync's certificate check) and the rest by
    // isValidBlock; this check re-derives the next state and guards the invariant on what is stored.
    const check = checkBlock(this.trustedContext, this.chainState, certified);
    if (!check.ok) throw new EntenteError('LEDGER_INVALID', `committed block ${height} fails ${check.violation.rule}: ${check.violation.message}`);
    // Before the block is stored: a full index must stop the chain with the stored head and the index agreeing.
    this.committedTxs.reserve(txIds.length);
    this.o.store.appendSync(certified, check.hash);
    this.ids.set(certified, this.blockId(block));
    this.txIdLists.set(certified, txIds);
    this.remember(certified, check.state, txIds);
    this.lastStored = certified;
    this.o.observer?.stored?.(certified);
  }

  /** The block at `height` exactly as commitBlock stored it, while it is the head; null otherwise (read the store). */
  storedHead(height: number): Block | null {
    const block = this.lastStored;
    return block !== null && block.header.height === height && height === this.chainState.height ? block : null;
  }

  storedBlock(height: number): { readonly block: Block; readonly certificate: CommitCertificate } | null {
    if (height < 1 || height > this.chainState.height) return null;
    const block = this.o.store.readBlockSync(height);
    if (block === null) return null;
    const valueId = this.blockId(block);
    const round = block.certificate.round;
    const votes: VoteMessage[] = block.certificate.signatures.map((s) => ({ kind: 'precommit', height, round, valueId, sender: s.signer, signature: toHex(s.signature) }));
    return { block, certificate: { height, round, valueId, votes } };
  }

  membershipAt(height: number): Membership {
    let found = this.memberships[0]!.membership;
    for (const entry of this.memberships) if (entry.from <= height) found = entry.membership;
    return found;
  }

  latestMembership(): Membership {
    return this.memberships.at(-1)!.membership;
  }

  /** Why a proposed block breaks the rules, or null when it keeps them (the proposer drops what breaks them). */
  proposalProblem(block: Block): Violation | null {
    const check = checkBlock(this.context, this.chainState, block, { uncertified: true });
    return check.ok ? null : check.violation;
  }

  /**
   * The block's own (public) payloads plus those this node holds for its transactions, checked against
   * their commitments, in canonical order.
   */
  private payloadsOf(block: Block, txIds: readonly string[]): StoredPayload[] {
    const out: StoredPayload[] = [];
    for (let txIndex = 0; txIndex < block.transactions.length; txIndex++) {
      const carried = block.payloads.filter((p) => p.txIndex === txIndex);
      const held = [...carried, ...(this.o.payloads(txIds[txIndex]!) ?? [])];
      if (held.length === 0) continue;
      const commitments = block.transactions[txIndex]!.commitments;
      const ordered: { position: number; payload: Payload }[] = [];
      for (const payload of held) {
        const position = commitments.findIndex((c) => c.audience === payload.audience);
        // A payload that does not match its commitment is dropped, never stored (the owner sent garbage).
        if (position < 0 || !bytesEqual(payloadCommitment(this.o.hasher, payload.salt, payload.data), commitments[position]!.commitment)) continue;
        if (ordered.some((o) => o.position === position)) continue;
        ordered.push({ position, payload });
      }
      ordered.sort((a, b) => a.position - b.position);
      for (const { payload } of ordered) out.push({ audience: payload.audience, salt: payload.salt, data: payload.data, txIndex });
    }
    return out;
  }

  private remember(block: Block, next: ChainState, txIds: readonly string[]): void {
    const height = block.header.height;
    if (next.membershipHash !== this.chainState.membershipHash && !bytesEqual(next.membershipHash, this.chainState.membershipHash)) {
      this.memberships.push({ from: height + 1, membership: next.membership });
    }
    this.chainState = next;
    this.committedTxs.add(height, txIds, next.headHash);
  }
}
