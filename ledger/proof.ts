// Self-contained transaction proofs, checkable offline (and in a browser: checking is pure and takes the
// hasher and verifier as parameters). A proof carries the transaction's bytes, the audit path into its
// owner's signed batch root and that signature, the audit path into the block's transaction root, the
// block header, the commit certificate and the certifying membership. Checking answers: "the partner
// `owner` signed this exact change, and a quorum of this membership committed it at height h". What it
// cannot answer alone is whether that membership is the network you trust: compare the printed
// membership hash (or genesis hash) with yours. JSON uses lowercase hex for bytes.
import { EntenteError } from '../common/errors.ts';
import { batchSignatureMessage, blockHash, commitVoteMessage, decodeBlockHeader, transactionLeafHashes, type Block } from './block.ts';
import type { Hasher } from './crypto/hasher.ts';
import type { SignatureVerifier } from './crypto/signature.ts';
import { bytesEqual, toHex, tryFromHex } from './encoding/hex.ts';
import { decodeMembership, encodeMembership, membershipHash, quorumSize, type Membership } from './membership.ts';
import { inclusionProof, rootFromInclusionProof, verifyInclusion } from './merkle.ts';
import { decodeTransaction, transactionId, type Transaction } from './transaction.ts';

/** 2: the batch signature covers the owner's previous batch hash too (`batch.previous`). */
export const PROOF_FORMAT = 'entente-proof/2';

export interface TransactionProofJson {
  readonly format: string;
  readonly network: string;
  readonly genesisHash: string;
  readonly transaction: {
    readonly id: string;
    readonly bytes: string;
    /** Informational copy of the decoded bytes; the check decodes `bytes` itself. */
    readonly decoded: { readonly operation: string; readonly entityType: string; readonly key: string; readonly owner: string; readonly origin: string; readonly audiences: readonly string[] };
  };
  readonly batch: { readonly signer: number; readonly previous: string; readonly signature: string; readonly size: number; readonly index: number; readonly path: readonly string[] };
  readonly block: { readonly height: number; readonly hash: string; readonly header: string; readonly index: number; readonly path: readonly string[] };
  /** The commit certificate: precommits of `round`; the chain id they sign is `genesisHash`. */
  readonly certificate: { readonly round: number; readonly signatures: readonly { readonly signer: number; readonly signature: string }[] };
  readonly membership: string;
}

export interface ProofSubject {
  readonly network: string;
  readonly genesisHash: Uint8Array;
  /** The membership that certified the block (the one its header names). */
  readonly membership: Membership;
  readonly block: Block;
  readonly txIndex: number;
}

export function buildTransactionProof(hasher: Hasher, subject: ProofSubject): TransactionProofJson {
  const { block, txIndex } = subject;
  const txBytes = block.transactionBytes[txIndex];
  if (txBytes === undefined) throw new RangeError(`block ${block.header.height} has no transaction ${txIndex}`);
  const leaves = transactionLeafHashes(hasher, block.transactionBytes);
  let start = 0;
  let batch = block.batches[0];
  for (const candidate of block.batches) {
    batch = candidate;
    if (txIndex < start + candidate.txCount) break;
    start += candidate.txCount;
  }
  if (batch === undefined) throw new RangeError('the transaction belongs to no batch');
  const tx: Transaction = block.transactions[txIndex]!;
  return {
    format: PROOF_FORMAT,
    network: subject.network,
    genesisHash: toHex(subject.genesisHash),
    transaction: {
      id: toHex(transactionId(hasher, txBytes)),
      bytes: toHex(txBytes),
      decoded: { operation: tx.operation, entityType: tx.entityType, key: tx.key, owner: tx.owner, origin: tx.origin, audiences: tx.commitments.map((c) => c.audience) },
    },
    batch: { signer: batch.signer, previous: toHex(batch.previous), signature: toHex(batch.signature), size: batch.txCount, index: txIndex - start, path: inclusionProof(hasher, leaves.slice(start, start + batch.txCount), txIndex - start).map(toHex) },
    block: { height: block.header.height, hash: toHex(blockHash(hasher, block.headerBytes)), header: toHex(block.headerBytes), index: txIndex, path: inclusionProof(hasher, leaves, txIndex).map(toHex) },
    certificate: { round: block.certificate.round, signatures: block.certificate.signatures.map((s) => ({ signer: s.signer, signature: toHex(s.signature) })) },
    membership: toHex(encodeMembership(subject.membership)),
  };
}

export interface ProofVerdict {
  readonly txId: string;
  readonly height: number;
  readonly blockHash: string;
  readonly owner: string;
  readonly entityType: string;
  readonly key: string;
  readonly operation: string;
  readonly network: string;
  readonly genesisHash: string;
  readonly membershipHash: string;
  readonly signers: readonly string[];
}

/** Checks a proof offline; throws PROOF_INVALID naming the failed step. */
export function checkTransactionProof(hasher: Hasher, verifier: SignatureVerifier, proof: unknown): ProofVerdict {
  const p = shape(proof);
  const bad = (why: string): never => {
    throw new EntenteError('PROOF_INVALID', `the proof does not hold: ${why}`);
  };
  const txBytes = hex(p.transaction.bytes, 'transaction.bytes');
  const txId = transactionId(hasher, txBytes);
  if (toHex(txId) !== p.transaction.id.toLowerCase()) bad('transaction.id is not the SHA-256 of transaction.bytes');
  let tx: Transaction;
  let membership: Membership;
  try {
    tx = decodeTransaction(txBytes);
    membership = decodeMembership(hex(p.membership, 'membership'));
  } catch (error) {
    return bad((error as Error).message);
  }
  const headerBytes = hex(p.block.header, 'block.header');
  let header;
  try {
    header = decodeBlockHeader(headerBytes);
  } catch (error) {
    return bad((error as Error).message);
  }
  const hash = blockHash(hasher, headerBytes);
  if (toHex(hash) !== p.block.hash.toLowerCase()) bad('block.hash is not the SHA-256 of block.header');
  if (header.height !== p.block.height) bad(`block.height ${p.block.height} differs from the header's ${header.height}`);
  const membershipHashBytes = membershipHash(hasher, membership);
  if (!bytesEqual(membershipHashBytes, header.membershipHash)) bad('the membership is not the one the block header names');
  const leaf = txId; // the id is the RFC 6962 leaf hash
  const inBlock = verifyInclusion(hasher, p.block.index, header.txCount, leaf, p.block.path.map((h, i) => hex(h, `block.path[${i}]`)), header.txRoot);
  if (!inBlock.ok) bad(`the transaction is not in the block's transaction root (${inBlock.reason})`);
  const signers = checkCertificate(verifier, membership, commitVoteMessage(p.genesisHash.toLowerCase(), header.height, p.certificate.round, hash), p.certificate.signatures, bad);
  const batchRoot = rootFromInclusionProof(hasher, p.batch.index, p.batch.size, leaf, p.batch.path.map((h, i) => hex(h, `batch.path[${i}]`)));
  if (!batchRoot.ok) return bad(`bad batch path (${batchRoot.reason})`);
  const owner = membership.nodes[p.batch.signer];
  if (owner === undefined) return bad(`batch signer ${p.batch.signer} is not a member`);
  if (owner.partner !== tx.owner) bad(`the batch is signed by ${owner.partner} but the transaction names owner ${tx.owner}`);
  const previous = hex(p.batch.previous, 'batch.previous');
  if (previous.length !== 32) return bad('batch.previous is not a 32-byte hash');
  if (!verifier.verify(owner.publicKey, batchSignatureMessage(previous, batchRoot.root), hex(p.batch.signature, 'batch.signature'))) bad(`the batch signature of ${owner.partner} does not verify`);
  return {
    txId: toHex(txId),
    height: header.height,
    blockHash: toHex(hash),
    owner: tx.owner,
    entityType: tx.entityType,
    key: tx.key,
    operation: tx.operation,
    network: p.network,
    genesisHash: p.genesisHash,
    membershipHash: toHex(membershipHashBytes),
    signers,
  };
}

function checkCertificate(verifier: SignatureVerifier, membership: Membership, message: Uint8Array, certificate: TransactionProofJson['certificate']['signatures'], bad: (why: string) => never): string[] {
  const signers: string[] = [];
  let previous = -1;
  for (const s of certificate) {
    const node = membership.nodes[s.signer];
    if (node === undefined || s.signer <= previous) bad(`certificate signer ${s.signer} is not a member or is out of order`);
    previous = s.signer;
    if (!verifier.verify(node!.publicKey, message, hex(s.signature, 'certificate signature'))) bad(`the commit signature of ${node!.partner} does not verify`);
    signers.push(node!.partner);
  }
  const quorum = quorumSize(membership.nodes.length);
  if (signers.length < quorum) bad(`${signers.length} commit signatures; a quorum of ${membership.nodes.length} is ${quorum}`);
  return signers;
}

function hex(value: string, field: string): Uint8Array {
  const bytes = tryFromHex(value);
  if (bytes === null) throw new EntenteError('PROOF_INVALID', `the proof's ${field} is not hex`);
  return bytes;
}

function shape(value: unknown): TransactionProofJson {
  const p = value as Partial<TransactionProofJson> | null;
  const ok =
    typeof p === 'object' && p !== null && p.format === PROOF_FORMAT &&
    typeof p.network === 'string' && typeof p.genesisHash === 'string' && typeof p.membership === 'string' &&
    typeof p.transaction?.bytes === 'string' && typeof p.transaction.id === 'string' &&
    typeof p.batch?.signature === 'string' && typeof p.batch.previous === 'string' && Number.isSafeInteger(p.batch.signer) && Number.isSafeInteger(p.batch.size) && Number.isSafeInteger(p.batch.index) && isStringArray(p.batch.path) &&
    typeof p.block?.header === 'string' && typeof p.block.hash === 'string' && Number.isSafeInteger(p.block.height) && Number.isSafeInteger(p.block.index) && isStringArray(p.block.path) &&
    typeof p.certificate === 'object' && p.certificate !== null && Number.isSafeInteger(p.certificate.round) && Array.isArray(p.certificate.signatures) &&
    p.certificate.signatures.length <= 1024 && p.certificate.signatures.every((s) => typeof s?.signature === 'string' && Number.isSafeInteger(s.signer));
  if (!ok) throw new EntenteError('PROOF_INVALID', `not an ${PROOF_FORMAT} proof (missing or mistyped fields); produce one with \`entente proof <txId> --data <dir>\``);
  return p as TransactionProofJson;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= 64 && value.every((v) => typeof v === 'string');
}
