// Blocks: the header (what the chain hashes), the commit certificate (who vouched for it), the owner-signed
// batches of transactions, and the payloads stored beside them. The header commits to the transactions
// through an RFC 6962 Merkle root whose leaves are transaction ids; each batch of one owner's changes is
// signed once, over the Merkle root of the batch's transaction ids, so the owner's non-repudiation costs
// one signature per batch rather than one per change. Byte layouts are in FORMAT.md.
import { EntenteError } from '../common/errors.ts';
import { domainMessage, domainPrefix } from './crypto/domain.ts';
import { toHex } from './encoding/hex.ts';
import { SHA256_BYTES, type Hasher } from './crypto/hasher.ts';
import { ED25519_SIGNATURE_BYTES, type Signer } from './crypto/signature.ts';
import { ByteReader } from './encoding/byte-reader.ts';
import { ByteWriter } from './encoding/byte-writer.ts';
import { merkleRoot } from './merkle.ts';
import { expectPrefix, MEMBERS_MAX } from './membership.ts';
import { decodeTransaction, encodeTransaction, PAYLOAD_BYTES_MAX, SALT_BYTES, TRANSACTION_BYTES_MAX, transactionId, type Payload, type Transaction } from './transaction.ts';

export const TRANSACTIONS_PER_BLOCK_MAX = 100_000;
export const BATCHES_PER_BLOCK_MAX = 10_000;
export const PAYLOADS_PER_BLOCK_MAX = 1_000_000;
/** 2: each batch seal names the owner's previous batch (see BatchSeal.previous). */
export const BLOCK_RECORD_VERSION = 2;
/** The version byte of the batch message's domain prefix: 2 signs the previous batch's hash with the root. */
export const BATCH_MESSAGE_VERSION = 2;
/** `previous` of an owner's first batch. */
export const NO_PREVIOUS_BATCH: Uint8Array = new Uint8Array(SHA256_BYTES);
/** In the error for a record of an older format (the demo adds how to start over). */
export const WRITTEN_BY_AN_EARLIER_ENTENTE = 'written by an earlier Entente';
const BATCH_SEAL_BYTES = 2 + SHA256_BYTES + ED25519_SIGNATURE_BYTES + 4;

export interface BlockHeader {
  /** 1 for the first block; the genesis is height 0. */
  readonly height: number;
  /** Hash of the previous header, or the genesis hash for height 1. */
  readonly previousHash: Uint8Array;
  /** RFC 6962 root over the transactions in block order (leaf hash = transaction id). */
  readonly txRoot: Uint8Array;
  readonly txCount: number;
  /** Hash of the membership whose quorum certifies this block. */
  readonly membershipHash: Uint8Array;
  readonly schemaVersion: number;
  /** Membership index of the proposer. */
  readonly proposer: number;
  /** Proposer's clock, Unix milliseconds; never decreases along the chain. */
  readonly timeMs: number;
}

export interface CommitSignature {
  readonly signer: number;
  readonly signature: Uint8Array;
}

/**
 * The precommit signatures of the consensus round that decided the block: each over
 * commitVoteMessage(chainId, height, round, blockHash); signers in strictly increasing index order.
 */
export interface CommitCertificate {
  readonly round: number;
  readonly signatures: readonly CommitSignature[];
}

/**
 * One owner's consecutive transactions in a block and its signature over their batch root and the hash of
 * its previous batch: an owner's batches form a hash chain, so the ledger holds them only in the order the
 * owner signed them (validity rule batch-order), whoever proposes the block.
 */
export interface BatchSeal {
  readonly signer: number;
  /** batchHash of the owner's previous batch on the chain; NO_PREVIOUS_BATCH for its first. */
  readonly previous: Uint8Array;
  readonly signature: Uint8Array;
  readonly txCount: number;
}

export interface StoredPayload extends Payload {
  /** Position of the transaction in the block. */
  readonly txIndex: number;
}

/** A block as stored and verified: decoded fields plus the exact bytes that were hashed. */
export interface Block {
  readonly header: BlockHeader;
  readonly headerBytes: Uint8Array;
  readonly certificate: CommitCertificate;
  readonly batches: readonly BatchSeal[];
  readonly transactions: readonly Transaction[];
  readonly transactionBytes: readonly Uint8Array[];
  readonly payloads: readonly StoredPayload[];
}

/**
 * Layout (v1): prefix "entente/block" 0x00 0x01 | u64 height | 32 previous hash | 32 tx root | u32 tx count |
 * 32 membership hash | u32 schema version | u16 proposer | u64 time (Unix ms).
 */
export function encodeBlockHeader(header: BlockHeader): Uint8Array {
  return new ByteWriter(160)
    .raw(domainPrefix('blockHeader'))
    .u64(header.height)
    .fixed(header.previousHash, SHA256_BYTES, 'previous hash')
    .fixed(header.txRoot, SHA256_BYTES, 'transaction root')
    .u32(header.txCount)
    .fixed(header.membershipHash, SHA256_BYTES, 'membership hash')
    .u32(header.schemaVersion)
    .u16(header.proposer)
    .u64(header.timeMs)
    .finish();
}

export function decodeBlockHeader(bytes: Uint8Array): BlockHeader {
  const reader = new ByteReader(bytes, 'block header');
  expectPrefix(reader, domainPrefix('blockHeader'), 'block header');
  const header: BlockHeader = {
    height: reader.u64('height'),
    previousHash: reader.fixed(SHA256_BYTES, 'previous hash'),
    txRoot: reader.fixed(SHA256_BYTES, 'transaction root'),
    txCount: reader.u32('transaction count'),
    membershipHash: reader.fixed(SHA256_BYTES, 'membership hash'),
    schemaVersion: reader.u32('schema version'),
    proposer: reader.u16('proposer'),
    timeMs: reader.u64('time'),
  };
  reader.expectEnd();
  return header;
}

/** The block hash: SHA-256 of the header encoding (which starts with its domain prefix). */
export function blockHash(hasher: Hasher, headerBytes: Uint8Array): Uint8Array {
  return hasher.sha256(headerBytes);
}

/**
 * What each node signs to certify a committed block: byte for byte the consensus precommit for it
 * (ledger/transport/consensus-signing.ts), so the round's precommits are the certificate:
 * "entente/commit" 0x00 0x01 | chain id (u16 + UTF-8) | u64 height | u32 round | u8 1 | 32-byte block hash.
 */
export function commitVoteMessage(chainId: string, height: number, round: number, blockHashBytes: Uint8Array): Uint8Array {
  return new ByteWriter(96).raw(domainPrefix('commitVote')).string(chainId, 'chain id').u64(height).u32(round).u8(1).fixed(blockHashBytes, SHA256_BYTES, 'block hash').finish();
}

/** The chain id consensus signs with: the genesis hash in lowercase hex. */
export function chainIdOf(genesisHashBytes: Uint8Array): string {
  return toHex(genesisHashBytes);
}

/**
 * What an owner signs for a batch: "entente/batch" 0x00 0x02 | 32-byte hash of its previous batch | the
 * RFC 6962 root over the batch's transaction ids.
 */
export function batchSignatureMessage(previous: Uint8Array, batchRootBytes: Uint8Array): Uint8Array {
  if (previous.length !== SHA256_BYTES || batchRootBytes.length !== SHA256_BYTES) throw new RangeError('a batch message takes a 32-byte previous batch hash and a 32-byte root');
  return domainMessage('batchRoot', [previous, batchRootBytes], BATCH_MESSAGE_VERSION);
}

/** A batch's hash, which the owner's next batch names as `previous`: SHA-256 of its signed message. */
export function batchHash(hasher: Hasher, message: Uint8Array): Uint8Array {
  return hasher.sha256(message);
}

export function transactionLeafHashes(hasher: Hasher, transactionBytes: readonly Uint8Array[]): Uint8Array[] {
  return transactionBytes.map((bytes) => transactionId(hasher, bytes));
}

export interface SignedBatch {
  readonly seal: BatchSeal;
  /** batchHash of this batch: the next batch of its owner names it. */
  readonly hash: Uint8Array;
  /** The bytes the seal's signature covers (batchSignatureMessage), so the signer can vouch for its own seal. */
  readonly signedMessage: Uint8Array;
  readonly transactions: readonly Transaction[];
  readonly transactionBytes: readonly Uint8Array[];
  readonly payloads: readonly (readonly Payload[])[];
}

/** Encodes and signs one owner's batch (the owner's gateway does this before proposing). */
export function signBatch(hasher: Hasher, signer: Signer, signerIndex: number, transactions: readonly Transaction[], payloads: readonly (readonly Payload[])[] = [], previous: Uint8Array = NO_PREVIOUS_BATCH): SignedBatch {
  if (transactions.length === 0) throw new EntenteError('LEDGER_INVALID', 'a batch needs at least one transaction');
  const transactionBytes = transactions.map(encodeTransaction);
  const root = merkleRoot(hasher, transactionLeafHashes(hasher, transactionBytes));
  const message = batchSignatureMessage(previous, root);
  const signature = signer.sign(message);
  return { seal: { signer: signerIndex, previous, signature, txCount: transactions.length }, hash: batchHash(hasher, message), signedMessage: message, transactions, transactionBytes, payloads };
}

export interface UncertifiedBlock extends Omit<Block, 'certificate'> {
  readonly hash: Uint8Array;
}

export interface BlockProposal {
  readonly height: number;
  readonly previousHash: Uint8Array;
  readonly membershipHash: Uint8Array;
  readonly schemaVersion: number;
  readonly proposer: number;
  readonly timeMs: number;
  readonly batches: readonly Omit<SignedBatch, 'hash' | 'signedMessage'>[];
}

/** Builds the header over the given batches; the result still needs a commit certificate. */
export function assembleBlock(hasher: Hasher, proposal: BlockProposal): UncertifiedBlock {
  const transactions = proposal.batches.flatMap((b) => b.transactions);
  const transactionBytes = proposal.batches.flatMap((b) => b.transactionBytes);
  if (transactions.length > TRANSACTIONS_PER_BLOCK_MAX) throw new EntenteError('LIMIT_EXCEEDED', `a block of ${transactions.length} transactions exceeds ${TRANSACTIONS_PER_BLOCK_MAX}`);
  const payloads: StoredPayload[] = [];
  let txIndex = 0;
  for (const batch of proposal.batches) {
    for (let i = 0; i < batch.transactions.length; i++, txIndex++) {
      const tx = batch.transactions[i]!;
      const ordered = [...(batch.payloads[i] ?? [])].sort((a, b) => tx.commitments.findIndex((c) => c.audience === a.audience) - tx.commitments.findIndex((c) => c.audience === b.audience));
      for (const payload of ordered) payloads.push({ ...payload, txIndex });
    }
  }
  const header: BlockHeader = {
    height: proposal.height,
    previousHash: proposal.previousHash,
    txRoot: merkleRoot(hasher, transactionLeafHashes(hasher, transactionBytes)),
    txCount: transactions.length,
    membershipHash: proposal.membershipHash,
    schemaVersion: proposal.schemaVersion,
    proposer: proposal.proposer,
    timeMs: proposal.timeMs,
  };
  const headerBytes = encodeBlockHeader(header);
  return { header, headerBytes, hash: blockHash(hasher, headerBytes), batches: proposal.batches.map((b) => b.seal), transactions, transactionBytes, payloads };
}

/** Signs the commit vote (precommit) for a block with one node's key. */
export function signCommit(signer: Signer, signerIndex: number, chainId: string, height: number, round: number, blockHashBytes: Uint8Array): CommitSignature {
  return { signer: signerIndex, signature: signer.sign(commitVoteMessage(chainId, height, round, blockHashBytes)) };
}

/** Orders signatures by signer, as the encoding requires. */
export function certificateOf(round: number, signatures: readonly CommitSignature[]): CommitCertificate {
  return { round, signatures: [...signatures].sort((a, b) => a.signer - b.signer) };
}

export function certifyBlock(block: UncertifiedBlock, certificate: CommitCertificate): Block {
  const { hash: _hash, ...rest } = block;
  return { ...rest, certificate };
}

/**
 * Block record (v2), the unit the store writes and peers exchange: u8 version | u32 header length + header |
 * certificate: u32 round, u16 count, per signature u16 signer + 64 bytes | u32 batch count, per batch u16 signer +
 * 32-byte previous batch hash + 64-byte signature + u32 tx count | u32 tx count, per tx u32 length + bytes | u32 payload count, per payload
 * u32 tx index + audience (u16 + UTF-8) + 32-byte salt + u32 length + data.
 */
export function encodeBlock(block: Block): Uint8Array {
  // Sized exactly (for ASCII audiences, the usual case), so the writer hands over its buffer instead of
  // copying a record of many megabytes; a non-ASCII audience just makes the writer grow.
  let size = 23 + block.headerBytes.length + block.certificate.signatures.length * 66 + block.batches.length * BATCH_SEAL_BYTES;
  for (const bytes of block.transactionBytes) size += 4 + bytes.length;
  for (const payload of block.payloads) size += 42 + payload.audience.length + payload.data.length;
  const writer = new ByteWriter(size);
  writer.u8(BLOCK_RECORD_VERSION).bytes(block.headerBytes);
  writer.u32(block.certificate.round).u16(block.certificate.signatures.length);
  for (const s of block.certificate.signatures) writer.u16(s.signer).fixed(s.signature, ED25519_SIGNATURE_BYTES, 'commit signature');
  writer.u32(block.batches.length);
  for (const b of block.batches) writer.u16(b.signer).fixed(b.previous, SHA256_BYTES, 'previous batch hash').fixed(b.signature, ED25519_SIGNATURE_BYTES, 'batch signature').u32(b.txCount);
  writer.u32(block.transactionBytes.length);
  for (const bytes of block.transactionBytes) writer.bytes(bytes);
  writer.u32(block.payloads.length);
  for (const p of block.payloads) writer.u32(p.txIndex).string(p.audience, 'audience').fixed(p.salt, SALT_BYTES, 'salt').bytes(p.data);
  return writer.finish();
}

/** Decodes a block record. Structure only: ./validity.ts decides whether the block is valid. */
export function decodeBlock(bytes: Uint8Array): Block {
  const reader = new ByteReader(bytes, 'block record');
  const version = reader.u8('record version');
  if (version < BLOCK_RECORD_VERSION) reader.fail(`block record version ${version} was ${WRITTEN_BY_AN_EARLIER_ENTENTE}, whose batches did not name the owner's previous batch; this build reads version ${BLOCK_RECORD_VERSION}: start the network again from fresh data directories (no release wrote version ${version})`);
  if (version !== BLOCK_RECORD_VERSION) reader.fail(`block record version ${version} is not supported (this build reads ${BLOCK_RECORD_VERSION}); upgrade Entente`);
  const headerBytes = reader.bytesField('header', 1024);
  const header = decodeBlockHeader(headerBytes);
  const round = reader.u32('certificate round');
  const signatureCount = reader.u16('signature count');
  if (signatureCount > MEMBERS_MAX) reader.fail(`${signatureCount} signatures; at most ${MEMBERS_MAX}`);
  const signatures: CommitSignature[] = [];
  for (let i = 0; i < signatureCount; i++) signatures.push({ signer: reader.u16('signer'), signature: reader.fixed(ED25519_SIGNATURE_BYTES, 'commit signature') });
  const batchCount = reader.u32('batch count');
  if (batchCount > BATCHES_PER_BLOCK_MAX) reader.fail(`${batchCount} batches; at most ${BATCHES_PER_BLOCK_MAX}`);
  const batches: BatchSeal[] = [];
  for (let i = 0; i < batchCount; i++) batches.push({ signer: reader.u16('batch signer'), previous: reader.fixed(SHA256_BYTES, 'previous batch hash'), signature: reader.fixed(ED25519_SIGNATURE_BYTES, 'batch signature'), txCount: reader.u32('batch tx count') });
  const txCount = reader.u32('transaction count');
  if (txCount > TRANSACTIONS_PER_BLOCK_MAX) reader.fail(`${txCount} transactions; at most ${TRANSACTIONS_PER_BLOCK_MAX}`);
  const transactionBytes: Uint8Array[] = [];
  const transactions: Transaction[] = [];
  for (let i = 0; i < txCount; i++) {
    const txBytes = reader.bytesField('transaction', TRANSACTION_BYTES_MAX);
    transactionBytes.push(txBytes);
    transactions.push(decodeTransaction(txBytes));
  }
  const payloadCount = reader.u32('payload count');
  if (payloadCount > PAYLOADS_PER_BLOCK_MAX) reader.fail(`${payloadCount} payloads; at most ${PAYLOADS_PER_BLOCK_MAX}`);
  const payloads: StoredPayload[] = [];
  for (let i = 0; i < payloadCount; i++) {
    payloads.push({ txIndex: reader.u32('payload tx index'), audience: reader.string('audience'), salt: reader.fixed(SALT_BYTES, 'salt'), data: reader.bytesField('payload', PAYLOAD_BYTES_MAX) });
  }
  reader.expectEnd();
  return { header, headerBytes, certificate: { round, signatures }, batches, transactions, transactionBytes, payloads };
}
