// Authentication of partner apps: a JWT (`Authorization: Bearer <jwt>`) or an API key
// (`Authorization: ApiKey <key>`, `X-Api-Key: <key>`, or a Bearer value that is an Entente key).
// A request without credentials is anonymous only when the configuration allows it; otherwise it is
// refused. Peers never authenticate here: they use their node keys on the peer protocol.
import { EntenteError } from '../../common/errors.ts';
import type { ApiKeyStore } from './api-keys.ts';
import type { Authenticator, Caller, CredentialSource } from './caller.ts';
import type { JwtVerifier } from './jwt-verifier.ts';

export interface AppAuthenticatorOptions {
  readonly partner: string;
  readonly jwt: JwtVerifier | null;
  readonly apiKeys: ApiKeyStore | null;
  /** Roles of anonymous callers, or null to refuse requests without credentials. */
  readonly anonymousRoles: readonly string[] | null;
}

/** Longest credential header accepted; anything longer is refused before parsing. */
export const credentialBytesMax = 16_384;

export class AppAuthenticator implements Authenticator {
  readonly #options: AppAuthenticatorOptions;

  constructor(options: AppAuthenticatorOptions) {
    this.#options = options;
  }

  async authenticate(source: CredentialSource): Promise<Caller> {
    const credential = credentialOf(source);
    const { partner } = this.#options;
    if (credential === null) {
      if (this.#options.anonymousRoles !== null) return { kind: 'anonymous', partner, roles: this.#options.anonymousRoles };
      throw new EntenteError('UNAUTHENTICATED', `This gateway requires authentication: send \`Authorization: Bearer <token>\` with a JWT from ${partner}'s identity provider, or \`X-Api-Key: <key>\`.`);
    }
    if (credential.value.length > credentialBytesMax) {
      throw new EntenteError('UNAUTHENTICATED', `The credential is longer than ${credentialBytesMax} bytes; send a compact JWT or an API key.`);
    }
    if (credential.kind === 'api-key') {
      if (this.#options.apiKeys === null) throw new EntenteError('UNAUTHENTICATED', 'This gateway does not accept API keys; send a JWT as `Authorization: Bearer <token>`.');
      const record = this.#options.apiKeys.verify(credential.value);
      return { kind: 'app', partner, subject: `api-key:${record.id}`, roles: record.roles, method: 'api-key' };
    }
    if (this.#options.jwt === null) throw new EntenteError('UNAUTHENTICATED', 'This gateway does not accept JWTs; send an API key as `X-Api-Key: <key>`.');
    const token = await this.#options.jwt.verify(credential.value);
    return { kind: 'app', partner, subject: token.subject, roles: token.roles, method: 'jwt' };
  }
}

interface Credential {
  readonly kind: 'jwt' | 'api-key';
  readonly value: string;
}

function credentialOf(source: CredentialSource): Credential | null {
  const apiKeyHeader = single(source.headers['x-api-key']);
  if (apiKeyHeader !== undefined && apiKeyHeader.length > 0) return { kind: 'api-key', value: apiKeyHeader.trim() };
  const authorization = single(source.headers['authorization']);
  if (authorization === undefined || authorization.trim().length === 0) return null;
  const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization.trim());
  if (match === null) throw new EntenteError('UNAUTHENTICATED', 'The Authorization header must be `Bearer <token>` or `ApiKey <key>`.');
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === 'apikey') return { kind: 'api-key', value };
  if (scheme === 'bearer') return { kind: value.startsWith('ent_') ? 'api-key' : 'jwt', value };
  throw new EntenteError('UNAUTHENTICATED', `The Authorization scheme "${match[1]}" is not supported; use \`Bearer <token>\` or \`ApiKey <key>\`.`);
}

function single(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}
