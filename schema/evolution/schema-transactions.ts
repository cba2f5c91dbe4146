// The payloads of the three schema-evolution ledger transactions, all with operation 'schema-change' and
// entity type '$schema', told apart by their key (which is inside the hashed transaction, so validity can
// read it without the payload):
//   proposal/v<N>         a proposal of version N: the full SDL of every partner file, and the hash of version N-1's files
//   approval/<hash hex>   a partner approves the proposal with that hash; the approver is the transaction's owner
//   activation/v<N>       version N becomes active from the next block; only this one raises the schema version
// The payload travels for the public audience '*': every gateway must compose the same schema.
//
// Layouts (v1), each starting with its domain prefix (tag, 0x00, version byte, as ledger/crypto/domain.ts):
//   proposal   "entente/schema-proposal" | u32 version | 32-byte previous hash | u16 file count |
//              per file, sorted by partner (UTF-8 byte order), partners unique: partner (u16 + UTF-8), source (u32 + UTF-8)
//   approval   "entente/schema-approval" | 32-byte proposal hash | approver (u16 + UTF-8)
//   activation "entente/schema-activation" | u32 version | 32-byte proposal hash
//   content    "entente/schema-content" | u16 file count | files as in a proposal — hashed, never sent:
//              the previous hash a proposal names is schemaContentHash(files of the active version).
import { EntenteError } from '../../common/errors.ts';
import type { Hasher } from '../../ledger/crypto/hasher.ts';
import { ByteReader } from '../../ledger/encoding/byte-reader.ts';
import { ByteWriter } from '../../ledger/encoding/byte-writer.ts';
import { bytesEqual, compareBytes, toHex } from '../../ledger/encoding/hex.ts';
import { commitPayloads, createPayload, PUBLIC_AUDIENCE, SCHEMA_ENTITY_TYPE, type Payload, type Transaction } from '../../ledger/transaction.ts';

export const SCHEMA_FORMAT_VERSION = 1;
export const SCHEMA_HASH_BYTES = 32;
export const schemaFilesMax = 256;
/** One partner file; the whole proposal also stays under the ledger's 16 MiB payload limit. */
export const schemaSourceBytesMax = 1024 * 1024;

export interface SchemaFileText {
  readonly partner: string;
  readonly source: string;
}

export interface SchemaProposal {
  /** The version this proposal would become: the active version + 1. */
  readonly version: number;
  /** schemaContentHash of the active version's files. */
  readonly previousHash: Uint8Array;
  readonly files: readonly SchemaFileText[];
}

export interface SchemaApproval {
  readonly proposalHash: Uint8Array;
  readonly approver: string;
}

export interface SchemaActivation {
  readonly version: number;
  readonly proposalHash: Uint8Array;
}

export type SchemaLedgerBody =
  | { readonly kind: 'proposal'; readonly proposal: SchemaProposal }
  | { readonly kind: 'approval'; readonly approval: SchemaApproval }
  | { readonly kind: 'activation'; readonly activation: SchemaActivation };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const tags = { proposal: 'entente/schema-proposal', approval: 'entente/schema-approval', activation: 'entente/schema-activation', content: 'entente/schema-content' } as const;

function prefix(tag: string): Uint8Array {
  return Uint8Array.from([...encoder.encode(tag), 0, SCHEMA_FORMAT_VERSION]);
}

function expectPrefix(reader: ByteReader, tag: string): void {
  const expected = prefix(tag);
  if (!bytesEqual(reader.fixed(expected.length, 'domain prefix'), expected)) reader.fail(`not a ${tag} v${SCHEMA_FORMAT_VERSION} structure`);
}

function sortedFiles(files: readonly SchemaFileText[]): SchemaFileText[] {
  if (files.length === 0 || files.length > schemaFilesMax) throw new EntenteError('LIMIT_EXCEEDED', `a schema version has 1..${schemaFilesMax} partner files, got ${files.length}`);
  const sorted = files.map((file) => ({ file, bytes: encoder.encode(file.partner) })).sort((a, b) => compareBytes(a.bytes, b.bytes));
  for (let i = 1; i < sorted.length; i++) {
    if (compareBytes(sorted[i - 1]!.bytes, sorted[i]!.bytes) === 0) throw new EntenteError('SCHEMA_INVALID', `partner ${sorted[i]!.file.partner} has two schema files in one version; keep one`);
  }
  return sorted.map((entry) => entry.file);
}

function writeFiles(writer: ByteWriter, files: readonly SchemaFileText[]): void {
  const sorted = sortedFiles(files);
  writer.u16(sorted.length);
  for (const file of sorted) {
    const source = encoder.encode(file.source);
    if (source.length > schemaSourceBytesMax) throw new EntenteError('LIMIT_EXCEEDED', `the schema file of ${file.partner} is ${source.length} bytes; the limit is ${schemaSourceBytesMax}`);
    writer.string(file.partner, 'partner').bytes(source);
  }
}

function readFiles(reader: ByteReader): SchemaFileText[] {
  const count = reader.u16('file count');
  if (count === 0 || count > schemaFilesMax) reader.fail(`${count} files; a version has 1..${schemaFilesMax}`);
  const files: SchemaFileText[] = [];
  let previous: Uint8Array | null = null;
  for (let i = 0; i < count; i++) {
    const partner = reader.string('partner');
    const bytes = encoder.encode(partner);
    if (previous !== null && compareBytes(previous, bytes) >= 0) reader.fail('files are not sorted by partner or repeat one');
    previous = bytes;
    const source = reader.bytesField('source', schemaSourceBytesMax);
    let text: string;
    try {
      text = decoder.decode(source);
    } catch {
      return reader.fail(`the schema file of ${partner} is not valid UTF-8`);
    }
    files.push({ partner, source: text });
  }
  return files;
}

export function encodeSchemaProposal(proposal: SchemaProposal): Uint8Array {
  const writer = new ByteWriter(1024);
  writer.raw(prefix(tags.proposal)).u32(proposal.version).fixed(proposal.previousHash, SCHEMA_HASH_BYTES, 'previous schema hash');
  writeFiles(writer, proposal.files);
  return writer.finish();
}

export function decodeSchemaProposal(bytes: Uint8Array): SchemaProposal {
  const reader = new ByteReader(bytes, 'schema proposal');
  expectPrefix(reader, tags.proposal);
  const version = reader.u32('version');
  const previousHash = reader.fixed(SCHEMA_HASH_BYTES, 'previous schema hash').slice();
  const files = readFiles(reader);
  reader.expectEnd();
  return { version, previousHash, files };
}

export function encodeSchemaApproval(approval: SchemaApproval): Uint8Array {
  return new ByteWriter(96).raw(prefix(tags.approval)).fixed(approval.proposalHash, SCHEMA_HASH_BYTES, 'proposal hash').string(approval.approver, 'approver').finish();
}

export function decodeSchemaApproval(bytes: Uint8Array): SchemaApproval {
  const reader = new ByteReader(bytes, 'schema approval');
  expectPrefix(reader, tags.approval);
  const proposalHash = reader.fixed(SCHEMA_HASH_BYTES, 'proposal hash').slice();
  const approver = reader.string('approver');
  reader.expectEnd();
  return { proposalHash, approver };
}

export function encodeSchemaActivation(activation: SchemaActivation): Uint8Array {
  return new ByteWriter(96).raw(prefix(tags.activation)).u32(activation.version).fixed(activation.proposalHash, SCHEMA_HASH_BYTES, 'proposal hash').finish();
}

export function decodeSchemaActivation(bytes: Uint8Array): SchemaActivation {
  const reader = new ByteReader(bytes, 'schema activation');
  expectPrefix(reader, tags.activation);
  const version = reader.u32('version');
  const proposalHash = reader.fixed(SCHEMA_HASH_BYTES, 'proposal hash').slice();
  reader.expectEnd();
  return { version, proposalHash };
}

/** What approvals and the activation name: SHA-256 of the proposal's canonical encoding. */
export function schemaProposalHash(hasher: Hasher, proposal: SchemaProposal): Uint8Array {
  // A plain Uint8Array whatever the hasher returns (node's is a Buffer), so decoded and computed hashes compare equal.
  return Uint8Array.from(hasher.sha256(encodeSchemaProposal(proposal)));
}

/** The hash of one version's partner files, named by the next proposal as its previous hash. */
export function schemaContentHash(hasher: Hasher, files: readonly SchemaFileText[]): Uint8Array {
  const writer = new ByteWriter(1024).raw(prefix(tags.content));
  writeFiles(writer, files);
  return Uint8Array.from(hasher.sha256(writer.finish()));
}

// ─── Keys and transactions ──────────────────────────────────────────────────────────────────────

export type SchemaKey =
  | { readonly kind: 'proposal'; readonly version: number }
  | { readonly kind: 'approval'; readonly proposalHashHex: string }
  | { readonly kind: 'activation'; readonly version: number };

export function schemaTransactionKey(body: SchemaLedgerBody): string {
  switch (body.kind) {
    case 'proposal': return `proposal/v${body.proposal.version}`;
    case 'approval': return `approval/${toHex(body.approval.proposalHash)}`;
    case 'activation': return `activation/v${body.activation.version}`;
  }
}

/** The key of a '$schema' transaction, or null when it is none of the three forms. */
export function parseSchemaTransactionKey(key: string): SchemaKey | null {
  const versioned = /^(proposal|activation)\/v([1-9][0-9]{0,9})$/.exec(key);
  if (versioned !== null) {
    const version = Number(versioned[2]);
    return version > 0xffffffff ? null : { kind: versioned[1] as 'proposal' | 'activation', version };
  }
  const approval = /^approval\/([0-9a-f]{64})$/.exec(key);
  return approval === null ? null : { kind: 'approval', proposalHashHex: approval[1]! };
}

/**
 * Whether a committed transaction raises the schema version the next block must carry: only an activation
 * does. ledger/validity.ts counts every 'schema-change' today; this is the rule it should apply instead
 * (see schema/README.md, "Schema evolution").
 */
export function raisesSchemaVersion(tx: Pick<Transaction, 'operation' | 'entityType' | 'key'>): boolean {
  return tx.operation === 'schema-change' && tx.entityType === SCHEMA_ENTITY_TYPE && parseSchemaTransactionKey(tx.key)?.kind === 'activation';
}

export function encodeSchemaLedgerBody(body: SchemaLedgerBody): Uint8Array {
  switch (body.kind) {
    case 'proposal': return encodeSchemaProposal(body.proposal);
    case 'approval': return encodeSchemaApproval(body.approval);
    case 'activation': return encodeSchemaActivation(body.activation);
  }
}

export interface SchemaLedgerTransaction {
  readonly transaction: Transaction;
  /** The one public payload, stored beside the chain. */
  readonly payload: Payload;
}

/** A proposal, approval or activation as a ledger transaction published by `publisher` (the batch signer). */
export function schemaLedgerTransaction(hasher: Hasher, body: SchemaLedgerBody, publisher: string, origin: string, salt?: Uint8Array): SchemaLedgerTransaction {
  if (body.kind === 'approval' && body.approval.approver !== publisher) {
    throw new EntenteError('USAGE', `an approval by ${body.approval.approver} must be published by ${body.approval.approver}'s gateway, not ${publisher}'s`);
  }
  const payload = createPayload(PUBLIC_AUDIENCE, encodeSchemaLedgerBody(body), salt);
  const transaction: Transaction = {
    operation: 'schema-change', entityType: SCHEMA_ENTITY_TYPE, key: schemaTransactionKey(body), owner: publisher, origin,
    commitments: commitPayloads(hasher, [payload]),
  };
  return { transaction, payload };
}

/**
 * Reads a committed '$schema' transaction back from its public payload (whose commitment validity has
 * already checked) and checks that the key and the publisher agree with the payload.
 */
export function readSchemaLedgerTransaction(tx: Transaction, payloads: readonly Payload[]): SchemaLedgerBody {
  const bad = (why: string): never => {
    throw new EntenteError('LEDGER_INVALID', `schema transaction "${tx.key}" by ${tx.owner}: ${why}`);
  };
  if (tx.operation !== 'schema-change' || tx.entityType !== SCHEMA_ENTITY_TYPE) bad(`operation ${tx.operation} on ${tx.entityType} is not a schema change`);
  const key = parseSchemaTransactionKey(tx.key);
  if (key === null) return bad('the key is not proposal/v<N>, approval/<hash> or activation/v<N>');
  const payload = payloads.find((candidate) => candidate.audience === PUBLIC_AUDIENCE);
  if (payload === undefined) return bad(`the public (${PUBLIC_AUDIENCE}) payload is missing`);
  let body: SchemaLedgerBody;
  if (key.kind === 'proposal') body = { kind: 'proposal', proposal: decodeSchemaProposal(payload.data) };
  else if (key.kind === 'approval') body = { kind: 'approval', approval: decodeSchemaApproval(payload.data) };
  else body = { kind: 'activation', activation: decodeSchemaActivation(payload.data) };
  if (schemaTransactionKey(body) !== tx.key) bad('the key does not match the payload');
  if (body.kind === 'approval' && body.approval.approver !== tx.owner) bad(`the approval names ${body.approval.approver}, but ${tx.owner} published it`);
  return body;
}
