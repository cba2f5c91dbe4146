// Goal: gateways authenticate each other only by their node keys from the genesis file (issue #7,
// acceptance 3, peer half): a request signed by the peer's enrolled key is accepted as that peer acting
// for the forwarded caller; one signed by the wrong key, replayed, stale, addressed to another gateway,
// altered in transit, or from a partner outside the network is refused with 401 — and nothing runs.
// Method: a real gateway server whose authenticator combines app auth and peer auth; requests signed
// with real Ed25519 keys (the ledger's signer) and sent over HTTP; a counter mutation shows execution.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppAuthenticator } from '../../gateway/auth/authenticator.ts';
import { GatewayAuthenticator, PeerAuthenticator, PeerRequestSigner, peerHeaders } from '../../gateway/auth/peer-auth.ts';
import { generateEd25519KeyPair } from '../../ledger/crypto/ed25519.ts';
import { startTestGateway, type StartedGateway } from './support/test-gateway.ts';

const supplierKeys = generateEd25519KeyPair();
const logisticsKeys = generateEd25519KeyPair();
const strangerKeys = generateEd25519KeyPair();
const mutation = JSON.stringify({ query: 'mutation { increment }' });
const whoami = JSON.stringify({ query: '{ whoami }' });

let gateway: StartedGateway;
beforeAll(async () => {
  const peers = new PeerAuthenticator({ self: 'acme', peerKeys: new Map([['supplier', supplierKeys.publicKey], ['logistics', logisticsKeys.publicKey]]) });
  const apps = new AppAuthenticator({ partner: 'acme', jwt: null, apiKeys: null, anonymousRoles: null });
  gateway = await startTestGateway({ authenticator: new GatewayAuthenticator(apps, peers) });
});
afterAll(() => gateway.server.close());

async function send(body: string, headers: Record<string, string>): Promise<{ status: number; json: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } }> {
  const response = await fetch(`${gateway.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, json: (await response.json()) as never };
}

function signed(as: string, secretKey: Uint8Array, body: string, target = 'acme', nowMs?: number): Record<string, string> {
  return new PeerRequestSigner(as, secretKey).headers({ method: 'POST', path: '/graphql', body }, target, { subject: 'bob@supplier.example', roles: ['buyer'] }, nowMs);
}

async function expectRefused(body: string, headers: Record<string, string>, reason: string): Promise<void> {
  const before = gateway.state.counter;
  const answer = await send(body, headers);
  expect(answer.status).toBe(401);
  expect(answer.json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(answer.json.errors?.[0]?.message).toContain(reason);
  expect(gateway.state.counter).toBe(before);
}

describe('peer requests', () => {
  it('accepts a request signed with the peer\'s enrolled key, as that peer acting for the forwarded caller', async () => {
    const answer = await send(whoami, signed('supplier', supplierKeys.secretKey, whoami));
    expect(answer.status).toBe(200);
    expect(answer.json.data).toEqual({ whoami: 'peer:supplier:buyer' });
  });

  it('refuses a request signed with the wrong key', async () => {
    await expectRefused(mutation, signed('supplier', logisticsKeys.secretKey, mutation), "signature does not verify with supplier's node key");
    await expectRefused(mutation, signed('supplier', strangerKeys.secretKey, mutation), 'signature does not verify');
  });

  it('refuses a replayed request, even though its signature is valid', async () => {
    const headers = signed('supplier', supplierKeys.secretKey, mutation);
    expect((await send(mutation, headers)).status).toBe(200);
    expect(gateway.state.counter).toBe(1);
    await expectRefused(mutation, headers, 'already received (replayed nonce)');
    expect(gateway.state.counter).toBe(1);
  });

  it('refuses stale requests, requests for another gateway, altered bodies and strangers', async () => {
    await expectRefused(mutation, signed('supplier', supplierKeys.secretKey, mutation, 'acme', Date.now() - 120_000), 'timestamp is more than 30000 ms');
    await expectRefused(mutation, signed('supplier', supplierKeys.secretKey, mutation, 'logistics'), 'addressed to "logistics"');
    await expectRefused(mutation, signed('supplier', supplierKeys.secretKey, whoami), 'signature does not verify');
    await expectRefused(mutation, signed('stranger', strangerKeys.secretKey, mutation), '"stranger" is not a peer');
    const forgedCaller = { ...signed('supplier', supplierKeys.secretKey, mutation), [peerHeaders.caller]: Buffer.from(JSON.stringify({ subject: 'root', roles: ['admin'] })).toString('base64url') };
    await expectRefused(mutation, forgedCaller, 'signature does not verify');
  });
});
