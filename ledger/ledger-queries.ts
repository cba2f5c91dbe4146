// Read-side operations over a stored ledger that need more than one block: a transaction's proof (which
// needs the membership in force at its height) and consistency proofs over the log of block hashes (a
// partner proves the history it saw at height m is a prefix of today's: RFC 6962 §2.1.2 with block
// hashes as leaves).
import { join } from 'node:path';
import { EntenteError } from '../common/errors.ts';
import { blockHash } from './block.ts';
import type { Hasher } from './crypto/hasher.ts';
import { nodeHasher } from './crypto/sha256-node.ts';
import { bytesEqual, toHex, tryFromHex } from './encoding/hex.ts';
import { GENESIS_FILE, genesisHash, readGenesisFile } from './genesis.ts';
import { resolveLedgerDirectory } from './ledger-directory.ts';
import { decodeMembership, type Membership } from './membership.ts';
import { consistencyProof, merkleRoot } from './merkle.ts';
import { buildTransactionProof, type TransactionProofJson } from './proof.ts';
import type { BlockStore } from './store/block-store.ts';
import { readCheckpointFile } from './store/chain-checkpoint.ts';
import { locateInRuns, TRANSACTION_INDEX_DIRECTORY } from './store/committed-transaction-index.ts';
import { SegmentBlockStore } from './store/segment-store.ts';
import { PUBLIC_AUDIENCE, transactionId } from './transaction.ts';

/**
 * Opens the ledger under `dataDirectory` read-only, proves `txIdHex`, closes it. Safe beside the running
 * node, and bounded at any chain length: the transaction is looked up in the node's index runs and only
 * the blocks above them are scanned; the membership comes from the node's chain checkpoint when it fits
 * the stored chain, and only the blocks after it are read for membership changes.
 */
export async function proveTransaction(dataDirectory: string, txIdHex: string, hasher: Hasher = nodeHasher): Promise<TransactionProofJson> {
  const txId = tryFromHex(txIdHex);
  if (txId === null || txId.length !== 32) throw new EntenteError('USAGE', `"${txIdHex}" is not a transaction id (64 hex digits)`);
  const directory = resolveLedgerDirectory(dataDirectory);
  const genesis = await readGenesisFile(join(directory, GENESIS_FILE));
  const store = await SegmentBlockStore.open(directory, { readOnly: true, hasher });
  try {
    const location = await locateStoredTransaction(store, directory, txId, hasher);
    if (location === null) throw new EntenteError('DB_NOT_FOUND', `transaction ${txIdHex} is not in the ledger at ${directory} (head ${store.head().height}); check the id, or wait until the node has synced it`);
    const block = (await store.readBlock(location.height))!;
    const membership = await membershipAt(store, genesis.membership, location.height, readMembershipCheckpoint(store, directory, hasher));
    return buildTransactionProof(hasher, { network: genesis.network, genesisHash: genesisHash(hasher, genesis), membership, block, txIndex: location.index });
  } finally {
    await store.close();
  }
}

/** Where transaction `txId` is stored: in the node's index runs, else in the blocks above them. */
async function locateStoredTransaction(store: BlockStore, directory: string, txId: Uint8Array, hasher: Hasher): Promise<{ readonly height: number; readonly index: number } | null> {
  const head = store.head().height;
  const runs = locateInRuns(join(directory, TRANSACTION_INDEX_DIRECTORY), txId, { headHeight: head, blockHash: (height) => blockHash(hasher, store.readBlockSync(height)!.headerBytes) });
  if (runs.location !== null) return runs.location;
  for (let height = runs.coveredHeight + 1; height <= head; height++) {
    const block = (await store.readBlock(height))!;
    const index = block.transactionBytes.findIndex((bytes) => bytesEqual(transactionId(hasher, bytes), txId));
    if (index >= 0) return { height, index };
  }
  return null;
}

/** The membership history a node's chain checkpoint holds, if the checkpoint describes this stored chain. */
export interface MembershipHistory {
  /** The checkpoint's height: the history holds every change committed at or below it. */
  readonly height: number;
  readonly memberships: readonly { readonly from: number; readonly membership: Membership }[];
}

/** The checkpoint's membership history, or null when there is none or it does not fit the stored chain (then the blocks are read). */
export function readMembershipCheckpoint(store: BlockStore, directory: string, hasher: Hasher): MembershipHistory | null {
  const read = readCheckpointFile(directory);
  if (read === null || !read.ok) return null;
  const { height, headHash, chain } = read.checkpoint;
  if (height > store.head().height) return null;
  const stored = store.readBlockSync(height);
  if (stored === null || !bytesEqual(blockHash(hasher, stored.headerBytes), headHash)) return null;
  const memberships = (chain as { memberships?: unknown } | null)?.memberships;
  if (!Array.isArray(memberships) || memberships.length === 0) return null;
  const valid = memberships.every((entry: { from?: unknown; membership?: { nodes?: unknown } } | null) => Number.isSafeInteger(entry?.from) && Array.isArray(entry?.membership?.nodes));
  return valid ? { height, memberships: memberships as MembershipHistory['memberships'] } : null;
}

/**
 * The membership certifying block `height`: the genesis one, replaced by each earlier membership change.
 * With `history` (a checkpoint's), the changes at or below its height come from it and only the blocks
 * after it are read.
 */
export async function membershipAt(store: BlockStore, genesisMembership: Membership, height: number, history: MembershipHistory | null = null): Promise<Membership> {
  let membership = genesisMembership;
  let from = 1;
  if (history !== null) {
    for (const entry of history.memberships) if (entry.from <= height) membership = entry.membership;
    from = history.height + 1;
  }
  for (let h = from; h < height; h++) {
    const block = (await store.readBlock(h))!;
    block.transactions.forEach((tx, i) => {
      if (tx.operation !== 'membership-change') return;
      const payload = block.payloads.find((p) => p.txIndex === i && p.audience === PUBLIC_AUDIENCE);
      if (payload !== undefined) membership = decodeMembership(payload.data);
    });
  }
  return membership;
}

export interface BlockLogConsistency {
  readonly oldHeight: number;
  readonly newHeight: number;
  readonly oldRoot: string;
  readonly newRoot: string;
  readonly proof: readonly string[];
}

/** RFC 6962 consistency proof between the block-hash logs at two heights (1 <= old <= new <= head). */
export async function blockLogConsistency(store: BlockStore, oldHeight: number, newHeight: number, hasher: Hasher = nodeHasher): Promise<BlockLogConsistency> {
  if (!(Number.isInteger(oldHeight) && Number.isInteger(newHeight) && oldHeight >= 1 && oldHeight <= newHeight && newHeight <= store.head().height)) {
    throw new EntenteError('USAGE', `need 1 <= old (${oldHeight}) <= new (${newHeight}) <= head (${store.head().height})`);
  }
  const leaves: Uint8Array[] = [];
  for (let h = 1; h <= newHeight; h++) leaves.push(hasher.merkleLeaf(blockHash(hasher, (await store.readBlock(h))!.headerBytes)));
  return {
    oldHeight,
    newHeight,
    oldRoot: toHex(merkleRoot(hasher, leaves.slice(0, oldHeight))),
    newRoot: toHex(merkleRoot(hasher, leaves)),
    proof: consistencyProof(hasher, leaves, oldHeight).map(toHex),
  };
}
