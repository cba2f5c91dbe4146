// Read-side operations over a stored ledger that need more than one block: a transaction's proof (which
// needs the membership in force at its height) and consistency proofs over the log of block hashes (a
// partner proves the history it saw at height m is a prefix of today's: RFC 6962 §2.1.2 with block
// hashes as leaves).
import { join } from 'node:path';
import { EntenteError } from '../common/errors.ts';
import { blockHash } from './block.ts';
import type { Hasher } from './crypto/hasher.ts';
import { nodeHasher } from './crypto/sha256-node.ts';
import { toHex, tryFromHex } from './encoding/hex.ts';
import { GENESIS_FILE, genesisHash, readGenesisFile } from './genesis.ts';
import { resolveLedgerDirectory } from './ledger-directory.ts';
import { decodeMembership, type Membership } from './membership.ts';
import { consistencyProof, merkleRoot } from './merkle.ts';
import { buildTransactionProof, type TransactionProofJson } from './proof.ts';
import type { BlockStore } from './store/block-store.ts';
import { SegmentBlockStore } from './store/segment-store.ts';
import { PUBLIC_AUDIENCE } from './transaction.ts';

/** Opens the ledger under `dataDirectory` read-only, proves `txIdHex`, closes it. */
export async function proveTransaction(dataDirectory: string, txIdHex: string, hasher: Hasher = nodeHasher): Promise<TransactionProofJson> {
  const txId = tryFromHex(txIdHex);
  if (txId === null || txId.length !== 32) throw new EntenteError('USAGE', `"${txIdHex}" is not a transaction id (64 hex digits)`);
  const directory = resolveLedgerDirectory(dataDirectory);
  const genesis = await readGenesisFile(join(directory, GENESIS_FILE));
  const store = await SegmentBlockStore.open(directory, { readOnly: true, hasher });
  try {
    const location = await store.locateTransaction(txId);
    if (location === null) throw new EntenteError('DB_NOT_FOUND', `transaction ${txIdHex} is not in the ledger at ${directory} (head ${store.head().height}); check the id, or wait until the node has synced it`);
    const block = (await store.readBlock(location.height))!;
    const membership = await membershipAt(store, genesis.membership, location.height);
    return buildTransactionProof(hasher, { network: genesis.network, genesisHash: genesisHash(hasher, genesis), membership, block, txIndex: location.index });
  } finally {
    await store.close();
  }
}

/** The membership certifying block `height`: the genesis one, replaced by each earlier membership change. */
export async function membershipAt(store: BlockStore, genesisMembership: Membership, height: number): Promise<Membership> {
  let membership = genesisMembership;
  for (let h = 1; h < height; h++) {
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
