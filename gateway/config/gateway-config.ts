// The gateway configuration file (JSON): who this gateway serves, where its database, keys and genesis
// file are, whom it talks to, how apps authenticate, and its limits. `parseGatewayConfig` validates all
// of it at once and fails with CONFIG_INVALID listing every problem as "<field>: what is wrong — fix".
// Relative paths are resolved against the configuration file's folder, so a config folder can move.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { EntenteError } from '../../common/errors.ts';
import type { CaptureMethod } from '../../connectors/connector.ts';
import { jwtAlgorithms, type JwtAlgorithm } from '../auth/jwt-verifier.ts';
import { defaultLimits, type GatewayLimits } from '../server/limits.ts';
import type { LogLevel } from '../server/logger.ts';
import type { TlsFiles } from '../server/tls-material.ts';
import { ConfigReader, join } from './config-reader.ts';

export interface PeerConfig {
  readonly partner: string;
  /** The peer gateway's base URL, e.g. http://supplier.example:4000 */
  readonly url: string;
  /** The peer's consensus endpoint; default: ws://<host of url>:<port of url + 100>. */
  readonly consensusUrl: string;
}

/** Consensus listens 100 ports above the gateway unless configured (4000 → 4100). */
export const consensusPortOffset = 100;

export type JwtKeyConfig = { readonly kind: 'secret-file'; readonly path: string } | { readonly kind: 'key-file'; readonly path: string } | { readonly kind: 'jwks-url'; readonly url: string };

export interface JwtConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly JwtAlgorithm[];
  readonly key: JwtKeyConfig;
  readonly rolesClaim: string;
  readonly clockToleranceSeconds: number;
}

export interface AuthConfig {
  /** Roles for requests without credentials; null: such requests are refused (the default). */
  readonly anonymousRoles: readonly string[] | null;
  readonly jwt: JwtConfig | null;
  /** JSON file with [{ id, sha256, roles }], as written by issueApiKey; null: no API keys. */
  readonly apiKeysFile: string | null;
}

export interface GatewayConfig {
  readonly partner: string;
  readonly databaseUrl: string;
  /** How the database's changes are captured; undefined: the connector's default (triggers). */
  readonly capture: CaptureMethod | undefined;
  readonly listen: { readonly host: string; readonly port: number };
  readonly nodeKeyFile: string;
  /** Where the consensus endpoint listens (peers dial it); port 0 picks a free one. */
  readonly consensusListen: { readonly host: string; readonly port: number };
  readonly genesisFile: string;
  /** Folder of the network's partner schema files (`<partner>.graphql`). */
  readonly schemaDir: string;
  readonly dataDir: string;
  readonly peers: readonly PeerConfig[];
  readonly auth: AuthConfig;
  readonly limits: GatewayLimits;
  readonly introspection: boolean;
  readonly logLevel: LogLevel;
  /** TLS files (paths resolved); all null: plain http:// and ws://. */
  readonly tls: TlsFiles;
}

const topLevelFields = ['partner', 'database', 'listen', 'node', 'genesisFile', 'schemaDir', 'dataDir', 'peers', 'auth', 'limits', 'introspection', 'log', 'tls'];
const partnerNamePattern = /^[a-z][a-z0-9-]{0,62}$/;
const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const peersMax = 64;

export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `Cannot read the gateway configuration ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}. Pass its path with --config, or create one (see gateway/config/README.md).`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `The gateway configuration ${file} is not valid JSON: ${(error as Error).message}.`, { cause: error });
  }
  return parseGatewayConfig(json, dirname(resolve(file)), file);
}

export function parseGatewayConfig(json: unknown, baseDir: string, source = 'the gateway configuration'): GatewayConfig {
  const reader = new ConfigReader();
  const root = reader.object(json, '(top level)') ?? {};
  reader.onlyKnown(root, '', topLevelFields);
  const path = (value: string): string => (isAbsolute(value) ? value : resolve(baseDir, value));

  const partner = reader.string(root, '', 'partner', 'this gateway\'s partner name as in the genesis file, e.g. "manufacturer"') ?? '';
  if (partner.length > 0 && !partnerNamePattern.test(partner)) reader.problem('partner', `"${partner}" must be lower-case letters, digits and dashes, starting with a letter (at most 63).`);

  const database = reader.object(root['database'] ?? {}, 'database') ?? {};
  reader.onlyKnown(database, 'database', ['url', 'capture']);
  const rawUrl = reader.string(database, 'database', 'url', 'e.g. "postgres://user@host:5432/db", or "pglite:./data/db" for the embedded database') ?? '';
  const databaseUrl = resolvePgliteUrl(rawUrl, path);
  if (rawUrl.length > 0 && !/^((postgres|postgresql|mysql|mariadb|mongodb|mongodb\+srv):\/\/|pglite:)/.test(rawUrl)) {
    reader.problem('database.url', 'must start with postgres://, mysql://, mariadb://, mongodb:// or pglite: (e.g. "pglite:./data/db" or "pglite:memory").');
  }

  const capture = reader.optionalString(database, 'database', 'capture', '"outbox-trigger" (the default) or "logical-decoding" (PostgreSQL with wal_level = logical)') as CaptureMethod | undefined;
  if (capture !== undefined && capture !== 'outbox-trigger' && capture !== 'logical-decoding') {
    reader.problem('database.capture', `"${capture}" is not a capture method here: use "outbox-trigger" (the default) or "logical-decoding" (PostgreSQL with wal_level = logical).`);
  }

  const listen = reader.object(root['listen'] ?? {}, 'listen') ?? {};
  reader.onlyKnown(listen, 'listen', ['host', 'port']);
  const port = reader.integer(listen, 'listen', 'port', { min: 0, max: 65_535 }, 4000);
  const host = reader.optionalString(listen, 'listen', 'host', 'an interface address, e.g. "0.0.0.0" to listen on every interface') ?? '127.0.0.1';

  const node = reader.object(root['node'] ?? {}, 'node') ?? {};
  reader.onlyKnown(node, 'node', ['keyFile', 'consensusPort']);
  const consensusPort = reader.integer(node, 'node', 'consensusPort', { min: 0, max: 65_535 }, port === 0 ? 0 : Math.min(65_535, port + consensusPortOffset));
  const nodeKeyFile = path(reader.string(node, 'node', 'keyFile', 'the node\'s private key file; create one with `entente keygen`') ?? '');
  const genesisFile = path(reader.string(root, '', 'genesisFile', 'the network\'s genesis file; create it with `entente genesis`') ?? '');
  const schemaDir = path(reader.optionalString(root, '', 'schemaDir', 'the folder of the partner schema files, e.g. "schema"') ?? 'schema');
  const dataDir = path(reader.optionalString(root, '', 'dataDir', 'a folder for the ledger, e.g. ".entente/manufacturer"') ?? `.entente/${partner || 'gateway'}`);

  const peers = readPeers(reader, root['peers'], partner);
  const auth = readAuth(reader, root['auth'], path);
  const limits = readLimits(reader, root['limits']);
  const tls = readTls(reader, root['tls'], path);
  const introspection = reader.boolean(root, '', 'introspection', true);
  const log = reader.object(root['log'] ?? {}, 'log') ?? {};
  reader.onlyKnown(log, 'log', ['level']);
  const level = (log['level'] ?? 'info') as LogLevel;
  if (!logLevels.includes(level)) reader.problem('log.level', `must be one of ${logLevels.join(', ')}.`);

  if (reader.problems.length > 0) {
    const list = reader.problems.map((problem) => `  - ${problem}`).join('\n');
    throw new EntenteError('CONFIG_INVALID', `${source} has ${reader.problems.length} problem${reader.problems.length === 1 ? '' : 's'}:\n${list}`);
  }
  return { partner, databaseUrl, capture, listen: { host, port }, nodeKeyFile, consensusListen: { host, port: consensusPort }, genesisFile, schemaDir, dataDir, peers, auth, limits, introspection, logLevel: level, tls };
}

/** `pglite:<directory>` with a relative directory is resolved like every other path in the file. */
function resolvePgliteUrl(url: string, path: (value: string) => string): string {
  if (!url.startsWith('pglite:') || url === 'pglite:memory') return url;
  const directory = url.slice('pglite:'.length).replace(/^\/\/(?=\/)/, '');
  return `pglite:${path(directory)}`;
}

function readPeers(reader: ConfigReader, value: unknown, self: string): readonly PeerConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    reader.problem('peers', 'must be a list of { "partner": "...", "url": "http://host:port" }.');
    return [];
  }
  if (value.length > peersMax) reader.problem('peers', `at most ${peersMax} peers are supported.`);
  const peers: PeerConfig[] = [];
  value.forEach((item, index) => {
    const path = `peers[${index}]`;
    const peer = reader.object(item, path);
    if (peer === null) return;
    reader.onlyKnown(peer, path, ['partner', 'url', 'consensusUrl']);
    const partner = reader.string(peer, path, 'partner', 'the peer\'s partner name as in the genesis file');
    const url = reader.string(peer, path, 'url', 'the peer gateway\'s base URL, e.g. "http://supplier.example:4000"');
    if (partner !== null && partner === self) reader.problem(`${path}.partner`, 'is this gateway\'s own partner; list only the other partners.');
    if (url !== null && !/^https?:\/\/[^/]+/.test(url)) reader.problem(`${path}.url`, 'must be an http:// or https:// URL.');
    const consensusUrl = reader.optionalString(peer, path, 'consensusUrl', 'the peer\'s consensus endpoint, e.g. "ws://supplier.example:4100"');
    if (consensusUrl !== undefined && !/^wss?:\/\/[^/]+/.test(consensusUrl)) reader.problem(`${path}.consensusUrl`, 'must be a ws:// or wss:// URL.');
    if (partner !== null && url !== null && /^https?:\/\/[^/]+/.test(url)) peers.push({ partner, url: url.replace(/\/+$/, ''), consensusUrl: consensusUrl ?? defaultConsensusUrl(url) });
  });
  const names = peers.map((peer) => peer.partner);
  for (const name of new Set(names)) if (names.filter((other) => other === name).length > 1) reader.problem('peers', `partner "${name}" is listed twice; keep one entry per partner.`);
  return peers;
}

function readAuth(reader: ConfigReader, value: unknown, path: (value: string) => string): AuthConfig {
  const auth = reader.object(value ?? {}, 'auth') ?? {};
  reader.onlyKnown(auth, 'auth', ['anonymous', 'jwt', 'apiKeysFile']);
  let anonymousRoles: readonly string[] | null = null;
  if (auth['anonymous'] !== undefined && auth['anonymous'] !== false) {
    const anonymous = reader.object(auth['anonymous'], 'auth.anonymous');
    if (anonymous !== null) {
      reader.onlyKnown(anonymous, 'auth.anonymous', ['roles']);
      anonymousRoles = reader.stringList(anonymous, 'auth.anonymous', 'roles', []);
    }
  }
  const apiKeysFile = reader.optionalString(auth, 'auth', 'apiKeysFile', 'a JSON file of hashed API keys') ?? null;
  const jwt = auth['jwt'] === undefined ? null : readJwt(reader, auth['jwt'], path);
  if (jwt === null && apiKeysFile === null && anonymousRoles === null) {
    reader.problem('auth', 'no way for apps to authenticate: configure auth.jwt, auth.apiKeysFile, or (for a demo only) auth.anonymous.');
  }
  return { anonymousRoles, jwt, apiKeysFile: apiKeysFile === null ? null : path(apiKeysFile) };
}

function readJwt(reader: ConfigReader, value: unknown, path: (value: string) => string): JwtConfig | null {
  const jwt = reader.object(value, 'auth.jwt');
  if (jwt === null) return null;
  const at = 'auth.jwt';
  reader.onlyKnown(jwt, at, ['issuer', 'audience', 'algorithms', 'secretFile', 'keyFile', 'jwksUrl', 'rolesClaim', 'clockToleranceSeconds']);
  const issuer = reader.string(jwt, at, 'issuer', 'the `iss` your identity provider puts in tokens') ?? '';
  const audience = reader.string(jwt, at, 'audience', 'the `aud` tokens for this gateway carry') ?? '';
  const algorithms = reader.stringList(jwt, at, 'algorithms', ['RS256']) as JwtAlgorithm[];
  for (const algorithm of algorithms) if (!jwtAlgorithms.includes(algorithm)) reader.problem(join(at, 'algorithms'), `"${algorithm}" is not supported; use ${jwtAlgorithms.join(', ')}.`);
  const sources = (['secretFile', 'keyFile', 'jwksUrl'] as const).filter((key) => jwt[key] !== undefined);
  if (sources.length !== 1) reader.problem(at, 'set exactly one of secretFile (HS256), keyFile (PEM or JWK file) or jwksUrl.');
  let key: JwtKeyConfig = { kind: 'jwks-url', url: '' };
  const source = sources[0];
  if (source === 'secretFile') key = { kind: 'secret-file', path: path(reader.string(jwt, at, 'secretFile', 'a file holding the shared secret') ?? '') };
  if (source === 'keyFile') key = { kind: 'key-file', path: path(reader.string(jwt, at, 'keyFile', 'a PEM public key or JWK/JWKS JSON file') ?? '') };
  if (source === 'jwksUrl') {
    const url = reader.string(jwt, at, 'jwksUrl', 'your identity provider\'s JWKS URL') ?? '';
    if (url.length > 0 && !/^https?:\/\//.test(url)) reader.problem(join(at, 'jwksUrl'), 'must be an http:// or https:// URL.');
    key = { kind: 'jwks-url', url };
  }
  if (source === 'secretFile' && algorithms.some((algorithm) => algorithm !== 'HS256')) reader.problem(join(at, 'algorithms'), 'a secretFile works only with ["HS256"].');
  if (source !== 'secretFile' && algorithms.includes('HS256')) reader.problem(join(at, 'algorithms'), 'HS256 needs a secretFile; public keys work with RS256 and EdDSA.');
  const rolesClaim = reader.optionalString(jwt, at, 'rolesClaim', 'the claim holding roles, e.g. "roles" or "realm_access.roles"') ?? 'roles';
  const clockToleranceSeconds = reader.integer(jwt, at, 'clockToleranceSeconds', { min: 0, max: 300 }, 5);
  return { issuer, audience, algorithms, key, rolesClaim, clockToleranceSeconds };
}

function readTls(reader: ConfigReader, value: unknown, path: (value: string) => string): TlsFiles {
  const tls = reader.object(value ?? {}, 'tls') ?? {};
  reader.onlyKnown(tls, 'tls', ['certFile', 'keyFile', 'caFile']);
  const file = (key: string, hint: string): string | null => {
    const named = reader.optionalString(tls, 'tls', key, hint);
    return named === undefined ? null : path(named);
  };
  const certFile = file('certFile', 'the PEM certificate (chain) this gateway serves https:// and wss:// with');
  const keyFile = file('keyFile', 'the PEM private key of tls.certFile');
  const caFile = file('caFile', 'PEM certificates of the authorities that issued your peers\' certificates');
  if ((certFile === null) !== (keyFile === null)) reader.problem('tls', 'set both certFile and keyFile (serve TLS), or neither (plain http:// and ws://, e.g. behind a TLS proxy).');
  return { certFile, keyFile, caFile };
}

function readLimits(reader: ConfigReader, value: unknown): GatewayLimits {
  const limits = reader.object(value ?? {}, 'limits') ?? {};
  const names = Object.keys(defaultLimits) as (keyof GatewayLimits)[];
  reader.onlyKnown(limits, 'limits', names);
  const result: Record<string, number> = {};
  for (const name of names) result[name] = reader.integer(limits, 'limits', name, { min: 1, max: 1_000_000_000 }, defaultLimits[name]);
  return result as unknown as GatewayLimits;
}

function defaultConsensusUrl(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return `${parsed.protocol === 'https:' ? 'wss' : 'ws'}://${parsed.hostname}:${port + consensusPortOffset}`;
}
