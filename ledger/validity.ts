// The validity rules of the chain, all in one place. A block is valid on top of a chain state when: its
// height is the next one and it links to the head's hash; time does not go back; it names the current
// membership and schema version; its proposer is a member; its commit certificate carries valid, distinct,
// in-order signatures of at least a quorum of that membership over the block hash; its transactions match
// the header's count and RFC 6962 root; its batches cover the transactions exactly and each carries a
// valid signature by the batch's owner over the batch root and the hash of the owner's previous batch, which
// must be the owner's last batch on the chain (an owner's batches are a hash chain, so no proposer can
// reorder or drop-and-replay them); every transaction is published by the partner
// that owns its entity type (a plain entityType → partner map); every stored payload matches a commitment.
// Governance: a schema-change transaction's key says what it is (proposal/v<N>, approval/<hash>,
// activation/v<N>; see schema/evolution/schema-transactions.ts); the first `activation/v<version + 1>` of
// a block raises the schema version the next block must carry, and any other activation is a no-op (a
// stale or repeated activation must not make every block that carries it invalid, or it would stall the
// chain from the mempool); a schema judge in the context (when given) replays the schema state machine and
// refuses a block whose raising activation it refuses. A
// membership-change transaction's public payload is the membership certifying the next block.
// Pure: hashing and signature verification come in through the context.
import type { Hasher } from './crypto/hasher.ts';
import type { SignatureVerifier } from './crypto/signature.ts';
import { bytesEqual, toHex } from './encoding/hex.ts';
import { batchHash, blockHash, batchSignatureMessage, chainIdOf, commitVoteMessage, NO_PREVIOUS_BATCH, type Block } from './block.ts';
import { genesisHash, type Genesis, type OwnershipMap } from './genesis.ts';
import { decodeMembership, membershipHash, quorumSize, type Membership } from './membership.ts';
import { merkleRoot, merkleRootOfRange } from './merkle.ts';
import { MEMBERSHIP_ENTITY_TYPE, payloadCommitment, PUBLIC_AUDIENCE, SCHEMA_ENTITY_TYPE, transactionId, type Transaction } from './transaction.ts';

export type ValidityRule =
  | 'record-checksum'
  | 'encoding'
  | 'height'
  | 'previous-hash'
  | 'time'
  | 'membership-hash'
  | 'schema-version'
  | 'proposer'
  | 'certificate-signers'
  | 'certificate-quorum'
  | 'certificate-signature'
  | 'tx-count'
  | 'merkle-root'
  | 'batch-structure'
  | 'batch-signature'
  | 'batch-order'
  | 'owner'
  | 'payload'
  | 'governance';

export interface Violation {
  readonly height: number;
  readonly rule: ValidityRule;
  readonly message: string;
  readonly txIndex?: number;
  readonly txId?: string;
}

export interface ChainState {
  /** What commit votes sign as the chain id: the genesis hash in hex (see chainIdOf). */
  readonly chainId: string;
  readonly height: number;
  readonly headHash: Uint8Array;
  readonly timeMs: number;
  /** The membership that must certify the next block. */
  readonly membership: Membership;
  readonly membershipHash: Uint8Array;
  /** The schema version the next block must carry. */
  readonly schemaVersion: number;
  readonly ownership: OwnershipMap;
  /** Each owner's last batch on the chain (partner → batchHash): the owner's next batch must name it as `previous`. */
  readonly batchHeads: ReadonlyMap<string, Uint8Array>;
  /**
   * Only while checking a run of blocks from a predicted state (verify-parallel.ts), where the heads before
   * the run are not known: each owner's first batch in the run is taken as continuing its chain and
   * recorded here, and the caller compares it with the true head. Absent on a real chain state.
   */
  readonly assumedBatchHeads?: ReadonlyMap<string, AssumedBatchHead>;
  /** The schema judge's state after this block (opaque here); absent without a judge or before its first schema transaction. */
  readonly schemaState?: unknown;
}

/** An owner's first batch in a run checked from a predicted state: what it names as previous, and where it is. */
export interface AssumedBatchHead {
  readonly previous: Uint8Array;
  readonly height: number;
  readonly batch: number;
  readonly txIndex: number;
}

export interface ValidityContext {
  readonly hasher: Hasher;
  readonly verifier: SignatureVerifier;
  /** Replays the schema-evolution state machine over a block's '$schema' transactions; without it only the key rules apply. */
  readonly schemaJudge?: SchemaJudge;
}

/**
 * The schema state machine as validity sees it (schema/evolution/schema-judge.ts implements it): the
 * ledger cannot read proposals itself, so the judge is injected, as hashing is. `previous` is what the
 * judge returned for an earlier block (undefined: the genesis schema). It reads the '$schema' payloads
 * from `block.payloads` (they are public, so every node stores them) and must be pure and deterministic.
 */
export interface SchemaJudge {
  judge(previous: unknown, block: Block, schemaTxIndices: readonly number[]): SchemaVerdict;
  /** The state as plain data a chain checkpoint can hold (structured-clone safe); without it no checkpoint is written. */
  exportState?(state: unknown): unknown;
  /** Back from exportState's data; throws when the data is not such a state. */
  importState?(value: unknown): unknown;
}

export type SchemaVerdict = { readonly ok: true; readonly state: unknown } | { readonly ok: false; readonly message: string; readonly txIndex: number };

const SCHEMA_KEY = /^(?:proposal\/v[1-9][0-9]{0,9}|approval\/[0-9a-f]{64}|activation\/v([1-9][0-9]{0,9}))$/;

export type BlockCheck =
  | { readonly ok: true; readonly state: ChainState; readonly hash: Uint8Array; readonly transactionIds: readonly Uint8Array[] }
  | { readonly ok: false; readonly violation: Violation };

export function genesisState(hasher: Hasher, genesis: Genesis, ownership: OwnershipMap = genesis.ownership): ChainState {
  const hash = genesisHash(hasher, genesis);
  return {
    chainId: chainIdOf(hash),
    height: 0,
    headHash: hash,
    timeMs: genesis.timeMs,
    membership: genesis.membership,
    membershipHash: membershipHash(hasher, genesis.membership),
    schemaVersion: genesis.schemaVersion,
    ownership,
    batchHeads: new Map(),
  };
}

export interface CheckOptions {
  /**
   * Skip the commit certificate: for a block still being agreed on (a consensus proposal), whose
   * certificate is the round's precommits and does not exist yet. Every other rule still applies.
   */
  readonly uncertified?: boolean;
}

/** Checks `block` on top of `state`; on success returns the state after it. Never throws on bad data. */
export function checkBlock(context: ValidityContext, state: ChainState, block: Block, options: CheckOptions = {}): BlockCheck {
  const height = block.header.height;
  const fail = (rule: ValidityRule, message: string, txIndex?: number): BlockCheck => ({
    ok: false,
    violation: txIndex === undefined ? { height, rule, message } : { height, rule, message, txIndex, txId: toHex(transactionId(context.hasher, block.transactionBytes[txIndex]!)) },
  });
  const headerProblem = checkHeader(state, block);
  if (headerProblem !== null) return fail(headerProblem[0], headerProblem[1]);
  const hash = blockHash(context.hasher, block.headerBytes);
  const certificateProblem = options.uncertified === true ? null : checkCertificate(context, state, hash, block);
  if (certificateProblem !== null) return fail(certificateProblem[0], certificateProblem[1]);

  const { hasher } = context;
  const count = block.transactionBytes.length;
  if (count !== block.header.txCount) return fail('tx-count', `header says ${block.header.txCount} transactions, the block holds ${count}`);
  // The transaction ids are the Merkle leaf hashes.
  const leafHashes = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) leafHashes[i] = transactionId(hasher, block.transactionBytes[i]!);
  const transactionIds = leafHashes;
  if (!bytesEqual(merkleRoot(hasher, leafHashes), block.header.txRoot)) return fail('merkle-root', 'the transactions do not hash to the header\'s transaction root');

  const batches = checkBatches(context, state, block, leafHashes);
  if ('rule' in batches) return fail(batches.rule, batches.message, batches.txIndex);
  const payloadProblem = checkPayloads(hasher, block);
  if (payloadProblem !== null) return fail('payload', payloadProblem.message, payloadProblem.txIndex);
  const next = applyGovernance(context, state, block, hash);
  if (!next.ok) return fail('governance', next.message, next.txIndex);
  const chained: ChainState = { ...next.state, batchHeads: batches.heads, ...(batches.assumed === undefined ? {} : { assumedBatchHeads: batches.assumed }) };
  return { ok: true, state: chained, hash, transactionIds };
}

function checkHeader(state: ChainState, block: Block): [ValidityRule, string] | null {
  const header = block.header;
  if (header.height !== state.height + 1) return ['height', `expected height ${state.height + 1}, found ${header.height}`];
  if (!bytesEqual(header.previousHash, state.headHash)) return ['previous-hash', `previous hash ${toHex(header.previousHash)} is not the hash of block ${state.height} (${toHex(state.headHash)})`];
  if (header.timeMs < state.timeMs) return ['time', `time ${header.timeMs} is before the previous block's ${state.timeMs}`];
  if (!bytesEqual(header.membershipHash, state.membershipHash)) return ['membership-hash', `membership hash ${toHex(header.membershipHash)} is not the current membership's ${toHex(state.membershipHash)}`];
  if (header.schemaVersion !== state.schemaVersion) return ['schema-version', `schema version ${header.schemaVersion}, expected ${state.schemaVersion}`];
  if (header.proposer >= state.membership.nodes.length) return ['proposer', `proposer index ${header.proposer} is not a member (n = ${state.membership.nodes.length})`];
  return null;
}

function checkCertificate(context: ValidityContext, state: ChainState, hash: Uint8Array, block: Block): [ValidityRule, string] | null {
  const membership = state.membership;
  const signatures = block.certificate.signatures;
  const n = membership.nodes.length;
  let previous = -1;
  for (const s of signatures) {
    if (s.signer <= previous) return ['certificate-signers', `signer ${s.signer} is out of order or repeated`];
    if (s.signer >= n) return ['certificate-signers', `signer ${s.signer} is not a member (n = ${n})`];
    previous = s.signer;
  }
  const quorum = quorumSize(n);
  if (signatures.length < quorum) return ['certificate-quorum', `${signatures.length} signatures, a quorum of ${n} nodes is ${quorum}`];
  const message = commitVoteMessage(state.chainId, block.header.height, block.certificate.round, hash);
  for (const s of signatures) {
    const node = membership.nodes[s.signer]!;
    if (!context.verifier.verify(node.publicKey, message, s.signature)) return ['certificate-signature', `the signature of node ${s.signer} (${node.partner}) does not verify over the block hash`];
  }
  return null;
}

interface TxProblem {
  readonly rule: ValidityRule;
  readonly message: string;
  readonly txIndex?: number;
}

interface BatchChains {
  readonly heads: ReadonlyMap<string, Uint8Array>;
  readonly assumed?: ReadonlyMap<string, AssumedBatchHead>;
}

function checkBatches(context: ValidityContext, state: ChainState, block: Block, leafHashes: readonly Uint8Array[]): TxProblem | BatchChains {
  const nodes = state.membership.nodes;
  // Copied only when the block has batches: an empty block keeps the previous maps.
  const heads = block.batches.length === 0 ? state.batchHeads : new Map(state.batchHeads);
  let assumed = state.assumedBatchHeads;
  let start = 0;
  for (const [b, batch] of block.batches.entries()) {
    if (batch.txCount < 1 || start + batch.txCount > leafHashes.length) return { rule: 'batch-structure', message: `batch ${b} claims ${batch.txCount} transactions from position ${start} of ${leafHashes.length}` };
    const node = nodes[batch.signer];
    if (node === undefined) return { rule: 'batch-structure', message: `batch ${b} is signed by index ${batch.signer}, not a member` };
    const root = merkleRootOfRange(context.hasher, leafHashes, start, start + batch.txCount);
    const message = batchSignatureMessage(batch.previous, root);
    if (!context.verifier.verify(node.publicKey, message, batch.signature)) return { rule: 'batch-signature', message: `batch ${b} (transactions ${start}..${start + batch.txCount - 1}) is not signed by ${node.partner}`, txIndex: start };
    const head = heads.get(node.partner);
    if (head === undefined && assumed !== undefined) {
      assumed = new Map(assumed).set(node.partner, { previous: batch.previous, height: block.header.height, batch: b, txIndex: start });
    } else if (!bytesEqual(batch.previous, head ?? NO_PREVIOUS_BATCH)) {
      return { rule: 'batch-order', message: batchOrderMessage(b, node.partner, batch.previous, head), txIndex: start };
    }
    (heads as Map<string, Uint8Array>).set(node.partner, batchHash(context.hasher, message));
    for (let i = start; i < start + batch.txCount; i++) {
      const problem = ownerProblem(state, block.transactions[i]!, node.partner);
      if (problem !== null) return { rule: 'owner', message: problem, txIndex: i };
    }
    start += batch.txCount;
  }
  if (start !== leafHashes.length) return { rule: 'batch-structure', message: `batches cover ${start} of ${leafHashes.length} transactions` };
  return assumed === undefined ? { heads } : { heads, assumed };
}

/** Why batch `b` of `partner` does not continue its chain, whose last batch is `head` (undefined: none yet). */
export function batchOrderMessage(b: number, partner: string, previous: Uint8Array, head: Uint8Array | undefined): string {
  return `batch ${b} of ${partner} names ${toHex(previous)} as its previous batch, but ${partner}'s last batch on the chain is ${head === undefined ? 'none (its first must name 32 zero bytes)' : toHex(head)}: the owner's batches are out of order, repeated or missing`;
}

function ownerProblem(state: ChainState, tx: Transaction, signerPartner: string): string | null {
  if (tx.owner !== signerPartner) return `transaction names owner ${tx.owner} but its batch is signed by ${signerPartner}`;
  if (tx.operation === 'schema-change') return tx.entityType === SCHEMA_ENTITY_TYPE ? null : `a schema change must have entity type ${SCHEMA_ENTITY_TYPE}`;
  if (tx.operation === 'membership-change') return tx.entityType === MEMBERSHIP_ENTITY_TYPE ? null : `a membership change must have entity type ${MEMBERSHIP_ENTITY_TYPE}`;
  const owner = state.ownership.get(tx.entityType);
  if (owner === undefined) return `entity type ${tx.entityType} has no owner in the ownership map`;
  if (owner !== tx.owner) return `${tx.owner} published a change to ${tx.entityType}, which ${owner} owns`;
  return null;
}

/** Payloads must be in canonical order: by transaction, then by the position of their commitment. */
function checkPayloads(hasher: Hasher, block: Block): { message: string; txIndex?: number } | null {
  let previousTx = -1;
  let previousCommitment = -1;
  for (const payload of block.payloads) {
    const tx = block.transactions[payload.txIndex];
    if (tx === undefined) return { message: `a payload refers to transaction ${payload.txIndex}, which the block does not hold` };
    const commitments = tx.commitments;
    let c = 0;
    while (c < commitments.length && commitments[c]!.audience !== payload.audience) c++;
    const commitment = commitments[c];
    if (commitment === undefined) return { message: `a payload for audience ${payload.audience}, which the transaction has no commitment for`, txIndex: payload.txIndex };
    if (payload.txIndex < previousTx || (payload.txIndex === previousTx && c <= previousCommitment)) return { message: 'payloads are out of canonical order or repeated', txIndex: payload.txIndex };
    previousTx = payload.txIndex;
    previousCommitment = c;
    if (!bytesEqual(payloadCommitment(hasher, payload.salt, payload.data), commitment.commitment)) return { message: `the payload for audience ${payload.audience} does not match its commitment`, txIndex: payload.txIndex };
  }
  return null;
}

type GovernanceResult = { ok: true; state: ChainState } | { ok: false; message: string; txIndex: number };

function applyGovernance(context: ValidityContext, state: ChainState, block: Block, hash: Uint8Array): GovernanceResult {
  let schemaVersion = state.schemaVersion;
  let membership = state.membership;
  let membershipHashNext = state.membershipHash;
  let activations = 0;
  let membershipChanges = 0;
  const schemaTxIndices: number[] = [];
  for (const [i, tx] of block.transactions.entries()) {
    if (tx.operation === 'schema-change') {
      const key = SCHEMA_KEY.exec(tx.key);
      if (key === null) return { ok: false, message: `schema change key "${tx.key}" is not proposal/v<N>, approval/<proposal hash hex> or activation/v<N>`, txIndex: i };
      schemaTxIndices.push(i);
      // Only an activation of the next version raises it, at most one step per block.
      if (key[1] !== undefined && activations === 0 && Number(key[1]) === state.schemaVersion + 1) {
        activations = 1;
        schemaVersion += 1;
      }
    } else if (tx.operation === 'membership-change') {
      if (++membershipChanges > 1) return { ok: false, message: 'more than one membership change in a block', txIndex: i };
      const payload = block.payloads.find((p) => p.txIndex === i && p.audience === PUBLIC_AUDIENCE);
      if (payload === undefined) return { ok: false, message: `a membership change must store its public (${PUBLIC_AUDIENCE}) payload: the new membership`, txIndex: i };
      try {
        membership = decodeMembership(payload.data);
      } catch (error) {
        return { ok: false, message: `the new membership is invalid: ${(error as Error).message}`, txIndex: i };
      }
      membershipHashNext = membershipHash(context.hasher, membership);
    }
  }
  let schemaState = state.schemaState;
  if (context.schemaJudge !== undefined && schemaTxIndices.length > 0) {
    const verdict = context.schemaJudge.judge(state.schemaState, block, schemaTxIndices);
    if (!verdict.ok) return { ok: false, message: verdict.message, txIndex: verdict.txIndex };
    schemaState = verdict.state;
  }
  return {
    ok: true,
    state: {
      chainId: state.chainId, height: block.header.height, headHash: hash, timeMs: block.header.timeMs, membership, membershipHash: membershipHashNext, schemaVersion, ownership: state.ownership, batchHeads: state.batchHeads,
      ...(schemaState === undefined ? {} : { schemaState }),
    },
  };
}
