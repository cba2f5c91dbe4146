// Goal: only authenticated partner apps reach the API (issue #7, acceptance 3, app half): a missing,
// expired, wrongly signed, wrong-audience or wrong-issuer token, an unknown API key, and an anonymous
// request where anonymous access is off are all refused with 401 and a message that says what to fix —
// and nothing changes (the mutation they carried never runs). Valid JWTs (HS256 from a secret, RS256
// from a PEM file, EdDSA from a JWKS URL) and API keys map their claims to the partner's roles.
// Method: a real gateway server with the real AppAuthenticator; tokens minted with jose; a real local
// HTTP server publishes the JWKS; a counter mutation shows whether anything executed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import WebSocket from 'ws';
import { ApiKeyStore, issueApiKey } from '../../gateway/auth/api-keys.ts';
import { AppAuthenticator } from '../../gateway/auth/authenticator.ts';
import { JwtVerifier, type JwtSettings } from '../../gateway/auth/jwt-verifier.ts';
import { postGraphQL, startTestGateway, type StartedGateway } from './support/test-gateway.ts';

const issuer = 'https://login.acme.example';
const audience = 'entente-gateway-acme';
const secret = 'a-test-secret-of-at-least-32-bytes-length!';

interface Minting {
  readonly key: CryptoKey | Uint8Array;
  readonly alg: 'HS256' | 'RS256' | 'EdDSA';
  readonly kid?: string;
}

async function mint(minting: Minting, claims: { sub?: string; roles?: unknown; aud?: string; iss?: string; exp?: number | string } = {}): Promise<string> {
  const jwt = new SignJWT({ roles: claims.roles ?? ['buyer', 'auditor'] })
    .setProtectedHeader({ alg: minting.alg, ...(minting.kid === undefined ? {} : { kid: minting.kid }) })
    .setSubject(claims.sub ?? 'alice@acme.example')
    .setIssuer(claims.iss ?? issuer)
    .setAudience(claims.aud ?? audience)
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? '5m');
  return jwt.sign(minting.key);
}

function authenticator(jwt: JwtSettings['key'], algorithms: JwtSettings['algorithms'], extra: { apiKeys?: ApiKeyStore; anonymousRoles?: readonly string[] } = {}) {
  return new AppAuthenticator({
    partner: 'acme',
    jwt: new JwtVerifier({ issuer, audience, algorithms, key: jwt, rolesClaim: 'roles', clockToleranceSeconds: 5 }),
    apiKeys: extra.apiKeys ?? null,
    anonymousRoles: extra.anonymousRoles ?? null,
  });
}

async function expectRefused(gateway: StartedGateway, headers: Record<string, string>, messagePart: string): Promise<void> {
  const answer = await postGraphQL(gateway.base, 'mutation { increment }', { headers });
  expect(answer.status).toBe(401);
  expect(answer.headers.get('www-authenticate')).toContain('Bearer');
  expect(answer.body.data).toBeUndefined();
  expect(answer.body.errors?.[0]?.extensions?.['code']).toBe('UNAUTHENTICATED');
  expect(answer.body.errors?.[0]?.message).toContain(messagePart);
  expect(gateway.state.counter).toBe(0);
}

describe('HS256 tokens from a shared secret', () => {
  let gateway: StartedGateway;
  const key = new TextEncoder().encode(secret);
  beforeAll(async () => {
    gateway = await startTestGateway({ authenticator: authenticator({ kind: 'secret', secret }, ['HS256']) });
  });
  afterAll(() => gateway.server.close());

  it('accepts a valid token and maps its roles claim', async () => {
    const answer = await postGraphQL(gateway.base, '{ whoami }', { headers: { authorization: `Bearer ${await mint({ key, alg: 'HS256' })}` } });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ whoami: 'app:acme:buyer,auditor' });
  });

  it('refuses a request without credentials', async () => {
    await expectRefused(gateway, {}, 'requires authentication');
  });

  it('refuses an expired token', async () => {
    const expired = await mint({ key, alg: 'HS256' }, { exp: Math.floor(Date.now() / 1000) - 60 });
    await expectRefused(gateway, { authorization: `Bearer ${expired}` }, 'has expired');
  });

  it('refuses a token signed with another secret', async () => {
    const forged = await mint({ key: new TextEncoder().encode('another-secret-of-at-least-32-bytes!!'), alg: 'HS256' });
    await expectRefused(gateway, { authorization: `Bearer ${forged}` }, 'signature does not verify');
  });

  it('refuses a token for another audience or from another issuer', async () => {
    await expectRefused(gateway, { authorization: `Bearer ${await mint({ key, alg: 'HS256' }, { aud: 'some-other-api' })}` }, `audience must be "${audience}"`);
    await expectRefused(gateway, { authorization: `Bearer ${await mint({ key, alg: 'HS256' }, { iss: 'https://evil.example' })}` }, `issuer must be "${issuer}"`);
  });

  it('refuses garbage, unknown schemes and tampered payloads', async () => {
    await expectRefused(gateway, { authorization: 'Bearer not.a.jwt' }, 'malformed');
    await expectRefused(gateway, { authorization: 'Basic YWxpY2U6c2VjcmV0' }, 'scheme "Basic" is not supported');
    const [header, , signature] = (await mint({ key, alg: 'HS256' })).split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'mallory', roles: ['admin'], iss: issuer, aud: audience, exp: 9_999_999_999 })).toString('base64url');
    await expectRefused(gateway, { authorization: `Bearer ${header}.${payload}.${signature}` }, 'signature does not verify');
  });

  it('refuses WebSocket connections without a valid token, with a reason', async () => {
    const socket = new WebSocket(gateway.url.replace('http://', 'ws://'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer nope' } }));
    const { code, reason } = await closed;
    expect(code).toBe(4401);
    expect(reason).toContain('Unauthorized: The token is malformed');
  });
});

describe('RS256 from a PEM file and EdDSA from a JWKS URL', () => {
  let rsa: { publicKey: CryptoKey; privateKey: CryptoKey };
  let ed: { publicKey: CryptoKey; privateKey: CryptoKey };
  let jwksServer: Server;
  let jwksUrl: string;
  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ed = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = { ...(await exportJWK(ed.publicKey)), kid: 'ed-1', alg: 'EdDSA', use: 'sig' };
    jwksServer = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

  it('verifies RS256 with a PEM public key and refuses an algorithm it was not configured for', async () => {
    const gateway = await startTestGateway({ authenticator: authenticator({ kind: 'pem', pem: await exportSPKI(rsa.publicKey) }, ['RS256']) });
    try {
      const ok = await postGraphQL(gateway.base, '{ whoami }', { headers: { authorization: `Bearer ${await mint({ key: rsa.privateKey, alg: 'RS256' }, { roles: 'planner viewer' })}` } });
      expect(ok.body.data).toEqual({ whoami: 'app:acme:planner,viewer' });
      const hs = await mint({ key: new TextEncoder().encode(secret), alg: 'HS256' });
      await expectRefused(gateway, { authorization: `Bearer ${hs}` }, 'algorithm this gateway does not accept');
      const otherRsa = await generateKeyPair('RS256');
      await expectRefused(gateway, { authorization: `Bearer ${await mint({ key: otherRsa.privateKey, alg: 'RS256' })}` }, 'signature does not verify');
    } finally {
      await gateway.server.close();
    }
  });

  it('verifies EdDSA with keys fetched from a JWKS URL, by kid', async () => {
    const gateway = await startTestGateway({ authenticator: authenticator({ kind: 'jwks-url', url: jwksUrl }, ['EdDSA']) });
    try {
      const ok = await postGraphQL(gateway.base, '{ whoami }', { headers: { authorization: `Bearer ${await mint({ key: ed.privateKey, alg: 'EdDSA', kid: 'ed-1' })}` } });
      expect(ok.body.data).toEqual({ whoami: 'app:acme:buyer,auditor' });
      const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      await expectRefused(gateway, { authorization: `Bearer ${await mint({ key: stranger.privateKey, alg: 'EdDSA', kid: 'ed-1' })}` }, 'signature does not verify');
      await expectRefused(gateway, { authorization: `Bearer ${await mint({ key: stranger.privateKey, alg: 'EdDSA', kid: 'unknown-kid' })}` }, 'signature does not verify');
    } finally {
      await gateway.server.close();
    }
  });
});

describe('API keys and anonymous access', () => {
  it('accepts an issued API key (stored only as its hash) and refuses an unknown or altered one', async () => {
    const issued = issueApiKey(['scanner'], 'warehouse scanner');
    expect(JSON.stringify(issued.record)).not.toContain(issued.key.split('_')[2]);
    const store = new ApiKeyStore([issued.record]);
    const gateway = await startTestGateway({ authenticator: authenticator({ kind: 'secret', secret }, ['HS256'], { apiKeys: store }) });
    try {
      const viaHeader = await postGraphQL(gateway.base, '{ whoami }', { headers: { 'x-api-key': issued.key } });
      expect(viaHeader.body.data).toEqual({ whoami: 'app:acme:scanner' });
      const viaBearer = await postGraphQL(gateway.base, '{ whoami }', { headers: { authorization: `Bearer ${issued.key}` } });
      expect(viaBearer.body.data).toEqual({ whoami: 'app:acme:scanner' });
      const altered = issued.key.slice(0, -1) + (issued.key.endsWith('A') ? 'B' : 'A');
      await expectRefused(gateway, { 'x-api-key': altered }, 'API key is not valid');
      await expectRefused(gateway, { 'x-api-key': issueApiKey(['scanner']).key }, 'API key is not valid');
    } finally {
      await gateway.server.close();
    }
  });

  it('lets requests without credentials in only when anonymous access is configured, with its roles', async () => {
    const gateway = await startTestGateway({ authenticator: authenticator({ kind: 'secret', secret }, ['HS256'], { anonymousRoles: ['public'] }) });
    try {
      const answer = await postGraphQL(gateway.base, '{ whoami }');
      expect(answer.body.data).toEqual({ whoami: 'anonymous:acme:public' });
      // A bad token is still refused: anonymous access never downgrades a failed authentication.
      await expectRefused(gateway, { authorization: 'Bearer not.a.jwt' }, 'malformed');
    } finally {
      await gateway.server.close();
    }
  });
});
