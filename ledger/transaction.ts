// A ledger transaction: one change to one entity, published by the partner that owns the entity type.
// The hashed transaction never holds the data itself, only per-audience payload commitments
// SHA-256("entente/payload" 0x00 0x01 || salt || payload); the payloads travel and are stored beside the
// chain, so a partner outside an audience still verifies the whole chain (as Fabric's private data
// collections do), and the 32-byte random salt keeps a guessable payload from being confirmed by
// brute force. The transaction id is the RFC 6962 leaf hash of the canonical encoding,
// SHA-256(0x00 || encoding), so the id is directly the leaf of the block's Merkle tree (layout in FORMAT.md).
import { EntenteError } from '../common/errors.ts';
import { domainPrefix } from './crypto/domain.ts';
import { hashInDomain, SHA256_BYTES, type Hasher } from './crypto/hasher.ts';
import { ByteReader } from './encoding/byte-reader.ts';
import { ByteWriter } from './encoding/byte-writer.ts';
import { compareBytes } from './encoding/hex.ts';
import { expectPrefix } from './membership.ts';

export const OPERATIONS = ['create', 'update', 'delete', 'schema-change', 'membership-change'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Wire codes; 0 is never used so a zeroed buffer is never a valid operation. */
const OPERATION_CODES: Readonly<Record<Operation, number>> = { create: 1, update: 2, delete: 3, 'schema-change': 4, 'membership-change': 5 };

/** The audience every partner belongs to. Membership changes must carry their payload for it. */
export const PUBLIC_AUDIENCE = '*';
/** Reserved entity types of the two governance operations; data entity types may not start with '$'. */
export const SCHEMA_ENTITY_TYPE = '$schema';
export const MEMBERSHIP_ENTITY_TYPE = '$membership';

export const COMMITMENTS_PER_TRANSACTION_MAX = 64;
export const TRANSACTION_BYTES_MAX = 1024 * 1024;
export const PAYLOAD_BYTES_MAX = 16 * 1024 * 1024;
export const SALT_BYTES = 32;

export interface PayloadCommitment {
  readonly audience: string;
  readonly commitment: Uint8Array;
}

export interface Transaction {
  readonly operation: Operation;
  readonly entityType: string;
  /** The entity's key in the canonical text form the gateway chose for the type. */
  readonly key: string;
  /** The partner publishing the change; must own `entityType` (see ./validity.ts). */
  readonly owner: string;
  /** Where the change came from: a capture position or a mutation id. */
  readonly origin: string;
  /** Sorted by audience (byte order), audiences unique. */
  readonly commitments: readonly PayloadCommitment[];
}

/** A payload as stored beside the chain: the salted preimage of one commitment. */
export interface Payload {
  readonly audience: string;
  readonly salt: Uint8Array;
  readonly data: Uint8Array;
}

const encoder = new TextEncoder();

/**
 * Layout (v1): prefix "entente/tx" 0x00 0x01 | u8 operation | entityType | key | owner | origin (each u16
 * length + UTF-8) | u16 commitment count | per commitment: audience (u16 + UTF-8), 32-byte commitment.
 */
export function encodeTransaction(tx: Transaction): Uint8Array {
  const commitments = sortedCommitments(tx.commitments);
  const writer = new ByteWriter(64 + tx.entityType.length + tx.key.length + tx.origin.length + commitments.length * 48);
  writer.raw(domainPrefix('transaction')).u8(OPERATION_CODES[tx.operation]);
  writer.string(tx.entityType, 'entity type').string(tx.key, 'key').string(tx.owner, 'owner').string(tx.origin, 'origin');
  writer.u16(commitments.length);
  for (const c of commitments) writer.string(c.audience, 'audience').fixed(c.commitment, SHA256_BYTES, 'payload commitment');
  const bytes = writer.finish();
  if (bytes.length > TRANSACTION_BYTES_MAX) throw new EntenteError('LIMIT_EXCEEDED', `a transaction encodes to ${bytes.length} bytes; the limit is ${TRANSACTION_BYTES_MAX}`);
  return bytes;
}

export function decodeTransaction(bytes: Uint8Array): Transaction {
  const reader = new ByteReader(bytes, 'transaction');
  expectPrefix(reader, domainPrefix('transaction'), 'transaction');
  const code = reader.u8('operation');
  const operation = OPERATIONS[code - 1];
  if (operation === undefined) return reader.fail(`unknown operation code ${code}`);
  const entityType = reader.string('entity type');
  const key = reader.string('key');
  const owner = reader.string('owner');
  const origin = reader.string('origin');
  const count = reader.u16('commitment count');
  if (count > COMMITMENTS_PER_TRANSACTION_MAX) reader.fail(`${count} commitments; at most ${COMMITMENTS_PER_TRANSACTION_MAX}`);
  const commitments: PayloadCommitment[] = [];
  let previous: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const start = reader.offset + 2;
    const audience = reader.string('audience');
    if (count > 1) {
      // Compare the raw UTF-8 bytes as stored (byte order is the canonical order).
      const audienceBytes = bytes.subarray(start, reader.offset);
      if (previous !== null && compareBytes(previous, audienceBytes) >= 0) reader.fail('commitments are not sorted by audience or repeat one');
      previous = audienceBytes;
    }
    commitments.push({ audience, commitment: reader.fixed(SHA256_BYTES, 'payload commitment') });
  }
  reader.expectEnd();
  return { operation, entityType, key, owner, origin, commitments };
}

/**
 * The transaction id: the RFC 6962 leaf hash of its canonical encoding, SHA-256(0x00 || encoding). The
 * leaf prefix 0x00 separates it from Merkle nodes; the encoding's own domain prefix follows.
 */
export function transactionId(hasher: Hasher, encodedTransaction: Uint8Array): Uint8Array {
  return hasher.merkleLeaf(encodedTransaction);
}

export function payloadCommitment(hasher: Hasher, salt: Uint8Array, data: Uint8Array): Uint8Array {
  return hashInDomain(hasher, 'payloadCommitment', [salt, data]);
}

/** A payload with a fresh random salt (Web Crypto, so this also works in a browser). */
export function createPayload(audience: string, data: Uint8Array, salt?: Uint8Array): Payload {
  if (data.length > PAYLOAD_BYTES_MAX) throw new EntenteError('LIMIT_EXCEEDED', `a payload of ${data.length} bytes exceeds the ${PAYLOAD_BYTES_MAX}-byte limit; split the change`);
  const saltBytes = salt ?? globalThis.crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  if (saltBytes.length !== SALT_BYTES) throw new RangeError(`a salt is ${SALT_BYTES} bytes`);
  return { audience, salt: saltBytes, data };
}

export function commitPayloads(hasher: Hasher, payloads: readonly Payload[]): PayloadCommitment[] {
  return sortedCommitments(payloads.map((p) => ({ audience: p.audience, commitment: payloadCommitment(hasher, p.salt, p.data) })));
}

function sortedCommitments(commitments: readonly PayloadCommitment[]): PayloadCommitment[] {
  if (commitments.length > COMMITMENTS_PER_TRANSACTION_MAX) throw new EntenteError('LIMIT_EXCEEDED', `${commitments.length} audiences; at most ${COMMITMENTS_PER_TRANSACTION_MAX} per transaction`);
  const sorted = commitments
    .map((c) => ({ c, bytes: encoder.encode(c.audience) }))
    .sort((a, b) => compareBytes(a.bytes, b.bytes));
  for (let i = 1; i < sorted.length; i++) {
    if (compareBytes(sorted[i - 1]!.bytes, sorted[i]!.bytes) === 0) throw new EntenteError('LEDGER_INVALID', `audience ${sorted[i]!.c.audience} has two payload commitments; give each audience one payload`);
  }
  return sorted.map((s) => s.c);
}
