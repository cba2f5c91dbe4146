// Goal: session-authenticated frames (frame-session.ts), which nodes now dial with, reject everything the
// signed frames rejected: a hello signed by a key that is not the claimed member's, a hello made for
// another connection's challenge, a replayed or reordered frame, a frame recorded on one connection and
// sent on another, a payload changed in transit, and a small-order ephemeral key.
// Method: a real WsTransport on loopback and a hand-driven `ws` client speaking the session handshake
// with frame-session.ts, exactly as a node does, with chosen keys and bytes.
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createEd25519Signer, ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import type { Signer } from '../../ledger/crypto/signature.ts';
import { createMembership } from '../../ledger/membership.ts';
import { dialSession, sealSessionFrame, SESSION_HELLO_BYTES } from '../../ledger/transport/frame-session.ts';
import { encodePayload } from '../../ledger/transport/peer-frames.ts';
import { WsTransport } from '../../ledger/transport/ws-transport.ts';

const CHAIN = 'test-chain';
const signers = [1, 2, 3].map((seed) => createEd25519Signer(new Uint8Array(32).fill(seed)));
const membership = createMembership(signers.map((s, i) => ({ partner: `p${i}`, publicKey: s.publicKey })));
const open: WsTransport[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function listener(received: unknown[], rejected: string[]): Promise<number> {
  const transport = new WsTransport({
    chainId: CHAIN, selfIndex: 0, signer: signers[0]!, verifier: ed25519Verifier, hasher: nodeHasher, membership: () => membership,
    listenHost: '127.0.0.1', listenPort: 0, peers: [], onMessage: (_from, value) => received.push(value), onRejected: (reason) => rejected.push(reason),
  });
  open.push(transport);
  return transport.start();
}

interface Connection {
  readonly socket: WebSocket;
  readonly challenge: Uint8Array;
  readonly closed: Promise<number>;
}

async function connect(port: number): Promise<Connection> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`);
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  const challenge = await new Promise<Uint8Array>((resolve) => socket.once('message', (data: Buffer) => resolve(new Uint8Array(data))));
  return { socket, challenge, closed };
}

function handshake(connection: Connection, claimedIndex: number, signer: Signer, challenge = connection.challenge): ReturnType<typeof dialSession> {
  const session = dialSession(CHAIN, signer, claimedIndex, 0, challenge)!;
  connection.socket.send(session.hello);
  return session;
}

function frame(session: NonNullable<ReturnType<typeof dialSession>>, seq: number, value: unknown): Uint8Array {
  const payload = encodePayload(value);
  return sealSessionFrame(session.key, seq, payload, nodeHasher.sha256(payload));
}

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('session-authenticated peer frames', () => {
  it('delivers in order, and rejects a replay, a reordering and a tampered payload', async () => {
    const received: unknown[] = [];
    const rejected: string[] = [];
    const port = await listener(received, rejected);
    const first = await connect(port);
    const session = handshake(first, 1, signers[1]!)!;
    first.socket.send(frame(session, 1, { n: 1 }));
    first.socket.send(frame(session, 2, { n: 2 }));
    await until(() => received.length === 2);
    expect(received).toEqual([{ n: 1 }, { n: 2 }]);
    first.socket.send(frame(session, 2, { n: 3 }));
    expect(await first.closed).toBe(4001);
    expect(rejected.at(-1)).toMatch(/replayed or reordered/);

    const second = await connect(port);
    const other = handshake(second, 1, signers[1]!)!;
    const tampered = frame(other, 1, { n: 4 });
    tampered[tampered.length - 1]! ^= 1;
    second.socket.send(tampered);
    expect(await second.closed).toBe(4001);
    expect(rejected.at(-1)).toMatch(/tag does not verify/);
    expect(received).toHaveLength(2);
  });

  it('rejects a frame recorded on one connection and sent on another', async () => {
    const received: unknown[] = [];
    const rejected: string[] = [];
    const port = await listener(received, rejected);
    const first = await connect(port);
    const recorded = frame(handshake(first, 2, signers[2]!)!, 1, { n: 1 });
    first.socket.send(recorded);
    await until(() => received.length === 1);
    const second = await connect(port);
    handshake(second, 2, signers[2]!);
    second.socket.send(recorded); // seq 1 is fresh here, but the tag is under the first connection's key
    expect(await second.closed).toBe(4001);
    expect(rejected.at(-1)).toMatch(/tag does not verify/);
    expect(received).toHaveLength(1);
  });

  it('rejects a hello by the wrong key, a hello made for another challenge, and a small-order ephemeral key', async () => {
    const received: unknown[] = [];
    const rejected: string[] = [];
    const port = await listener(received, rejected);
    const impostor = await connect(port);
    handshake(impostor, 2, createEd25519Signer(new Uint8Array(32).fill(9)));
    expect(await impostor.closed).toBe(4001);
    expect(rejected.at(-1)).toMatch(/claiming index 2 failed the challenge/);

    const earlier = await connect(port);
    const later = await connect(port);
    handshake(later, 1, signers[1]!, earlier.challenge); // signed for the other connection's challenge
    expect(await later.closed).toBe(4001);
    expect(rejected.at(-1)).toMatch(/failed the challenge/);
    earlier.socket.terminate();

    const weak = await connect(port);
    const hello = new Uint8Array(SESSION_HELLO_BYTES); // index 1, all-zero X25519 key, no valid signature
    new DataView(hello.buffer).setUint16(0, 1);
    weak.socket.send(hello);
    expect(await weak.closed).toBe(4001);
    expect(received).toEqual([]);
    // A small-order key makes the shared secret all zeros: either end refuses to derive a session from it.
    expect(dialSession(CHAIN, signers[1]!, 1, 0, new Uint8Array(32))).toBeNull();
    expect(dialSession(CHAIN, signers[1]!, 1, 0, Uint8Array.of(1, ...new Uint8Array(31)))).toBeNull();
  });
});
