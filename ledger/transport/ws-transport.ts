// WebSocket transport between gateway processes. Each node listens for its peers and dials every peer;
// it sends on the connections it dialed and receives on the ones it accepted. An accepted connection is
// authenticated before anything else: the acceptor sends a fresh random challenge, the dialer answers with
// its membership index and a signature over the challenge (peer-frames.ts), and every later frame carries
// a signature and an increasing sequence number bound to that challenge. Unknown indices, bad signatures,
// replays and oversized frames close the connection. Outbound queues are bounded (oldest dropped first:
// consensus re-sends what matters); dialing retries with capped exponential backoff and jitter.
import { randomBytes } from 'node:crypto';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Hasher } from '../crypto/hasher.ts';
import type { SignatureVerifier, Signer } from '../crypto/signature.ts';
import type { Membership } from '../membership.ts';
import { CHALLENGE_BYTES, decodePayload, encodePayload, helloSigningBytes, openFrame, sealFrame, type FrameContext } from './peer-frames.ts';

export const FRAME_BYTES_MAX = 32 * 1024 * 1024;
export const QUEUE_BYTES_MAX = 128 * 1024 * 1024;
export const QUEUE_FRAMES_MAX = 20_000;
export const RECONNECT_DELAY_MS_MIN = 50;
export const RECONNECT_DELAY_MS_MAX = 3_000;
const HELLO_TIMEOUT_MS = 5_000;

export interface PeerAddress {
  readonly index: number;
  readonly url: string;
}

export interface WsTransportOptions {
  readonly chainId: string;
  readonly selfIndex: number;
  readonly signer: Signer;
  readonly verifier: SignatureVerifier;
  readonly hasher: Hasher;
  /** Who may connect: the membership of the genesis file (and later changes). */
  readonly membership: () => Membership;
  readonly listenHost: string;
  readonly listenPort: number;
  readonly peers: readonly PeerAddress[];
  readonly onMessage: (from: number, value: unknown) => void;
  readonly onRejected?: (reason: string) => void;
}

interface Outbound {
  readonly peer: PeerAddress;
  socket: WebSocket | null;
  context: FrameContext | null;
  seq: number;
  queue: Uint8Array[];
  queueBytes: number;
  delayMs: number;
  timer: NodeJS.Timeout | null;
}

export class WsTransport {
  private readonly o: WsTransportOptions;
  private server: WebSocketServer | null = null;
  private readonly outbound = new Map<number, Outbound>();
  private closed = false;
  dropped = 0;

  constructor(options: WsTransportOptions) {
    this.o = options;
  }

  async start(): Promise<number> {
    const server = new WebSocketServer({ host: this.o.listenHost, port: this.o.listenPort, maxPayload: FRAME_BYTES_MAX, perMessageDeflate: false });
    this.server = server;
    server.on('connection', (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    for (const peer of this.o.peers) if (peer.index !== this.o.selfIndex) this.addPeer(peer);
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : this.o.listenPort;
  }

  addPeer(peer: PeerAddress): void {
    if (this.outbound.has(peer.index) || peer.index === this.o.selfIndex) return;
    const out: Outbound = { peer, socket: null, context: null, seq: 0, queue: [], queueBytes: 0, delayMs: RECONNECT_DELAY_MS_MIN, timer: null };
    this.outbound.set(peer.index, out);
    this.dial(out);
  }

  send(to: number, value: unknown): void {
    const out = this.outbound.get(to);
    if (out === undefined) return;
    this.enqueue(out, encodePayload(value));
  }

  broadcast(value: unknown): void {
    if (this.outbound.size === 0) return;
    const payload = encodePayload(value);
    for (const out of this.outbound.values()) this.enqueue(out, payload);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const out of this.outbound.values()) {
      if (out.timer !== null) clearTimeout(out.timer);
      out.socket?.terminate();
    }
    if (this.server !== null) {
      for (const client of this.server.clients) client.terminate();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
  }

  // ---- sending ------------------------------------------------------------------------------------------

  private enqueue(out: Outbound, payload: Uint8Array): void {
    if (out.socket !== null && out.context !== null && out.socket.readyState === WebSocket.OPEN && out.queue.length === 0) {
      this.transmit(out, payload);
      return;
    }
    out.queue.push(payload);
    out.queueBytes += payload.length;
    while (out.queue.length > QUEUE_FRAMES_MAX || out.queueBytes > QUEUE_BYTES_MAX) {
      const dropped = out.queue.shift()!;
      out.queueBytes -= dropped.length;
      this.dropped += 1;
    }
  }

  private transmit(out: Outbound, payload: Uint8Array): void {
    out.seq += 1;
    out.socket!.send(sealFrame(this.o.hasher, this.o.signer, out.context!, out.seq, payload));
  }

  private flush(out: Outbound): void {
    const queued = out.queue;
    out.queue = [];
    out.queueBytes = 0;
    for (const payload of queued) this.transmit(out, payload);
  }

  private dial(out: Outbound): void {
    if (this.closed) return;
    const socket = new WebSocket(out.peer.url, { maxPayload: FRAME_BYTES_MAX, perMessageDeflate: false });
    out.socket = socket;
    out.context = null;
    socket.binaryType = 'nodebuffer';
    socket.once('message', (data: RawData) => {
      const challenge = toBytes(data);
      if (challenge.length !== CHALLENGE_BYTES) {
        socket.terminate();
        return;
      }
      const hello = new Uint8Array(2 + 64);
      new DataView(hello.buffer).setUint16(0, this.o.selfIndex);
      hello.set(this.o.signer.sign(helloSigningBytes(this.o.chainId, this.o.selfIndex, out.peer.index, challenge)), 2);
      socket.send(hello);
      out.context = { chainId: this.o.chainId, from: this.o.selfIndex, to: out.peer.index, challenge };
      out.seq = 0;
      out.delayMs = RECONNECT_DELAY_MS_MIN;
      this.flush(out);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (out.socket === socket) {
        out.socket = null;
        out.context = null;
      }
      this.scheduleRedial(out);
    });
  }

  private scheduleRedial(out: Outbound): void {
    if (this.closed || out.timer !== null) return;
    const delay = out.delayMs * (0.5 + Math.random());
    out.delayMs = Math.min(out.delayMs * 2, RECONNECT_DELAY_MS_MAX);
    out.timer = setTimeout(() => {
      out.timer = null;
      this.dial(out);
    }, delay);
  }

  // ---- receiving ----------------------------------------------------------------------------------------

  private accept(socket: WebSocket): void {
    const challenge = new Uint8Array(randomBytes(CHALLENGE_BYTES));
    let context: FrameContext | null = null;
    let lastSeq = 0;
    const reject = (reason: string): void => {
      this.o.onRejected?.(reason);
      socket.close(4001, reason.slice(0, 120));
      setTimeout(() => socket.terminate(), 1000).unref();
    };
    const helloTimer = setTimeout(() => {
      if (context === null) reject('no hello in time');
    }, HELLO_TIMEOUT_MS);
    helloTimer.unref();
    socket.send(challenge);
    socket.on('error', () => undefined);
    socket.on('message', (data: RawData) => {
      const bytes = toBytes(data);
      if (context === null) {
        if (bytes.length !== 66) return reject('malformed hello');
        const from = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0);
        const member = this.o.membership().nodes[from];
        if (member === undefined || from === this.o.selfIndex) return reject(`unknown peer index ${from}`);
        if (!this.o.verifier.verify(member.publicKey, helloSigningBytes(this.o.chainId, from, this.o.selfIndex, challenge), bytes.subarray(2))) return reject(`peer claiming index ${from} failed the challenge (impersonation or wrong network)`);
        context = { chainId: this.o.chainId, from, to: this.o.selfIndex, challenge };
        clearTimeout(helloTimer);
        return;
      }
      const opened = openFrame(this.o.hasher, this.o.verifier, this.o.membership(), context, lastSeq, bytes);
      if (typeof opened === 'string') return reject(opened);
      lastSeq = opened.seq;
      let value: unknown;
      try {
        value = decodePayload(opened.payload);
      } catch {
        return reject(`undecodable payload from node ${context.from}`);
      }
      this.o.onMessage(context.from, value);
    });
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
