// Reader side of the write path: applies every committed block, in height order, to this partner's
// replica tables (one database transaction per block, which also records the height, so a restart
// resumes exactly where it stopped), then tells local subscribers and the peers. Only payloads for this
// partner are ever present or fetched; a transaction with a commitment for this partner but no payload
// here (its gossip was missed) is fetched from its owner before the block is applied, so the replica
// never skips a change.
import type { Connector, ReplicaChange } from '../../connectors/connector.ts';
import type { Block } from '../../ledger/block.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import type { CommittedBlockEvent, LedgerNode } from '../../ledger/node/ledger-node.ts';
import { PUBLIC_AUDIENCE, type Payload } from '../../ledger/transaction.ts';
import type { AppliedChange, InMemoryChangeFeed } from '../../schema/api/context.ts';
import { findType, type UnifiedSchema } from '../../schema/policy.ts';
import type { Logger } from '../server/logger.ts';
import { decodeRowPayload, replicaChangeOf } from './change-codec.ts';

const FETCH_RETRY_MS = 1_000;
/**
 * Committed blocks kept as handed over, until applied: the applier then neither reads them back from the
 * block store nor hashes their transactions again. Beyond this many (the applier lags) it reads the store.
 */
const HANDED_BLOCKS_MAX = 32;

export interface ReplicaApplierOptions {
  readonly connector: Connector;
  readonly unified: UnifiedSchema;
  readonly partner: string;
  readonly node: LedgerNode;
  readonly changeFeed: InMemoryChangeFeed;
  readonly logger: Logger;
  readonly onApplied?: (height: number, changes: number) => void;
  /** Schema evolution (./schema-evolution.ts): folded around each block, so a version activated at h applies from h + 1. */
  readonly schema?: ReplicaSchemaHook;
}

export interface ReplicaSchemaHook {
  /** Before block h's data: may migrate the replica to the version h activates. */
  beforeBlock(height: number, block: Block, payloadsOf: (txIndex: number) => readonly Payload[]): Promise<void>;
  /** After block h's data is applied: the version h activates becomes the one `unified` reads. */
  afterBlock(height: number): void;
}

export class ReplicaApplier {
  private readonly o: ReplicaApplierOptions;
  private applied = 0;
  private target = 0;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly heightWaiters: { height: number; resolve: () => void }[] = [];
  private readonly handed = new Map<number, CommittedBlockEvent>();

  constructor(options: ReplicaApplierOptions) {
    this.o = options;
  }

  get appliedHeight(): number {
    return this.applied;
  }

  async start(): Promise<void> {
    this.applied = await this.o.connector.replica.appliedHeight();
    this.o.node.onCommitted((event) => {
      if (event.height > this.applied && this.handed.size < HANDED_BLOCKS_MAX) this.handed.set(event.height, event);
      this.advanceTo(event.height);
    });
    this.advanceTo(this.o.node.height);
    await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Resolves once blocks up to `height` are applied here (read-your-writes). */
  waitForHeight(height: number, signal?: AbortSignal): Promise<void> {
    if (this.applied >= height) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { height, resolve };
      this.heightWaiters.push(waiter);
      signal?.addEventListener('abort', () => {
        const index = this.heightWaiters.indexOf(waiter);
        if (index >= 0) this.heightWaiters.splice(index, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      }, { once: true });
    });
  }

  private advanceTo(height: number): void {
    this.target = Math.max(this.target, height);
    if (this.running !== null) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (!this.stopped && this.applied < this.target) this.advanceTo(this.target);
    });
  }

  private async drain(): Promise<void> {
    while (!this.stopped && this.applied < this.target) {
      const height = this.applied + 1;
      const handed = this.handed.get(height);
      const block = handed?.block ?? this.o.node.blockStore.readBlockSync(height);
      if (block === null) return;
      try {
        await this.applyBlock(height, block, handed?.transactionIds);
      } catch (error) {
        this.o.logger.error({ err: error, height }, 'replica: applying a committed block failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, FETCH_RETRY_MS));
        continue;
      }
      this.applied = height;
      this.handed.delete(height);
      this.o.node.reportApplied(height);
      for (let i = this.heightWaiters.length - 1; i >= 0; i--) {
        if (this.heightWaiters[i]!.height <= height) this.heightWaiters.splice(i, 1)[0]!.resolve();
      }
    }
  }

  /** `transactionIds`: the block's, hex, when the ledger handed them over (else computed here). */
  private async applyBlock(height: number, block: Block, transactionIds: readonly string[] | undefined): Promise<void> {
    const { partner } = this.o;
    const held = new Map<number, Payload[]>();
    for (const payload of block.payloads) {
      if (payload.audience !== partner && payload.audience !== PUBLIC_AUDIENCE) continue;
      const list = held.get(payload.txIndex) ?? [];
      list.push(payload);
      held.set(payload.txIndex, list);
    }
    // Transactions of other owners that commit a payload to this partner but whose payload is not here.
    const missing: number[] = [];
    block.transactions.forEach((tx, index) => {
      // A '$schema' transaction's public payload is needed by every partner (schema evolution), so it is fetched too.
      const audience = tx.operation === 'schema-change' ? PUBLIC_AUDIENCE : partner;
      if (tx.owner !== partner && !held.has(index) && tx.commitments.some((c) => c.audience === audience)) missing.push(index);
    });
    while (missing.length > 0 && !this.stopped) {
      const fetched = await this.o.node.fetchPayloads(height, missing);
      for (const [index, payloads] of fetched) held.set(index, payloads);
      const still = missing.filter((index) => !held.has(index));
      if (still.length === 0) break;
      this.o.logger.warn({ height, missing: still.length }, 'replica: waiting for payloads from their owners (unreachable?)');
      missing.splice(0, missing.length, ...still);
      await new Promise((resolve) => setTimeout(resolve, FETCH_RETRY_MS));
    }
    await this.o.schema?.beforeBlock(height, block, (index) => held.get(index) ?? []);
    const changes: ReplicaChange[] = [];
    const events: AppliedChange[] = [];
    block.transactions.forEach((tx, index) => {
      if (tx.owner === partner || (tx.operation !== 'create' && tx.operation !== 'update' && tx.operation !== 'delete')) return;
      const type = findType(this.o.unified, tx.entityType);
      const payload = held.get(index)?.find((p) => p.audience === partner);
      if (type === undefined || payload === undefined) return;
      const decoded = decodeRowPayload(payload.data);
      if (decoded === null) {
        this.o.logger.warn({ height, txIndex: index, owner: tx.owner }, 'replica: a payload is not a row change; skipped');
        return;
      }
      const change = replicaChangeOf(type, decoded);
      changes.push(change);
      const row = decoded.op === 'upsert' ? decoded.row : decoded.key;
      const op = decoded.op === 'delete' ? 'delete' : tx.operation === 'create' ? 'insert' : 'update';
      events.push({ type: type.name, op, row, deleted: decoded.op === 'delete', ledgerHeight: height, transactionId: transactionIds?.[index] ?? toHex(nodeHasher.merkleLeaf(block.transactionBytes[index]!)) });
    });
    if (changes.length > 0) await this.o.connector.replica.apply(height, changes);
    for (const event of events) this.o.changeFeed.publish(event);
    this.o.schema?.afterBlock(height);
    this.o.onApplied?.(height, changes.length);
  }
}
