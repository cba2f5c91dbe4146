// The simulator's chain: a small block format, its validity rules, and a per-node in-memory store that
// models a durable block store (a block is durable once commitBlock returns, as with a real fsync'd store).
// Transactions are `tx<id>.<tag>`: the tag is a MAC only the simulated clients can make, so a Byzantine
// proposer cannot invent a transaction that honest nodes accept (the validity property is checkable).
import type { ValueId } from '../../ledger/consensus/types.ts';
import { hashInDomain } from '../../ledger/crypto/hasher.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import type { Membership } from '../../ledger/membership.ts';
import type { HostChain } from '../../ledger/node/consensus-host.ts';
import type { CommitCertificate } from '../../ledger/sync/commit-certificate.ts';

export const SIM_BLOCK_TXS_MAX = 64;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface SimBlock {
  readonly height: number;
  readonly parent: ValueId;
  readonly proposer: number;
  readonly txs: readonly string[];
}

export function txTag(id: number): string {
  return toHex(nodeHasher.sha256(encoder.encode(`sim-client|${id}`))).slice(0, 16);
}

export function makeTx(id: number): string {
  return `tx${id}.${txTag(id)}`;
}

export function isValidTx(tx: string): boolean {
  const match = /^tx(\d{1,9})\.([0-9a-f]{16})$/.exec(tx);
  return match !== null && txTag(Number(match[1])) === match[2];
}

export function encodeSimBlock(block: SimBlock): Uint8Array {
  return encoder.encode(JSON.stringify([block.height, block.parent, block.proposer, block.txs]));
}

export function decodeSimBlock(bytes: Uint8Array): SimBlock | null {
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    if (!Array.isArray(value) || value.length !== 4) return null;
    const [height, parent, proposer, txs] = value as unknown[];
    if (typeof height !== 'number' || typeof parent !== 'string' || typeof proposer !== 'number' || !Array.isArray(txs)) return null;
    if (!txs.every((tx): tx is string => typeof tx === 'string')) return null;
    return { height, parent, proposer, txs };
  } catch {
    return null;
  }
}

export function simBlockId(block: SimBlock): ValueId {
  return toHex(hashInDomain(nodeHasher, 'blockHeader', [encodeSimBlock(block)]));
}

export function genesisId(chainId: string): ValueId {
  return toHex(hashInDomain(nodeHasher, 'blockHeader', [encoder.encode(`genesis|${chainId}`)]));
}

interface Stored {
  readonly block: SimBlock;
  readonly id: ValueId;
  readonly certificate: CommitCertificate;
}

/** One node's durable block store; it survives the node's crashes (the host and mempool do not). */
export class SimChain implements HostChain<SimBlock> {
  readonly blocks: Stored[] = [];
  readonly committedTxs = new Map<string, number>();
  private readonly genesis: ValueId;
  private readonly membership: Membership;

  constructor(chainId: string, membership: Membership) {
    this.genesis = genesisId(chainId);
    this.membership = membership;
  }

  headHeight(): number {
    return this.blocks.length;
  }

  headId(): ValueId {
    return this.blocks.at(-1)?.id ?? this.genesis;
  }

  idAt(height: number): ValueId {
    return height === 0 ? this.genesis : this.blocks[height - 1]!.id;
  }

  blockId(block: SimBlock): ValueId {
    return simBlockId(block);
  }

  encodeBlock(block: SimBlock): Uint8Array {
    return encodeSimBlock(block);
  }

  decodeBlock(bytes: Uint8Array): SimBlock | null {
    return decodeSimBlock(bytes);
  }

  isValidBlock(block: SimBlock, height: number, parentId: ValueId): boolean {
    if (block.height !== height || block.parent !== parentId || block.txs.length > SIM_BLOCK_TXS_MAX) return false;
    if (!Number.isInteger(block.proposer) || block.proposer < 0 || block.proposer >= this.membership.nodes.length) return false;
    const seen = new Set<string>();
    for (const tx of block.txs) {
      if (seen.has(tx) || this.committedTxs.has(tx) || !isValidTx(tx)) return false;
      seen.add(tx);
    }
    return true;
  }

  commitBlock(height: number, block: SimBlock, certificate: CommitCertificate): void {
    if (height !== this.blocks.length + 1) throw new Error(`store: block ${height} does not follow head ${this.blocks.length}`);
    this.blocks.push({ block, id: simBlockId(block), certificate });
    for (const tx of block.txs) this.committedTxs.set(tx, height);
  }

  storedBlock(height: number): { readonly block: SimBlock; readonly certificate: CommitCertificate } | null {
    return this.blocks[height - 1] ?? null;
  }

  membershipAt(_height: number): Membership {
    return this.membership;
  }
}
