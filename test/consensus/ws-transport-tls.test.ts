// Goal: with TLS, the consensus endpoint is wss:// and a node dials only peers whose certificate comes
// from an authority it trusts: frames arrive over TLS from a trusted peer, a peer serving a certificate
// nobody vouched for is never connected (and the dialer says why, once, while it keeps retrying), and a
// plain ws:// client cannot talk to a wss:// endpoint. Renewed material takes effect without a restart:
// an authority added to the trusted ones lets the refused peer connect, an authority removed cuts off the
// peer it vouched for at once (its open connection is redialed and refused), and a listener's new
// certificate is what the next dialer sees.
// Method: real WsTransports on loopback with the test certificates of test/support/tls (README there).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createEd25519Signer, ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { createMembership } from '../../ledger/membership.ts';
import { WsTransport, type TransportTls } from '../../ledger/transport/ws-transport.ts';
import { servedFingerprint as fingerprintServed } from '../support/tls-handshake.ts';

const CHAIN = 'tls-chain';
const pem = (name: string): string => readFileSync(new URL(`../support/tls/${name}`, import.meta.url), 'utf8');
const trusted: TransportTls = { serve: { cert: pem('gateway.crt'), key: pem('gateway.key') }, ca: [pem('ca.crt')] };
const stranger: TransportTls = { serve: { cert: pem('stranger.crt'), key: pem('stranger.key') }, ca: [pem('ca.crt')] };
const signers = [1, 2].map((seed) => createEd25519Signer(new Uint8Array(32).fill(seed)));
const membership = createMembership(signers.map((s, i) => ({ partner: `p${i}`, publicKey: s.publicKey })));
const open: WsTransport[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function transport(index: number, tls: TransportTls, peers: { index: number; url: string }[], received: unknown[], dialFailures: string[] = []): WsTransport {
  const created = new WsTransport({
    chainId: CHAIN, selfIndex: index, signer: signers[index]!, verifier: ed25519Verifier, hasher: nodeHasher, membership: () => membership,
    listenHost: '127.0.0.1', listenPort: 0, peers, onMessage: (_from, value) => received.push(value), onDialFailed: (_peer, reason) => dialFailures.push(reason), tls,
  });
  open.push(created);
  return created;
}

const until = async (condition: () => boolean, ms = 3000): Promise<void> => {
  for (let waited = 0; waited < ms && !condition(); waited += 10) await new Promise((r) => setTimeout(r, 10));
};

describe('WebSocket peer transport over TLS', () => {
  it('delivers frames over wss:// between peers whose certificates come from the trusted authority', async () => {
    const received: unknown[] = [];
    const port = await transport(0, trusted, [], received).start();
    const sender = transport(1, trusted, [{ index: 0, url: `wss://127.0.0.1:${port}` }], []);
    await sender.start();
    for (let i = 0; i < 3; i++) sender.send(0, { type: 'test', i });
    await until(() => received.length === 3);
    expect(received).toEqual([{ type: 'test', i: 0 }, { type: 'test', i: 1 }, { type: 'test', i: 2 }]);
  });

  it('never connects to a peer whose certificate no trusted authority issued, and says why once', async () => {
    const received: unknown[] = [];
    const dialFailures: string[] = [];
    const port = await transport(0, stranger, [], received).start();
    const sender = transport(1, trusted, [{ index: 0, url: `wss://127.0.0.1:${port}` }], [], dialFailures);
    await sender.start();
    sender.send(0, { type: 'secret' });
    await new Promise((r) => setTimeout(r, 1500)); // several redials (50 ms backoff, doubling)
    expect(received).toEqual([]);
    expect(dialFailures).toHaveLength(1);
    expect(dialFailures[0]).toBe('DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate');
  });

  it('refuses a plain ws:// client on a wss:// endpoint', async () => {
    const port = await transport(0, trusted, [], []).start();
    const plain = new WebSocket(`ws://127.0.0.1:${port}`);
    const outcome = await new Promise<string>((resolve) => {
      plain.once('open', () => resolve('open'));
      plain.once('error', (error) => resolve(`error: ${error.message}`));
    });
    expect(outcome).toMatch(/^error/);
  });

  it('connects to the refused peer once its authority is trusted, without a restart', async () => {
    const received: unknown[] = [];
    const dialFailures: string[] = [];
    const port = await transport(0, stranger, [], received).start();
    const sender = transport(1, trusted, [{ index: 0, url: `wss://127.0.0.1:${port}` }], [], dialFailures);
    await sender.start();
    sender.send(0, { type: 'held' });
    await until(() => dialFailures.length === 1);
    expect(received).toEqual([]);
    sender.replaceTls({ serve: trusted.serve, ca: [pem('ca.crt'), pem('stranger.crt')] });
    await until(() => received.length === 1, 5000); // the next redial (backoff at most a few seconds)
    expect(received).toEqual([{ type: 'held' }]);
  });

  it('cuts off a connected peer once its authority is no longer trusted, and reconnects when it is again', async () => {
    const received: unknown[] = [];
    const dialFailures: string[] = [];
    const port = await transport(0, trusted, [], received).start();
    const sender = transport(1, trusted, [{ index: 0, url: `wss://127.0.0.1:${port}` }], [], dialFailures);
    await sender.start();
    sender.send(0, { type: 'before' });
    await until(() => received.length === 1);
    sender.replaceTls({ serve: trusted.serve, ca: [pem('stranger.crt')] });
    await until(() => dialFailures.length === 1);
    expect(dialFailures[0]).toMatch(/certificate/i);
    sender.send(0, { type: 'while distrusted' });
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toEqual([{ type: 'before' }]);
    sender.replaceTls(trusted);
    await until(() => received.length === 2, 5000);
    expect(received).toEqual([{ type: 'before' }, { type: 'while distrusted' }]);
  });

  it('serves a replaced certificate to the next handshake', async () => {
    const listener = transport(0, trusted, [], []);
    const port = await listener.start();
    const fingerprint = (name: string): string => new X509Certificate(pem(name)).fingerprint256;
    expect(await servedFingerprint(port)).toBe(fingerprint('gateway.crt'));
    listener.replaceTls({ serve: { cert: pem('gateway-renewed.crt'), key: pem('gateway-renewed.key') }, ca: trusted.ca });
    expect(await servedFingerprint(port)).toBe(fingerprint('gateway-renewed.crt'));
    expect(() => listener.replaceTls({ serve: null, ca: null })).toThrow(/cannot switch/);
  });
});

const servedFingerprint = (port: number): Promise<string> => fingerprintServed(port, pem('ca.crt'));
