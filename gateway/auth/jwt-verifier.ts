// JWTs issued by the partner's identity provider. The key comes from a file (an HS256 secret, a PEM
// public key for RS256/EdDSA, or a JWK/JWKS JSON document) or from a JWKS URL (fetched and cached by
// jose, rotated keys picked up by `kid`). Issuer, audience, expiry and the algorithm allow-list are
// always checked; every failure becomes an UNAUTHENTICATED error that says what to fix.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { EntenteError } from '../../common/errors.ts';

export type JwtAlgorithm = 'HS256' | 'RS256' | 'EdDSA';
export const jwtAlgorithms: readonly JwtAlgorithm[] = ['HS256', 'RS256', 'EdDSA'];

export type JwtKeySource =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'pem'; readonly pem: string }
  | { readonly kind: 'jwks-document'; readonly json: string }
  | { readonly kind: 'jwks-url'; readonly url: string };

export interface JwtSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly key: JwtKeySource;
  /** Claim holding the caller's roles (array or space-separated string); dots walk into objects. */
  readonly rolesClaim: string;
  readonly clockToleranceSeconds: number;
}

export interface VerifiedToken {
  readonly subject: string;
  readonly roles: readonly string[];
  readonly claims: JWTPayload;
}

/** Roles claims larger than this are refused rather than trusted into every policy decision. */
export const rolesPerTokenMax = 64;

export class JwtVerifier {
  readonly #settings: JwtSettings;
  readonly #key: KeyObject | JWTVerifyGetKey;

  constructor(settings: JwtSettings) {
    this.#settings = settings;
    this.#key = resolveKey(settings.key);
  }

  async verify(token: string): Promise<VerifiedToken> {
    const settings = this.#settings;
    let payload: JWTPayload;
    try {
      const options = { issuer: settings.issuer, audience: settings.audience, algorithms: [...settings.algorithms], clockTolerance: settings.clockToleranceSeconds, requiredClaims: ['exp'] };
      const result = typeof this.#key === 'function' ? await jwtVerify(token, this.#key, options) : await jwtVerify(token, this.#key, options);
      payload = result.payload;
    } catch (error) {
      throw tokenRejected(error, settings);
    }
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
      throw new EntenteError('UNAUTHENTICATED', 'The token has no subject (`sub` claim). Ask your identity provider to include one.');
    }
    return { subject: payload.sub, roles: rolesFrom(payload, settings.rolesClaim), claims: payload };
  }
}

function resolveKey(source: JwtKeySource): KeyObject | JWTVerifyGetKey {
  switch (source.kind) {
    case 'secret':
      return createSecretKey(Buffer.from(source.secret, 'utf8'));
    case 'pem':
      return createPublicKey(source.pem);
    case 'jwks-document': {
      const parsed = JSON.parse(source.json) as { keys?: unknown };
      const jwks = Array.isArray(parsed.keys) ? parsed : { keys: [parsed] };
      return createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
    }
    case 'jwks-url':
      return createRemoteJWKSet(new URL(source.url), { timeoutDuration: 5_000, cooldownDuration: 30_000 });
  }
}

function rolesFrom(payload: JWTPayload, claimPath: string): readonly string[] {
  let value: unknown = payload;
  for (const part of claimPath.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  const roles = typeof value === 'string' ? value.split(' ').filter((role) => role.length > 0) : Array.isArray(value) ? value : [];
  if (roles.length > rolesPerTokenMax || roles.some((role) => typeof role !== 'string')) {
    throw new EntenteError('UNAUTHENTICATED', `The token's \`${claimPath}\` claim must be a list of at most ${rolesPerTokenMax} role names.`);
  }
  return roles as string[];
}

function tokenRejected(error: unknown, settings: JwtSettings): EntenteError {
  const reject = (message: string): EntenteError => new EntenteError('UNAUTHENTICATED', message, { cause: error });
  if (error instanceof errors.JWTExpired) return reject('The token has expired. Get a fresh token from your identity provider and retry.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return reject(`The token is not meant for this gateway: its audience must be "${settings.audience}". Request a token for that audience.`);
    if (error.claim === 'iss') return reject(`The token was issued by someone this gateway does not trust: the issuer must be "${settings.issuer}".`);
    if (error.claim === 'exp') return reject('The token has no expiry (`exp` claim); this gateway accepts only tokens that expire.');
    if (error.claim === 'nbf') return reject('The token is not valid yet (`nbf` is in the future). Check the clocks of the issuer and this gateway.');
    return reject(`The token's \`${error.claim}\` claim is not acceptable: ${error.message}.`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return reject('The token signature does not verify with the keys this gateway trusts. Use a token from the configured identity provider.');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return reject(`The token is signed with an algorithm this gateway does not accept; allowed: ${settings.algorithms.join(', ')}.`);
  }
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSENotSupported) {
    return reject('The gateway could not obtain the key to check this token. Try again; if it persists, tell the gateway operator.');
  }
  return reject('The token is malformed: send a compact JWT as `Authorization: Bearer <token>`.');
}
