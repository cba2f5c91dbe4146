// Goal: the peer transport delivers signed frames between members and rejects everyone else: an index
// outside the membership, a peer that claims a member's index without its key, a frame replayed on the
// same connection, and a frame recorded on one connection and replayed on another.
// Method: a real WsTransport on loopback, and a hand-driven `ws` client that speaks the handshake with
// chosen keys (peer-frames.ts does the signing exactly as a node would).
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createEd25519Signer, ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import type { Signer } from '../../ledger/crypto/signature.ts';
import { createMembership } from '../../ledger/membership.ts';
import { encodePayload, helloSigningBytes, sealFrame } from '../../ledger/transport/peer-frames.ts';
import { WsTransport } from '../../ledger/transport/ws-transport.ts';

const CHAIN = 'test-chain';
const signers = [1, 2, 3].map((seed) => createEd25519Signer(new Uint8Array(32).fill(seed)));
const membership = createMembership(signers.map((s, i) => ({ partner: `p${i}`, publicKey: s.publicKey })));
const open: WsTransport[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

async function listener(received: { from: number; value: unknown }[], rejected: string[]): Promise<{ transport: WsTransport; port: number }> {
  const transport = new WsTransport({
    chainId: CHAIN, selfIndex: 0, signer: signers[0]!, verifier: ed25519Verifier, hasher: nodeHasher, membership: () => membership,
    listenHost: '127.0.0.1', listenPort: 0, peers: [], onMessage: (from, value) => received.push({ from, value }), onRejected: (reason) => rejected.push(reason),
  });
  open.push(transport);
  return { transport, port: await transport.start() };
}

/** Connects to `port` as `claimedIndex`, signing with `signer`; returns the socket and the challenge. */
async function connectAs(port: number, claimedIndex: number, signer: Signer): Promise<{ socket: WebSocket; challenge: Uint8Array; closed: Promise<number> }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`);
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  const challenge = await new Promise<Uint8Array>((resolve) => socket.once('message', (data: Buffer) => resolve(new Uint8Array(data))));
  const hello = new Uint8Array(66);
  new DataView(hello.buffer).setUint16(0, claimedIndex);
  hello.set(signer.sign(helloSigningBytes(CHAIN, claimedIndex, 0, challenge)), 2);
  socket.send(hello);
  return { socket, challenge, closed };
}

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('WebSocket peer transport', () => {
  it('delivers frames between two members, in order', async () => {
    const received: { from: number; value: unknown }[] = [];
    const { port } = await listener(received, []);
    const sender = new WsTransport({
      chainId: CHAIN, selfIndex: 1, signer: signers[1]!, verifier: ed25519Verifier, hasher: nodeHasher, membership: () => membership,
      listenHost: '127.0.0.1', listenPort: 0, peers: [{ index: 0, url: `ws://127.0.0.1:${port}` }], onMessage: () => undefined,
    });
    open.push(sender);
    await sender.start();
    for (let i = 0; i < 5; i++) sender.send(0, { type: 'test', i, bytes: Uint8Array.of(i, 255) });
    await until(() => received.length === 5);
    expect(received.map((r) => r.from)).toEqual([1, 1, 1, 1, 1]);
    expect(received.map((r) => (r.value as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
    expect((received[4]!.value as { bytes: Uint8Array }).bytes).toEqual(Uint8Array.of(4, 255));
  });

  it('rejects an index outside the membership and a peer that claims a member index without its key', async () => {
    const received: { from: number; value: unknown }[] = [];
    const rejected: string[] = [];
    const { port } = await listener(received, rejected);
    const outsider = await connectAs(port, 7, signers[1]!);
    expect(await outsider.closed).toBe(4001);
    const impostor = await connectAs(port, 2, createEd25519Signer(new Uint8Array(32).fill(9)));
    expect(await impostor.closed).toBe(4001);
    expect(rejected.join('\n')).toMatch(/unknown peer index 7/);
    expect(rejected.join('\n')).toMatch(/claiming index 2 failed the challenge/);
    expect(received).toEqual([]);
  });

  it('rejects a replayed frame on the same connection and a recorded frame on a new connection', async () => {
    const received: { from: number; value: unknown }[] = [];
    const rejected: string[] = [];
    const { port } = await listener(received, rejected);
    const first = await connectAs(port, 2, signers[2]!);
    const frame = sealFrame(nodeHasher, signers[2]!, { chainId: CHAIN, from: 2, to: 0, challenge: first.challenge }, 1, encodePayload({ n: 1 }));
    first.socket.send(frame);
    await until(() => received.length === 1);
    first.socket.send(frame);
    expect(await first.closed).toBe(4001);
    expect(rejected.at(-1)).toMatch(/replayed/);
    const second = await connectAs(port, 2, signers[2]!);
    second.socket.send(frame); // seq 1 is fresh here, but the frame is bound to the first connection's challenge
    expect(await second.closed).toBe(4001);
    expect(rejected.at(-1)).toMatch(/signature does not verify/);
    expect(received).toHaveLength(1);
  });
});
