// Builds the app authenticator a gateway configuration describes, reading its key files once at start.
import { readFile } from 'node:fs/promises';
import { EntenteError } from '../../common/errors.ts';
import type { AuthConfig, JwtConfig } from '../config/gateway-config.ts';
import { apiKeyIdPattern, ApiKeyStore, type ApiKeyRecord } from './api-keys.ts';
import { AppAuthenticator } from './authenticator.ts';
import { JwtVerifier, type JwtKeySource } from './jwt-verifier.ts';

export const apiKeysPerGatewayMax = 10_000;

export async function appAuthenticatorFromConfig(auth: AuthConfig, partner: string): Promise<AppAuthenticator> {
  const jwt = auth.jwt === null ? null : new JwtVerifier({ ...auth.jwt, key: await jwtKeySource(auth.jwt) });
  const apiKeys = auth.apiKeysFile === null ? null : new ApiKeyStore(await readApiKeys(auth.apiKeysFile));
  return new AppAuthenticator({ partner, jwt, apiKeys, anonymousRoles: auth.anonymousRoles });
}

async function jwtKeySource(jwt: JwtConfig): Promise<JwtKeySource> {
  if (jwt.key.kind === 'jwks-url') return { kind: 'jwks-url', url: jwt.key.url };
  const text = await readConfiguredFile(jwt.key.path, jwt.key.kind === 'secret-file' ? 'auth.jwt.secretFile' : 'auth.jwt.keyFile');
  if (jwt.key.kind === 'secret-file') {
    const secret = text.trim();
    if (Buffer.byteLength(secret) < 32) throw new EntenteError('CONFIG_INVALID', `auth.jwt.secretFile: the secret in ${jwt.key.path} is shorter than 32 bytes; HS256 needs at least 32 random bytes.`);
    return { kind: 'secret', secret };
  }
  return text.trimStart().startsWith('{') ? { kind: 'jwks-document', json: text } : { kind: 'pem', pem: text };
}

async function readApiKeys(file: string): Promise<readonly ApiKeyRecord[]> {
  const text = await readConfiguredFile(file, 'auth.apiKeysFile');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch {
    throw new EntenteError('CONFIG_INVALID', `auth.apiKeysFile: ${file} is not valid JSON; it must be a list of { "id", "sha256", "roles" }.`);
  }
  if (!Array.isArray(parsed) || parsed.length > apiKeysPerGatewayMax) throw new EntenteError('CONFIG_INVALID', `auth.apiKeysFile: ${file} must be a list of at most ${apiKeysPerGatewayMax} { "id", "sha256", "roles" } records.`);
  return parsed.map((item: unknown, index): ApiKeyRecord => {
    const record = item as Partial<ApiKeyRecord> | null;
    const valid =
      record !== null && typeof record === 'object' && typeof record.id === 'string' && apiKeyIdPattern.test(record.id) &&
      typeof record.sha256 === 'string' && /^[0-9a-f]{64}$/.test(record.sha256) && Array.isArray(record.roles) && record.roles.every((role) => typeof role === 'string');
    if (!valid) throw new EntenteError('CONFIG_INVALID', `auth.apiKeysFile: record ${index} in ${file} must be { "id": "<8-32 lower-case letters/digits>", "sha256": "<64 hex>", "roles": ["…"] }.`);
    return record as ApiKeyRecord;
  });
}

async function readConfiguredFile(file: string, field: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `${field}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}); check the path (relative paths start at the configuration file's folder).`, { cause: error });
  }
}
