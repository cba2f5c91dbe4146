// A runnable consensus node: the consensus host over the WebSocket transport, the crash-safe runner chain,
// a durable consensus snapshot, and a mempool whose blocks are bounded by count and bytes. The gateway
// embeds NodeRunner; `node bin/run-ts.js ledger/node/node-main.ts --config node.json` runs one alone.
// Clients submit over HTTP (`POST /txs`, body: u32 length + bytes per transaction); the answer comes once
// every transaction of the request is durably committed on this node ("acknowledged"). `GET /status`
// reports height and head.
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EntenteError } from '../../common/errors.ts';
import { chainIdOf } from '../block.ts';
import { DEFAULT_TIMEOUTS, type TimeoutConfig } from '../consensus/index.ts';
import { createEd25519Signer, ed25519Verifier } from '../crypto/ed25519.ts';
import { nodeHasher } from '../crypto/sha256-node.ts';
import type { Signer } from '../crypto/signature.ts';
import { bytesEqual } from '../encoding/hex.ts';
import { genesisHash, readGenesisFile, type Genesis } from '../genesis.ts';
import { WsTransport } from '../transport/ws-transport.ts';
import { ConsensusHost, type HostSnapshot } from './consensus-host.ts';
import { BLOCK_BYTES_MAX, BLOCK_TXS_MAX, RunnerChain, TX_BYTES_MAX, isMembershipChange, type RunnerBlock } from './runner-chain.ts';
import { readNodeKeyFile } from './node-key.ts';
import { SlotFile } from './slot-file.ts';
import { DeferredValidBlock } from './deferred-valid-block.ts';
import { DurableWrites } from './durable-writes.ts';
import { decodeSnapshot, encodeSnapshot, restoredSnapshot } from './stored-snapshot.ts';
import { CompactProposals } from './compact-proposals.ts';

export const MEMPOOL_TXS_MAX = 200_000;
export const MEMPOOL_BYTES_MAX = 256 * 1024 * 1024;
export const REQUEST_BYTES_MAX = 16 * 1024 * 1024;
/** Transactions per gossip message (a client request is split into messages of at most this many). */
const GOSSIP_BATCH_TXS_MAX = 512;
const DEBUG = process.env['ENTENTE_CONSENSUS_DEBUG'] === '1';
/** Debug timeline line: wall-clock milliseconds with 0.01 ms resolution, so one height's steps can be told apart. */
function debugLine(text: string): void {
  process.stderr.write(`${(performance.timeOrigin + performance.now()).toFixed(2)} ${text}\n`);
}
const SNAPSHOT_FILE = 'consensus-state';
const VALID_BLOCK_FILE = 'valid-block';
/**
 * How long a peer may stay one height ahead before this node asks it for blocks (two or more heights
 * ahead asks at once). On a loaded machine a height can take most of a second; a shorter interval made
 * nodes that were about to decide fetch and check the same multi-megabyte block a second time by sync.
 */
const SYNC_INTERVAL_MS = 1_000;

export const NODE_TIMEOUTS: TimeoutConfig = { ...DEFAULT_TIMEOUTS, proposeBaseMs: 1000, proposeDeltaMs: 500, prevoteBaseMs: 500, prevoteDeltaMs: 250, precommitBaseMs: 500, precommitDeltaMs: 250, rebroadcastMs: 500 };

export interface NodeConfig {
  readonly genesisFile: string;
  readonly keyFile: string;
  readonly dataDirectory: string;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly clientPort: number;
  /** Peer WebSocket URLs by partner name (as in the genesis membership). */
  readonly peers: Readonly<Record<string, string>>;
  readonly emptyBlockDelayMs?: number;
  /**
   * For a node that is not in the genesis: the index it will have once its membership change is committed
   * (members are appended, so the n-th joiner of an n-member genesis gets index n). It follows and syncs
   * until that change takes effect, then votes.
   */
  readonly joinIndex?: number;
}

interface Waiter {
  remaining: number;
  height: number;
  readonly done: (height: number) => void;
}

export class NodeRunner {
  private readonly config: NodeConfig;
  private genesis!: Genesis;
  private signer!: Signer;
  private chain!: RunnerChain;
  private host!: ConsensusHost<RunnerBlock>;
  private transport!: WsTransport;
  private http: Server | null = null;
  private readonly mempool = new Map<string, Uint8Array>();
  private mempoolBytes = 0;
  private readonly waiters = new Map<string, Waiter[]>();
  private validBlockId: string | null = null;
  private snapshotSlots!: SlotFile;
  private validBlockSlots!: SlotFile;
  private durable!: DurableWrites;
  private validBlockWrites!: DeferredValidBlock;
  private compact!: CompactProposals;
  private stopped = false;
  selfIndex = -1;

  constructor(config: NodeConfig) {
    this.config = config;
  }

  get height(): number {
    return this.chain.headHeight();
  }

  async start(): Promise<void> {
    mkdirSync(this.config.dataDirectory, { recursive: true });
    this.snapshotSlots = new SlotFile(this.config.dataDirectory, SNAPSHOT_FILE);
    this.validBlockSlots = new SlotFile(this.config.dataDirectory, VALID_BLOCK_FILE);
    this.genesis = await readGenesisFile(this.config.genesisFile);
    const key = readNodeKeyFile(this.config.keyFile);
    this.signer = createEd25519Signer(key.secretKey);
    const hash = genesisHash(nodeHasher, this.genesis);
    const chainId = chainIdOf(hash);
    this.chain = new RunnerChain({ dataDirectory: this.config.dataDirectory, hasher: nodeHasher, genesisId: chainId, membership: this.genesis.membership, deferSync: true });
    this.durable = new DurableWrites(this.chain, this.snapshotSlots, this.validBlockSlots);
    this.validBlockWrites = new DeferredValidBlock({ write: (bytes) => this.durable.writeValidBlock(bytes), headHeight: () => this.chain.headHeight() });
    const latest = this.chain.latestMembership();
    this.selfIndex = latest.nodes.findIndex((n) => bytesEqual(n.publicKey, this.signer.publicKey));
    if (this.selfIndex < 0) this.selfIndex = this.config.joinIndex ?? -1;
    if (this.selfIndex < 0) throw new EntenteError('CONFIG_INVALID', `the key in ${this.config.keyFile} is not a member of the genesis membership; add its public key with \`entente genesis\`, use the partner's key, or set "joinIndex" for a node that joins by a membership change`);
    this.transport = new WsTransport({
      chainId, selfIndex: this.selfIndex, signer: this.signer, verifier: ed25519Verifier, hasher: nodeHasher, membership: () => this.chain.latestMembership(),
      listenHost: this.config.listenHost, listenPort: this.config.listenPort, peers: [],
      onMessage: (from, value) => this.onPeerMessage(from, value),
    });
    this.compact = new CompactProposals({
      chain: this.chain, mempool: this.mempool, txsPerMessageMax: GOSSIP_BATCH_TXS_MAX,
      send: (to, value) => this.transport.send(to, value),
      deliver: (from, wire) => this.host.receive(from, wire),
    });
    this.host = new ConsensusHost<RunnerBlock>({
      chainId, signer: this.signer, verifier: ed25519Verifier, chain: this.chain, timeouts: NODE_TIMEOUTS,
      emptyBlockDelayMs: this.config.emptyBlockDelayMs ?? 400, syncIntervalMs: SYNC_INTERVAL_MS, restored: this.readSnapshot(),
      builder: { hasPending: () => this.mempool.size > 0, build: (height, parent) => this.buildBlock(height, parent) },
      io: {
        send: (to, wire) => {
          if (DEBUG) debugLine(`send ${wire.type} ${'message' in wire ? `${wire.message.kind} h${wire.message.height}` : ''} to ${to}`);
          const value = this.compact.outgoing(wire);
          if (to === 'others') this.transport.broadcast(value);
          else this.transport.send(to, value);
        },
        setTimer: (delayMs, fire) => {
          // setTimeout(0) waits for the next timers phase (1 ms at least); the host's zero-delay timer
          // replays the next height's early messages, which are on the critical path of every height.
          if (delayMs <= 0) {
            setImmediate(() => {
              if (!this.stopped) fire();
            });
            return;
          }
          setTimeout(() => {
            if (!this.stopped) fire();
          }, delayMs);
        },
        persist: (seq, snapshot, durable, awaited) => {
          if (DEBUG) debugLine(`persist ${seq} h${snapshot.record.height} ${snapshot.record.step}${awaited === false ? ' (lazy)' : ''}`);
          this.writeSnapshot(snapshot, () => {
            if (DEBUG) debugLine(`durable ${seq}`);
            if (!this.stopped) durable();
          }, awaited !== false);
        },
      },
      events: {
        committed: (height, block, certificate, via) => {
          if (DEBUG) debugLine(`commit h${height} r${certificate.round} txs ${block.txs.length} via ${via}`);
          this.validBlockWrites.committed(height);
          this.onCommitted(height, block);
          this.compact.heightStarted();
        },
        signed: (message) => {
          if (DEBUG) debugLine(`signed ${message.kind} h${message.height} r${message.round}`);
        },
        rejected: (from, reason) => {
          if (DEBUG) debugLine(`rejected from ${from}: ${reason}`);
        },
      },
    });
    await this.transport.start();
    this.connectToMembers();
    await this.startHttp();
    this.host.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.validBlockWrites.cancel();
    this.host.stop();
    await this.transport.close();
    await new Promise<void>((resolve) => (this.http === null ? resolve() : this.http.close(() => resolve())));
    await this.durable.idle();
    this.chain.close();
    this.snapshotSlots.close();
    this.validBlockSlots.close();
  }

  /**
   * Adds transactions (from a client or a peer); returns how many were new. New client transactions go to
   * every peer at once (the transport sends everything of this event-loop turn as one frame per peer), so
   * whoever proposes next has them without waiting for a timer.
   */
  submit(txs: readonly Uint8Array[], gossip: boolean): number {
    let added = 0;
    const fresh: Uint8Array[] = [];
    for (const tx of txs) {
      if (tx.length === 0 || tx.length > TX_BYTES_MAX) continue;
      const id = this.chain.txId(tx);
      if (this.mempool.has(id) || this.chain.committedTxs.has(id)) continue;
      if (this.mempool.size >= MEMPOOL_TXS_MAX || this.mempoolBytes + tx.length > MEMPOOL_BYTES_MAX) break;
      // A peer's transaction is a view into its whole frame: copied, so the mempool does not pin frames.
      this.mempool.set(id, gossip ? tx : tx.slice());
      this.mempoolBytes += tx.length;
      added += 1;
      if (gossip) fresh.push(tx);
    }
    for (let i = 0; i < fresh.length; i += GOSSIP_BATCH_TXS_MAX) this.transport.broadcast({ type: 'txs', txs: fresh.slice(i, i + GOSSIP_BATCH_TXS_MAX) });
    if (added > 0) {
      this.compact.transactionsArrived();
      this.host.transactionsArrived();
    }
    return added;
  }

  private onPeerMessage(from: number, value: unknown): void {
    if (this.stopped) return;
    if (DEBUG) {
      const v = value as { type?: string; message?: { kind?: string; height?: number } };
      debugLine(`from ${from} ${v.type ?? '?'} ${v.message?.kind ?? ''} ${v.message?.height ?? ''}`);
    }
    if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'txs') {
      const txs = (value as { txs?: unknown }).txs;
      if (Array.isArray(txs) && txs.length <= GOSSIP_BATCH_TXS_MAX) this.submit(txs.filter((t): t is Uint8Array => t instanceof Uint8Array), false);
      return;
    }
    if (this.compact.receive(from, value)) return;
    this.host.receive(from, value);
  }

  private buildBlock(height: number, parent: string): RunnerBlock {
    const txs: Uint8Array[] = [];
    const ids: string[] = [];
    let bytes = 0;
    for (const [id, tx] of this.mempool) {
      if (txs.length >= BLOCK_TXS_MAX || bytes + tx.length > BLOCK_BYTES_MAX) break;
      if (this.chain.committedTxs.has(id)) continue;
      txs.push(tx);
      ids.push(id);
      bytes += tx.length;
    }
    const block: RunnerBlock = { height, parent, proposer: this.selfIndex, timeMs: Date.now(), txs };
    this.compact.builtBlock(block, ids);
    return block;
  }

  /** Dials every member of the newest known membership (new members appear when their change commits). */
  private connectToMembers(): void {
    for (const node of this.chain.latestMembership().nodes) {
      if (node.index === this.selfIndex) continue;
      const url = this.config.peers[node.partner];
      if (url === undefined) throw new EntenteError('CONFIG_INVALID', `no address for peer ${node.partner}; add it under "peers" in the node configuration`);
      this.transport.addPeer({ index: node.index, url });
    }
  }

  /** Leaves the mempool at once; clients are answered once the block is durable (DurableWrites.afterBlocks). */
  private onCommitted(height: number, block: RunnerBlock): void {
    if (block.txs.some(isMembershipChange)) this.connectToMembers();
    const finished: Waiter[] = [];
    for (const id of this.chain.txIdsOf(block)) {
      const pooled = this.mempool.get(id);
      if (pooled !== undefined) {
        this.mempool.delete(id);
        this.mempoolBytes -= pooled.length;
      }
      const waiting = this.waiters.get(id);
      if (waiting === undefined) continue;
      this.waiters.delete(id);
      for (const waiter of waiting) {
        waiter.height = Math.max(waiter.height, height);
        if (--waiter.remaining === 0) finished.push(waiter);
      }
    }
    if (finished.length > 0) this.durable.afterBlocks(() => {
      if (DEBUG) debugLine(`answer h${height} ${finished.length} requests`);
      for (const waiter of finished) waiter.done(waiter.height);
    });
  }

  // ---- durable consensus snapshot -----------------------------------------------------------------------

  /** The valid block goes to its own slots, rewritten only when the valid value changes; then the snapshot. */
  private writeSnapshot(snapshot: HostSnapshot, durable: () => void, awaited: boolean): void {
    const validId = snapshot.record.validValue;
    // While locked, the record carries the valid block itself (stored-snapshot.ts).
    this.durable.writeSnapshot(encodeSnapshot(snapshot), durable, awaited);
    if (snapshot.validBlock !== null && validId !== null && validId !== this.validBlockId) {
      // Written only if the height stays open (deferred-valid-block.ts): at full load that saves writing,
      // checksumming and syncing a multi-megabyte block per height.
      this.validBlockWrites.offer(snapshot.record.height, snapshot.validBlock);
      this.validBlockId = validId;
    }
  }

  private readSnapshot(): HostSnapshot | null {
    const stored = this.snapshotSlots.readIntact().map(decodeSnapshot);
    // DurableWrites syncs a snapshot beside the blocks before it: after a crash the newest may be ahead of
    // the stored head (its block was lost). It was never acted on; the write before it covers everything
    // sent. Discarded on disk too, so that the next write cannot leave it as the only intact slot.
    while (stored.length > 0 && stored[0]!.record.height > this.chain.headHeight() + 1) {
      this.snapshotSlots.discardNewest();
      stored.shift();
    }
    const value = stored[0];
    if (value === undefined) return null;
    // The host checks that the block really is the valid value (a newer slot may hold a later one).
    this.validBlockId = value.validBlockId;
    return restoredSnapshot(value, () => this.validBlockSlots.read());
  }

  // ---- client API ---------------------------------------------------------------------------------------

  private async startHttp(): Promise<void> {
    const server = createServer((request, response) => this.handle(request, response));
    this.http = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.clientPort, this.config.listenHost, () => resolve());
    });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    if (request.method === 'GET' && request.url === '/status') {
      const state = this.host.state;
      reply(response, 200, {
        index: this.selfIndex, height: this.chain.headHeight(), head: this.chain.headId(), round: state.round, mempool: this.mempool.size,
        committedTxs: this.chain.committedTxs.size, totalTxs: this.chain.totalTxs,
      });
      return;
    }
    const certificateMatch = request.method === 'GET' ? /^\/certificate\/(\d+)$/.exec(request.url ?? '') : null;
    if (certificateMatch !== null) {
      const stored = this.chain.storedBlock(Number(certificateMatch[1]));
      if (stored === null) reply(response, 404, { error: 'no such block' });
      else reply(response, 200, { round: stored.certificate.round, signers: stored.certificate.votes.map((v) => v.sender) });
      return;
    }
    if (request.method === 'POST' && request.url === '/lookup') {
      readBody(request, (body) => {
        const heights: (number | null)[] = [];
        for (let offset = 0; offset + 32 <= body.length; offset += 32) heights.push(this.chain.committedTxs.get(Buffer.from(body.subarray(offset, offset + 32)).toString('hex')) ?? null);
        reply(response, 200, heights);
      });
      return;
    }
    if (request.method !== 'POST' || request.url !== '/txs') {
      reply(response, 404, { error: 'POST /txs or GET /status' });
      return;
    }
    readBody(request, (body) => {
      if (DEBUG) debugLine('post');
      const txs = splitTxs(body);
      if (txs === null) return reply(response, 400, { error: 'body must be u32 length + bytes per transaction' });
      this.await(txs, (height) => reply(response, 200, { committed: txs.length, height }));
      this.submit(txs, true);
    });
  }

  private await(txs: readonly Uint8Array[], done: (height: number) => void): void {
    const waiter: Waiter = { remaining: 0, height: 0, done };
    for (const tx of txs) {
      const id = this.chain.txId(tx);
      const at = this.chain.committedTxs.get(id);
      if (at !== undefined) {
        waiter.height = Math.max(waiter.height, at);
        continue;
      }
      waiter.remaining += 1;
      const list = this.waiters.get(id);
      if (list === undefined) this.waiters.set(id, [waiter]);
      else list.push(waiter);
    }
    if (waiter.remaining === 0) this.durable.afterBlocks(() => done(waiter.height));
  }
}

function readBody(request: IncomingMessage, done: (body: Uint8Array) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > REQUEST_BYTES_MAX) request.destroy();
    else chunks.push(chunk);
  });
  request.on('end', () => done(new Uint8Array(Buffer.concat(chunks))));
}

function splitTxs(body: Uint8Array): Uint8Array[] | null {
  const txs: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let offset = 0; offset < body.length;) {
    if (offset + 4 > body.length) return null;
    const length = view.getUint32(offset);
    offset += 4;
    if (length === 0 || length > TX_BYTES_MAX || offset + length > body.length) return null;
    txs.push(body.slice(offset, offset + length));
    offset += length;
  }
  return txs;
}

export function joinTxs(txs: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const tx of txs) size += 4 + tx.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const tx of txs) {
    view.setUint32(offset, tx.length);
    out.set(tx, offset + 4);
    offset += 4 + tx.length;
  }
  return out;
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
