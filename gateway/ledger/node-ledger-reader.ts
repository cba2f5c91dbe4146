// The `ledger` API over this gateway's verified block store. What a caller sees is cut to what its
// partner may read: a block lists only transactions of types the caller's partner may read (and
// governance), and a transaction's key comes only from a payload this partner holds (the ledger itself
// carries an opaque key, see change-codec.ts).
import type { Row } from '../../connectors/connector.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex, tryFromHex } from '../../ledger/encoding/hex.ts';
import { genesisHash } from '../../ledger/genesis.ts';
import { inclusionProof } from '../../ledger/merkle.ts';
import { buildTransactionProof } from '../../ledger/proof.ts';
import type { LedgerNode } from '../../ledger/node/ledger-node.ts';
import type { Block } from '../../ledger/block.ts';
import type { LedgerBlockView, LedgerReader, LedgerTransactionView } from '../../schema/api/context.ts';
import { findType, partnerMayRead, type Caller, type UnifiedSchema } from '../../schema/policy.ts';
import { decodeRowPayload, keyColumnsOf } from './change-codec.ts';

export class NodeLedgerReader implements LedgerReader {
  private readonly node: LedgerNode;
  private readonly unified: UnifiedSchema;

  constructor(node: LedgerNode, unified: UnifiedSchema) {
    this.node = node;
    this.unified = unified;
  }

  height(): Promise<number> {
    return Promise.resolve(this.node.height);
  }

  head(): Promise<string | null> {
    return Promise.resolve(this.node.height === 0 ? null : this.node.headHash);
  }

  async block(height: number, caller: Caller): Promise<LedgerBlockView | null> {
    if (!Number.isSafeInteger(height) || height < 1 || height > this.node.height) return null;
    const block = await this.node.blockStore.readBlock(height);
    if (block === null) return null;
    const ids = block.transactionBytes.map((bytes) => toHex(nodeHasher.merkleLeaf(bytes)));
    const membership = this.node.genesis.membership;
    return {
      height,
      hash: toHex(nodeHasher.sha256(block.headerBytes)),
      previousHash: toHex(block.header.previousHash),
      merkleRoot: toHex(block.header.txRoot),
      time: new Date(block.header.timeMs).toISOString(),
      proposer: membership.nodes[block.header.proposer]?.partner ?? String(block.header.proposer),
      schemaVersion: block.header.schemaVersion,
      transactionIds: ids.filter((_, index) => this.visible(block, index, caller)),
    };
  }

  async transaction(id: string, caller: Caller): Promise<LedgerTransactionView | null> {
    const bytes = /^[0-9a-f]{64}$/.test(id) ? tryFromHex(id) : null;
    if (bytes === null) return null;
    const location = this.node.locateTransaction(bytes);
    if (location === null) return null;
    const block = await this.node.blockStore.readBlock(location.height);
    if (block === null || !this.visible(block, location.index, caller)) return null;
    const tx = block.transactions[location.index]!;
    const leaves = block.transactionBytes.map((b) => nodeHasher.merkleLeaf(b));
    const operation = tx.operation === 'create' ? 'insert' : tx.operation === 'delete' ? 'delete' : 'update';
    return {
      id,
      height: location.height,
      type: tx.entityType,
      operation,
      key: this.keyOf(block, location.index, caller),
      owner: tx.owner,
      proofDocument: buildTransactionProof(nodeHasher, { network: this.node.genesis.network, genesisHash: genesisHash(nodeHasher, this.node.genesis), membership: this.node.genesis.membership, block, txIndex: location.index }),
      proof: {
        blockHeight: location.height,
        blockHash: toHex(nodeHasher.sha256(block.headerBytes)),
        merkleRoot: toHex(block.header.txRoot),
        leafHash: id,
        leafIndex: location.index,
        siblings: inclusionProof(nodeHasher, leaves, location.index).map(toHex),
      },
    };
  }

  /**
   * Governance is public. A data transaction is shown to its owner, and to a partner only when it
   * carries a payload for that partner: a change to a row the partner may not hold stays invisible
   * (not even "something changed" in the partner's view of the ledger API).
   */
  private visible(block: Block, index: number, caller: Caller): boolean {
    const tx = block.transactions[index];
    if (tx === undefined) return false;
    if (tx.entityType.startsWith('$')) return true;
    const type = findType(this.unified, tx.entityType);
    if (type === undefined || !partnerMayRead(type, caller.partner)) return false;
    if (tx.owner === caller.partner) return true;
    return tx.commitments.some((commitment) => commitment.audience === caller.partner);
  }

  /** The key, when a payload this partner holds names it (its own rows' payloads, or its audience's). */
  private keyOf(block: Block, index: number, caller: Caller): Row {
    const type = findType(this.unified, block.transactions[index]!.entityType);
    if (type === undefined) return {};
    for (const payload of block.payloads) {
      if (payload.txIndex !== index || (payload.audience !== caller.partner && type.owner !== caller.partner)) continue;
      const decoded = decodeRowPayload(payload.data);
      if (decoded === null) continue;
      const source = decoded.op === 'upsert' ? decoded.row : decoded.key;
      return Object.fromEntries(keyColumnsOf(type).map((column) => [column, source[column] ?? null]));
    }
    return {};
  }
}

