// The raw cost of the work one block demands, executed rather than modelled, so `bench:ledger` can put
// it side by side with the ledger doing the same work under the same machine load: every SHA-256 the
// format requires (a leaf hash per transaction, a commitment per stored payload, the interior nodes of
// the block's Merkle tree and of each batch's tree, the header) through node:crypto with nothing else
// around it, every Ed25519 verification (certificate and batch signatures), and — for appends — writing
// as many bytes as the block's record and one fdatasync. Inputs are prepared before the clock starts.
import type { FileHandle } from 'node:fs/promises';
import { batchSignatureMessage, commitVoteMessage, type Block } from '../../ledger/block.ts';
import { domainPrefix } from '../../ledger/crypto/domain.ts';
import { ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import type { Membership } from '../../ledger/membership.ts';
import { merkleRoot } from '../../ledger/merkle.ts';
import { transactionId } from '../../ledger/transaction.ts';

export interface RawBlockWork {
  readonly transactionBytes: readonly Uint8Array[];
  readonly payloadParts: readonly (readonly Uint8Array[])[];
  /** Interior Merkle nodes: (n - 1) for the block's tree plus (size - 1) per batch tree. */
  readonly merkleNodes: number;
  readonly headerBytes: Uint8Array;
  readonly signatures: readonly { readonly publicKey: Uint8Array; readonly message: Uint8Array; readonly signature: Uint8Array }[];
  /** Bytes of the block's framed record (what the store writes). */
  readonly recordBytes: number;
}

export function rawBlockWork(block: Block, membership: Membership, chainId: string, recordBytes: number): RawBlockWork {
  const prefix = domainPrefix('payloadCommitment');
  const leaves = block.transactionBytes.map((tx) => transactionId(nodeHasher, tx));
  const hash = nodeHasher.sha256(block.headerBytes);
  const commit = commitVoteMessage(chainId, block.header.height, block.certificate.round, hash);
  const signatures = block.certificate.signatures.map((s) => ({ publicKey: membership.nodes[s.signer]!.publicKey, message: commit, signature: s.signature }));
  let start = 0;
  let merkleNodes = Math.max(0, leaves.length - 1);
  for (const batch of block.batches) {
    const root = merkleRoot(nodeHasher, leaves.slice(start, start + batch.txCount));
    signatures.push({ publicKey: membership.nodes[batch.signer]!.publicKey, message: batchSignatureMessage(batch.previous, root), signature: batch.signature });
    merkleNodes += batch.txCount - 1;
    start += batch.txCount;
  }
  return { transactionBytes: block.transactionBytes, payloadParts: block.payloads.map((p) => [prefix, p.salt, p.data]), merkleNodes, headerBytes: block.headerBytes, signatures, recordBytes };
}

const NODE_INPUT = new Uint8Array(32).fill(5);

/** Every hash and signature check of the block, straight through node:crypto. Returns how many signatures failed (0). */
export function doRawHashingAndSignatures(work: RawBlockWork): number {
  for (const tx of work.transactionBytes) nodeHasher.merkleLeaf(tx);
  for (const parts of work.payloadParts) nodeHasher.sha256Parts(parts);
  for (let i = 0; i < work.merkleNodes; i++) nodeHasher.merkleNode(NODE_INPUT, NODE_INPUT);
  nodeHasher.sha256(work.headerBytes);
  let failed = 0;
  for (const s of work.signatures) if (!ed25519Verifier.verify(s.publicKey, s.message, s.signature)) failed++;
  return failed;
}

/** Appends `bytes` bytes of a reused buffer to a scratch file and fdatasyncs it: the raw cost of storing a record durably. */
export class RawDurableWriter {
  private readonly file: FileHandle;
  private buffer = new Uint8Array(0);
  private position = 0;

  constructor(file: FileHandle) {
    this.file = file;
  }

  async write(bytes: number): Promise<void> {
    if (this.buffer.length < bytes) this.buffer = new Uint8Array(bytes).fill(0x5a);
    let written = 0;
    while (written < bytes) written += (await this.file.write(this.buffer, written, bytes - written, this.position + written)).bytesWritten;
    this.position += bytes;
    await this.file.datasync();
  }
}
