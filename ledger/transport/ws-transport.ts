// WebSocket transport between gateway processes. Each node listens for its peers and dials every peer;
// it sends on the connections it dialed and receives on the ones it accepted. An accepted connection is
// authenticated before anything else: the acceptor sends a fresh random challenge, the dialer answers with
// its membership index and a signature over the challenge (peer-frames.ts), and every later frame carries
// a signature and an increasing sequence number bound to that challenge. Unknown indices, bad signatures,
// replays and oversized frames close the connection. Outbound queues are bounded (oldest dropped first:
// consensus re-sends what matters); dialing retries with capped exponential backoff and jitter.
// Messages sent during one turn of the event loop leave together, as one signed frame per peer (a vote
// burst costs one signature and one check, not one per message), and a payload that goes to several
// peers is hashed once. The dialer sends with an all-zero WebSocket mask: masking guards HTTP proxies
// against scripts in browsers, which never sit between two nodes, and costs a pass over every byte on
// both sides; the frames' own authentication is what counts.
// Two frame authentications are accepted on a connection, chosen by the dialer's hello: a session key
// from an X25519 exchange signed by the dialer's member key, then an HMAC per frame (frame-session.ts;
// what this transport dials with), or one Ed25519 signature per frame (peer-frames.ts; the original form,
// still accepted). The acceptor's ephemeral X25519 public key is the challenge of both.
// With `tls`, the endpoint is wss:// (the frames' authentication says who sent them; TLS keeps what they
// carry, row payloads among it, from anyone else on the path), and wss:// peers are checked against the
// given authorities.
import type { KeyObject } from 'node:crypto';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { certificateRefusalReason } from '../../common/tls-refusal.ts';
import type { Hasher } from '../crypto/hasher.ts';
import type { SignatureVerifier, Signer } from '../crypto/signature.ts';
import type { Membership } from '../membership.ts';
import { acceptSession, createEphemeralKey, dialSession, openSessionFrame, sealSessionFrame, SESSION_HELLO_BYTES } from './frame-session.ts';
import { batchPayload, CHALLENGE_BYTES, decodeFramePayload, encodePayload, helloSigningBytes, openFrame, type FrameContext } from './peer-frames.ts';

export const FRAME_BYTES_MAX = 32 * 1024 * 1024;
export const QUEUE_BYTES_MAX = 128 * 1024 * 1024;
/** Messages waiting for one peer (the name predates batching, when each message was a frame). */
export const QUEUE_FRAMES_MAX = 20_000;
/** A batch closes at this many payload bytes; a single larger message still goes alone (up to FRAME_BYTES_MAX). */
export const FRAME_BATCH_BYTES_MAX = 8 * 1024 * 1024;
/** Above this many bytes buffered in the socket, messages wait in the bounded queue instead. */
export const SOCKET_BUFFERED_BYTES_MAX = 64 * 1024 * 1024;
const BUFFERED_RETRY_MS = 5;
export const RECONNECT_DELAY_MS_MIN = 50;
export const RECONNECT_DELAY_MS_MAX = 3_000;
const HELLO_TIMEOUT_MS = 5_000;
/** u16 from | Ed25519 signature over the challenge: the hello of a connection with signed frames. */
const SIGNED_HELLO_BYTES = 2 + 64;

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
  /** A peer could not be dialed; said once per distinct reason until a connection succeeds (retries go on). */
  readonly onDialFailed?: (peerIndex: number, reason: string) => void;
  readonly tls?: TransportTls;
}

export interface TransportTls {
  /** Listen as wss:// with this PEM certificate chain and key; null: plain ws://. */
  readonly serve: { readonly cert: string; readonly key: string } | null;
  /** The authorities wss:// peers' certificates must come from (PEM); null: the system's. */
  readonly ca: readonly string[] | null;
}

interface Outbound {
  readonly peer: PeerAddress;
  socket: WebSocket | null;
  context: FrameContext | null;
  /** The session key of the current connection (frames carry an HMAC under it). */
  sessionKey: KeyObject | null;
  seq: number;
  queue: Uint8Array[];
  queueBytes: number;
  delayMs: number;
  timer: NodeJS.Timeout | null;
  /** The last dial failure reported (not reported again until a connection succeeds or it changes). */
  lastFailure: string | null;
}

export class WsTransport {
  private readonly o: WsTransportOptions;
  private server: WebSocketServer | null = null;
  /** The HTTPS server under `server` when serving wss:// (the WebSocket server then listens through it). */
  private tlsServer: TlsServer | null = null;
  /** The TLS material in use (replaceTls swaps it: new listeners' handshakes and new dials use it). */
  private tls: TransportTls | null;
  private readonly outbound = new Map<number, Outbound>();
  private closed = false;
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  dropped = 0;

  constructor(options: WsTransportOptions) {
    this.o = options;
    this.tls = options.tls ?? null;
  }

  /**
   * New TLS material (a renewed certificate, another trusted authority): the listener's next handshakes
   * and the next dials use it. When the trusted authorities change, the connections this node dialed are
   * closed and dialed again, so a peer whose authority was removed (say, after a compromise) is cut off
   * rather than kept until its connection happens to drop; a renewed certificate alone leaves every
   * connection open. Plain and wss:// cannot be switched in place (the peers hold this endpoint's URL).
   */
  replaceTls(tls: TransportTls): void {
    if ((tls.serve === null) !== ((this.tls?.serve ?? null) === null)) throw new Error('replaceTls cannot switch the consensus endpoint between ws:// and wss://');
    if (tls.serve !== null) this.tlsServer?.setSecureContext({ cert: tls.serve.cert, key: tls.serve.key });
    const trustChanged = !sameAuthorities(this.tls?.ca ?? null, tls.ca);
    this.tls = tls;
    if (trustChanged) for (const out of this.outbound.values()) out.socket?.terminate();
  }

  async start(): Promise<number> {
    const serve = this.tls?.serve ?? null;
    const tlsServer = serve === null ? null : createTlsServer({ cert: serve.cert, key: serve.key });
    this.tlsServer = tlsServer;
    const server = tlsServer === null
      ? new WebSocketServer({ host: this.o.listenHost, port: this.o.listenPort, maxPayload: FRAME_BYTES_MAX, perMessageDeflate: false })
      : new WebSocketServer({ server: tlsServer, maxPayload: FRAME_BYTES_MAX, perMessageDeflate: false });
    this.server = server;
    server.on('connection', (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      const listening = tlsServer ?? server;
      listening.once('listening', resolve);
      listening.once('error', reject);
      tlsServer?.listen(this.o.listenPort, this.o.listenHost);
    });
    for (const peer of this.o.peers) if (peer.index !== this.o.selfIndex) this.addPeer(peer);
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : this.o.listenPort;
  }

  addPeer(peer: PeerAddress): void {
    if (this.outbound.has(peer.index) || peer.index === this.o.selfIndex) return;
    const out: Outbound = { peer, socket: null, context: null, sessionKey: null, seq: 0, queue: [], queueBytes: 0, delayMs: RECONNECT_DELAY_MS_MIN, timer: null, lastFailure: null };
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
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    for (const out of this.outbound.values()) {
      if (out.timer !== null) clearTimeout(out.timer);
      out.socket?.terminate();
    }
    if (this.server !== null) {
      for (const client of this.server.clients) client.terminate();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    if (this.tlsServer !== null) {
      this.tlsServer.closeAllConnections();
      await new Promise<void>((resolve) => this.tlsServer!.close(() => resolve()));
    }
  }

  // ---- sending ------------------------------------------------------------------------------------------

  private enqueue(out: Outbound, payload: Uint8Array): void {
    out.queue.push(payload);
    out.queueBytes += payload.length;
    while (out.queue.length > QUEUE_FRAMES_MAX || out.queueBytes > QUEUE_BYTES_MAX) {
      const dropped = out.queue.shift()!;
      out.queueBytes -= dropped.length;
      this.dropped += 1;
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushAll();
    });
  }

  /** Sends every connected peer's queue as batched frames; identical batches (a broadcast) are hashed once. */
  private flushAll(): void {
    let shared: { parts: readonly Uint8Array[]; payload: Uint8Array; digest: Uint8Array }[] = [];
    for (const out of this.outbound.values()) {
      if (out.queue.length === 0 || out.socket === null || out.context === null || out.sessionKey === null || out.socket.readyState !== WebSocket.OPEN) continue;
      if (out.socket.bufferedAmount > SOCKET_BUFFERED_BYTES_MAX) {
        this.retryLater();
        continue;
      }
      const batches = takeBatches(out);
      const next: typeof shared = [];
      batches.forEach((parts, i) => {
        const known = shared[i];
        const reuse = known !== undefined && sameParts(known.parts, parts);
        const payload = reuse ? known.payload : batchPayload(parts);
        const digest = reuse ? known.digest : this.o.hasher.sha256(payload);
        next.push({ parts, payload, digest });
        out.seq += 1;
        out.socket!.send(sealSessionFrame(out.sessionKey!, out.seq, payload, digest));
      });
      shared = next;
    }
  }

  private retryLater(): void {
    if (this.retryTimer !== null || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.flushAll();
    }, BUFFERED_RETRY_MS);
  }

  private dial(out: Outbound): void {
    if (this.closed) return;
    const ca = this.tls?.ca ?? null;
    const socket = new WebSocket(out.peer.url, { maxPayload: FRAME_BYTES_MAX, perMessageDeflate: false, generateMask: zeroMask, ...(ca === null ? {} : { ca: [...ca] }) });
    out.socket = socket;
    out.context = null;
    out.sessionKey = null;
    socket.binaryType = 'nodebuffer';
    socket.once('message', (data: RawData) => {
      const challenge = toBytes(data);
      if (challenge.length !== CHALLENGE_BYTES) {
        socket.terminate();
        return;
      }
      const session = dialSession(this.o.chainId, this.o.signer, this.o.selfIndex, out.peer.index, challenge);
      if (session === null) {
        socket.terminate();
        return;
      }
      socket.send(session.hello);
      out.context = { chainId: this.o.chainId, from: this.o.selfIndex, to: out.peer.index, challenge };
      out.sessionKey = session.key;
      out.seq = 0;
      out.delayMs = RECONNECT_DELAY_MS_MIN;
      out.lastFailure = null;
      this.scheduleFlush();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const text = certificateRefusalReason(error) ?? error.message;
      const reason = error.code === undefined ? text : `${error.code}: ${text}`;
      if (reason === out.lastFailure) return;
      out.lastFailure = reason;
      this.o.onDialFailed?.(out.peer.index, reason);
    });
    socket.on('close', () => {
      if (out.socket === socket) {
        out.socket = null;
        out.context = null;
        out.sessionKey = null;
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
    const ephemeral = createEphemeralKey();
    const challenge = ephemeral.publicKey;
    let context: FrameContext | null = null;
    let sessionKey: KeyObject | null = null;
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
        if (bytes.length !== SIGNED_HELLO_BYTES && bytes.length !== SESSION_HELLO_BYTES) return reject('malformed hello');
        const from = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0);
        const member = this.o.membership().nodes[from];
        if (member === undefined || from === this.o.selfIndex) return reject(`unknown peer index ${from}`);
        if (bytes.length === SESSION_HELLO_BYTES) {
          const accepted = acceptSession(this.o.chainId, this.o.verifier, member.publicKey, from, this.o.selfIndex, ephemeral, bytes);
          if (typeof accepted === 'string') return reject(accepted);
          sessionKey = accepted;
        } else if (!this.o.verifier.verify(member.publicKey, helloSigningBytes(this.o.chainId, from, this.o.selfIndex, challenge), bytes.subarray(2))) {
          return reject(`peer claiming index ${from} failed the challenge (impersonation or wrong network)`);
        }
        context = { chainId: this.o.chainId, from, to: this.o.selfIndex, challenge };
        clearTimeout(helloTimer);
        return;
      }
      const opened = sessionKey !== null
        ? openSessionFrame(sessionKey, (payload) => this.o.hasher.sha256(payload), lastSeq, bytes)
        : openFrame(this.o.hasher, this.o.verifier, this.o.membership(), context, lastSeq, bytes);
      if (typeof opened === 'string') return reject(`${opened} (node ${context.from})`);
      lastSeq = opened.seq;
      let values: unknown[];
      try {
        values = decodeFramePayload(opened.payload);
      } catch {
        return reject(`undecodable payload from node ${context.from}`);
      }
      for (const value of values) this.o.onMessage(context.from, value);
    });
  }
}

/** Takes the queue as batches of at most FRAME_BATCH_BYTES_MAX payload bytes (a larger message alone). */
function takeBatches(out: Outbound): Uint8Array[][] {
  const batches: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let bytes = 0;
  for (const payload of out.queue) {
    if (current.length > 0 && bytes + payload.length > FRAME_BATCH_BYTES_MAX) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(payload);
    bytes += payload.length;
  }
  if (current.length > 0) batches.push(current);
  out.queue = [];
  out.queueBytes = 0;
  return batches;
}

function sameParts(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function sameAuthorities(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((pem, index) => pem === b[index]);
}
