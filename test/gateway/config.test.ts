// Goal: a gateway configuration is validated as a whole before anything starts, and every mistake is
// reported with the field's path and the fix — missing fields, wrong types, typos of field names,
// contradictory auth settings — while a good file yields resolved, absolute paths and default limits.
// Method: parseGatewayConfig on literal objects; loadGatewayConfig and the authenticator built from a
// real file on disk (a temporary folder with a secret file and an API-key file).
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEntenteError } from '../../common/errors.ts';
import { issueApiKey } from '../../gateway/auth/api-keys.ts';
import { appAuthenticatorFromConfig } from '../../gateway/auth/from-config.ts';
import { loadGatewayConfig, parseGatewayConfig } from '../../gateway/config/gateway-config.ts';
import { defaultLimits } from '../../gateway/server/limits.ts';

const good = {
  partner: 'manufacturer',
  database: { url: 'postgres://postgres@127.0.0.1:5432/factory' },
  listen: { port: 4100 },
  node: { keyFile: 'keys/manufacturer.key' },
  genesisFile: 'genesis.json',
  peers: [{ partner: 'supplier', url: 'http://supplier.example:4000/' }],
  auth: { jwt: { issuer: 'https://login.example', audience: 'entente', algorithms: ['RS256'], jwksUrl: 'https://login.example/jwks' } },
  limits: { depthMax: 8 },
};

function problemsOf(json: unknown): string {
  try {
    parseGatewayConfig(json, '/etc/entente');
  } catch (error) {
    if (isEntenteError(error, 'CONFIG_INVALID')) return error.message;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('gateway configuration', () => {
  it('resolves a valid file: absolute paths, trimmed peer URLs, default limits filled in', () => {
    const config = parseGatewayConfig(good, '/etc/entente');
    expect(config).toMatchObject({
      partner: 'manufacturer',
      listen: { host: '127.0.0.1', port: 4100 },
      nodeKeyFile: '/etc/entente/keys/manufacturer.key',
      genesisFile: '/etc/entente/genesis.json',
      peers: [{ partner: 'supplier', url: 'http://supplier.example:4000' }],
      auth: { anonymousRoles: null, apiKeysFile: null, jwt: { key: { kind: 'jwks-url' }, rolesClaim: 'roles', clockToleranceSeconds: 5 } },
    });
    expect(config.limits).toEqual({ ...defaultLimits, depthMax: 8 });
  });

  it('takes the capture method from database.capture and refuses one it does not know', () => {
    expect(parseGatewayConfig(good, '/etc/entente').capture).toBeUndefined();
    expect(parseGatewayConfig({ ...good, database: { ...good.database, capture: 'logical-decoding' } }, '/etc/entente').capture).toBe('logical-decoding');
    expect(problemsOf({ ...good, database: { ...good.database, capture: 'wal2json' } })).toMatch(/database\.capture.*"outbox-trigger".*"logical-decoding"/);
  });

  it('lists every problem at once, each naming the field and the fix', () => {
    const message = problemsOf({
      partner: 'Manufacturer Inc',
      database: {},
      listen: { port: 70_000 },
      node: {},
      peers: [{ partner: 'Manufacturer Inc', url: 'ftp://x' }],
      auth: { jwt: { issuer: 'i', audience: 'a', algorithms: ['HS256', 'none'], keyFile: 'k.pem' } },
      limits: { depthMax: 0, depthMaks: 3 },
      genisisFile: 'g.json',
    });
    expect(message).toContain('partner: "Manufacturer Inc" must be lower-case letters');
    expect(message).toContain('database.url: required');
    expect(message).toContain('listen.port: must be a whole number from 0 to 65535, found 70000');
    expect(message).toContain('node.keyFile: required, a non-empty string — the node\'s private key file; create one with `entente keygen`');
    expect(message).toContain('genesisFile: required');
    expect(message).toContain('genisisFile: unknown field — did you mean "genesisFile"?');
    expect(message).toContain('peers[0].partner: is this gateway\'s own partner');
    expect(message).toContain('peers[0].url: must be an http:// or https:// URL');
    expect(message).toContain('auth.jwt.algorithms: "none" is not supported');
    expect(message).toContain('auth.jwt.algorithms: HS256 needs a secretFile');
    expect(message).toContain('limits.depthMax: must be a whole number from 1');
    expect(message).toContain('limits.depthMaks: unknown field — did you mean "depthMax"?');
    expect(message).toMatch(/has 1[0-9] problems/);
  });

  it('refuses a configuration in which no app could ever authenticate', () => {
    expect(problemsOf({ ...good, auth: {} })).toContain('auth: no way for apps to authenticate');
  });

  it('loads a file from disk and builds its authenticator from the referenced key files', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'entente-config-'));
    try {
      const issued = issueApiKey(['viewer']);
      await writeFile(join(folder, 'api-keys.json'), JSON.stringify([issued.record]));
      await writeFile(join(folder, 'jwt.secret'), 'x'.repeat(40));
      const file = join(folder, 'gateway.json');
      await writeFile(file, JSON.stringify({ ...good, auth: { apiKeysFile: 'api-keys.json', jwt: { issuer: 'i', audience: 'a', algorithms: ['HS256'], secretFile: 'jwt.secret' } } }));
      const config = await loadGatewayConfig(file);
      expect(config.auth.apiKeysFile).toBe(join(folder, 'api-keys.json'));
      const authenticator = await appAuthenticatorFromConfig(config.auth, config.partner);
      expect(await authenticator.authenticate({ headers: { 'x-api-key': issued.key } })).toMatchObject({ kind: 'app', partner: 'manufacturer', roles: ['viewer'] });
      await writeFile(file, '{ "partner": ');
      await expect(loadGatewayConfig(file)).rejects.toThrow(/is not valid JSON/);
      await expect(loadGatewayConfig(join(folder, 'missing.json'))).rejects.toThrow(/Cannot read the gateway configuration .*ENOENT/);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
