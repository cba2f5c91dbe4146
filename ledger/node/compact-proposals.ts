// Compact proposals: a proposer sends the block it built as its header plus the 32-byte ids of its
// transactions, which the peers already hold from gossip, instead of every transaction's bytes again.
// At 1 KB transactions that is 1/32 of the bytes to frame, hash and copy per peer. A receiver rebuilds the
// block from its own mempool (ids it computed itself, so nothing from the peer is trusted) and hands the
// host an ordinary proposal; the host still checks that the rebuilt block hashes to the signed value id
// and passes the block rules. When a receiver misses some transactions (their gossip has not arrived or
// was dropped) it asks the proposer for exactly those, and retries when they come. Blocks the node did
// not build itself (a re-proposal of another node's valid value) and sync responses go in full.
import type { ProposalMessage } from '../consensus/types.ts';
import type { ConsensusWire } from './consensus-wire.ts';
import { BLOCK_TXS_MAX, type RunnerBlock, type RunnerChain } from './runner-chain.ts';

const TX_ID_BYTES = 32;
/** Compact proposals waiting for missing transactions (one per proposing round in practice). */
export const PENDING_PROPOSALS_MAX = 16;
/** Own built blocks remembered for compacting (the current height's rounds). */
const BUILT_BLOCKS_MAX = 8;

export interface CompactProposalsOptions {
  readonly chain: RunnerChain;
  readonly mempool: ReadonlyMap<string, Uint8Array>;
  /** Sends to one peer through the transport. */
  readonly send: (to: number, value: unknown) => void;
  /** Hands a rebuilt, ordinary proposal to the consensus host. */
  readonly deliver: (from: number, wire: ConsensusWire) => void;
  /** Largest number of transactions in one `txs` message. */
  readonly txsPerMessageMax: number;
}

interface CompactWire {
  readonly type: 'compact-proposal';
  readonly message: unknown;
  readonly justification: unknown;
  readonly height: number;
  readonly parent: string;
  readonly proposer: number;
  readonly timeMs: number;
  readonly ids: Uint8Array;
}

interface Pending {
  readonly from: number;
  readonly wire: CompactWire;
  requested: boolean;
}

export class CompactProposals {
  private readonly o: CompactProposalsOptions;
  private readonly built = new Map<string, { block: RunnerBlock; ids: Uint8Array }>();
  private readonly pending = new Map<string, Pending>();

  constructor(options: CompactProposalsOptions) {
    this.o = options;
  }

  /** A block this node built from its mempool (`txIds` = the mempool keys of its transactions). */
  builtBlock(block: RunnerBlock, txIds: readonly string[]): void {
    this.o.chain.adopt(block, txIds);
    const ids = new Uint8Array(txIds.length * TX_ID_BYTES);
    txIds.forEach((id, i) => ids.set(Buffer.from(id, 'hex'), i * TX_ID_BYTES));
    if (this.built.size >= BUILT_BLOCKS_MAX) this.built.delete(this.built.keys().next().value!);
    this.built.set(this.o.chain.blockId(block), { block, ids });
  }

  /** What to put on the wire for `wire`: the compact form of a proposal of an own block, else `wire` itself. */
  outgoing(wire: ConsensusWire): unknown {
    if (wire.type !== 'proposal') return wire;
    const own = this.built.get(wire.message.valueId);
    if (own === undefined) return wire;
    const { block, ids } = own;
    const compact: CompactWire = { type: 'compact-proposal', message: wire.message, justification: wire.justification, height: block.height, parent: block.parent, proposer: block.proposer, timeMs: block.timeMs, ids };
    return compact;
  }

  /** Handles compact proposals and requests for their transactions; false for any other message. */
  receive(from: number, value: unknown): boolean {
    const type = (value as { type?: unknown } | null)?.type;
    if (type === 'txs-request') {
      this.answerRequest(from, (value as { ids?: unknown }).ids);
      return true;
    }
    if (type !== 'compact-proposal') return false;
    const wire = parseCompact(value);
    if (wire === null) return true; // malformed: dropped like any malformed consensus message
    this.dropStale();
    const entry: Pending = { from, wire, requested: false };
    if (this.tryRebuild(entry)) return true;
    if (this.pending.size >= PENDING_PROPOSALS_MAX) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(pendingKey(from, wire), entry);
    this.requestMissing(entry);
    return true;
  }

  /** Transactions reached the mempool: proposals that waited for them may be complete now. */
  transactionsArrived(): void {
    if (this.pending.size === 0) return;
    this.dropStale();
    for (const [key, entry] of this.pending) if (this.tryRebuild(entry)) this.pending.delete(key);
  }

  /** The next height started: own blocks of earlier heights are no longer proposed. */
  heightStarted(): void {
    this.built.clear();
    this.dropStale();
  }

  private tryRebuild(entry: Pending): boolean {
    const { wire } = entry;
    const ids = txIdsOf(wire.ids);
    const txs: Uint8Array[] = [];
    for (const id of ids) {
      const tx = this.o.mempool.get(id);
      if (tx === undefined) return false;
      txs.push(tx);
    }
    const block: RunnerBlock = { height: wire.height, parent: wire.parent, proposer: wire.proposer, timeMs: wire.timeMs, txs };
    const bytes = this.o.chain.adopt(block, ids);
    this.o.deliver(entry.from, { type: 'proposal', message: wire.message as ProposalMessage, block: bytes, justification: wire.justification as [] });
    return true;
  }

  private requestMissing(entry: Pending): void {
    if (entry.requested) return;
    entry.requested = true;
    const missing = txIdsOf(entry.wire.ids).filter((id) => !this.o.mempool.has(id));
    const ids = new Uint8Array(missing.length * TX_ID_BYTES);
    missing.forEach((id, i) => ids.set(Buffer.from(id, 'hex'), i * TX_ID_BYTES));
    this.o.send(entry.from, { type: 'txs-request', ids });
  }

  private answerRequest(from: number, raw: unknown): void {
    if (!(raw instanceof Uint8Array) || raw.length % TX_ID_BYTES !== 0 || raw.length > BLOCK_TXS_MAX * TX_ID_BYTES) return;
    const txs: Uint8Array[] = [];
    for (const id of txIdsOf(raw)) {
      const tx = this.o.mempool.get(id);
      if (tx !== undefined) txs.push(tx);
    }
    for (let i = 0; i < txs.length; i += this.o.txsPerMessageMax) this.o.send(from, { type: 'txs', txs: txs.slice(i, i + this.o.txsPerMessageMax) });
  }

  private dropStale(): void {
    const current = this.o.chain.headHeight() + 1;
    for (const [key, entry] of this.pending) if (entry.wire.height < current) this.pending.delete(key);
  }
}

function pendingKey(from: number, wire: CompactWire): string {
  const message = wire.message as { round?: unknown };
  return `${from}|${wire.height}|${String(message.round)}`;
}

function txIdsOf(ids: Uint8Array): string[] {
  const hex = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength).toString('hex');
  const out: string[] = [];
  for (let i = 0; i < hex.length; i += TX_ID_BYTES * 2) out.push(hex.slice(i, i + TX_ID_BYTES * 2));
  return out;
}

/** Shape and bounds only; the host checks the proposal message and the rebuilt block as usual. */
function parseCompact(raw: unknown): CompactWire | null {
  const v = raw as Partial<Record<keyof CompactWire, unknown>>;
  const { height, parent, proposer, timeMs, ids } = v;
  if (!isCount(height) || !isCount(proposer) || !isCount(timeMs) || typeof parent !== 'string' || !/^[0-9a-f]{64}$/.test(parent)) return null;
  if (!(ids instanceof Uint8Array) || ids.length % TX_ID_BYTES !== 0 || ids.length > BLOCK_TXS_MAX * TX_ID_BYTES) return null;
  if (typeof v.message !== 'object' || v.message === null) return null;
  return { type: 'compact-proposal', message: v.message, justification: v.justification ?? [], height, parent, proposer, timeMs, ids };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
