// Gateway-to-gateway requests (forwarded mutations, and later the explorer's peer queries) are signed
// with the sending node's Ed25519 key and verified against the key the genesis file enrols for that
// partner — never an app token. The signature covers the method, path, both partners (so a request
// for one gateway cannot be replayed at another), a timestamp, a nonce, the forwarded caller and the
// SHA-256 of the body. The receiver refuses timestamps outside a window and nonces it has already seen
// inside it, so a captured request cannot be replayed.
import { createHash, randomBytes } from 'node:crypto';
import { EntenteError } from '../../common/errors.ts';
import { createEd25519Signer, verifyEd25519 } from '../../ledger/crypto/ed25519.ts';
import { toHex, tryFromHex } from '../../ledger/encoding/hex.ts';
import type { Authenticator, Caller, CredentialSource } from './caller.ts';

export const peerHeaders = {
  partner: 'x-entente-peer',
  target: 'x-entente-target',
  timestamp: 'x-entente-timestamp',
  nonce: 'x-entente-nonce',
  caller: 'x-entente-caller',
  signature: 'x-entente-signature',
} as const;

/** Domain tag of signed peer requests; like the ledger's tags (ledger/crypto/domain.ts) it has no 0x00, so no prefix collides. */
const peerRequestTag = 'entente/peer-request';
const peerRequestVersion = 1;

export const peerClockSkewMsMax = 30_000;
export const peerNoncesRememberedMax = 200_000;
const forwardedCallerBytesMax = 4_096;

/** The caller a peer forwards: who at the peer's partner asked, with which roles. */
export interface ForwardedCaller {
  readonly subject: string;
  readonly roles: readonly string[];
}

export interface SignedRequestParts {
  readonly method: string;
  /** Path and query, e.g. /graphql */
  readonly path: string;
  readonly body: string;
}

export function peerRequestMessage(parts: SignedRequestParts, from: string, to: string, timestampMs: number, nonce: string, callerHeader: string): Uint8Array {
  const bodyHash = createHash('sha256').update(parts.body, 'utf8').digest('hex');
  const fields = [peerRequestTag, String(peerRequestVersion), parts.method.toUpperCase(), parts.path, from, to, String(timestampMs), nonce, callerHeader, bodyHash];
  // Length-prefixed fields: no two different field lists encode to the same bytes.
  return new TextEncoder().encode(fields.map((field) => `${Buffer.byteLength(field, 'utf8')}:${field}`).join(''));
}

/** Signs outgoing peer requests as `partner` with its node's secret key. */
export class PeerRequestSigner {
  readonly #partner: string;
  readonly #sign: (message: Uint8Array) => Uint8Array;

  constructor(partner: string, secretKey: Uint8Array) {
    this.#partner = partner;
    this.#sign = createEd25519Signer(secretKey).sign;
  }

  headers(parts: SignedRequestParts, target: string, caller: ForwardedCaller, nowMs = Date.now()): Record<string, string> {
    const nonce = randomBytes(16).toString('hex');
    const callerHeader = Buffer.from(JSON.stringify({ subject: caller.subject, roles: caller.roles })).toString('base64url');
    const signature = this.#sign(peerRequestMessage(parts, this.#partner, target, nowMs, nonce, callerHeader));
    return {
      [peerHeaders.partner]: this.#partner,
      [peerHeaders.target]: target,
      [peerHeaders.timestamp]: String(nowMs),
      [peerHeaders.nonce]: nonce,
      [peerHeaders.caller]: callerHeader,
      [peerHeaders.signature]: toHex(signature),
    };
  }
}

export interface PeerAuthenticatorOptions {
  /** This gateway's partner: requests must be addressed to it. */
  readonly self: string;
  /** partner → enrolled Ed25519 public key, from the genesis membership. */
  readonly peerKeys: ReadonlyMap<string, Uint8Array>;
  readonly clock?: () => number;
  readonly clockSkewMsMax?: number;
}

export class PeerAuthenticator implements Authenticator {
  readonly #options: PeerAuthenticatorOptions;
  /** nonce → timestamp; entries older than the window are pruned, so the map stays bounded. */
  readonly #seen = new Map<string, number>();

  constructor(options: PeerAuthenticatorOptions) {
    this.#options = options;
  }

  async authenticate(source: CredentialSource): Promise<Caller> {
    const header = (name: string): string => {
      const value = source.headers[name];
      const text = Array.isArray(value) ? value[0] : value;
      if (typeof text !== 'string' || text.length === 0) throw rejected(`the peer request lacks the ${name} header`);
      return text;
    };
    if (source.request === undefined) throw rejected('a peer request must be verified with its body');
    const from = header(peerHeaders.partner);
    const to = header(peerHeaders.target);
    const publicKey = this.#options.peerKeys.get(from);
    if (publicKey === undefined || from === this.#options.self) throw rejected(`"${from}" is not a peer in this network's genesis file`);
    if (to !== this.#options.self) throw rejected(`the request is addressed to "${to}", not to this gateway ("${this.#options.self}")`);
    const timestampMs = Number(header(peerHeaders.timestamp));
    const now = (this.#options.clock ?? Date.now)();
    const skewMax = this.#options.clockSkewMsMax ?? peerClockSkewMsMax;
    if (!Number.isSafeInteger(timestampMs) || Math.abs(now - timestampMs) > skewMax) {
      throw rejected(`the request timestamp is more than ${skewMax} ms from this gateway's clock; check both clocks (NTP)`);
    }
    const nonce = header(peerHeaders.nonce);
    if (!/^[0-9a-f]{32}$/.test(nonce)) throw rejected('the nonce must be 32 hex digits');
    const callerHeader = header(peerHeaders.caller);
    const signature = tryFromHex(header(peerHeaders.signature));
    const message = peerRequestMessage(source.request, from, to, timestampMs, nonce, callerHeader);
    if (signature === null || !verifyEd25519(publicKey, message, signature)) {
      throw rejected(`the signature does not verify with ${from}'s node key from the genesis file`);
    }
    // Only a verified request may consume a nonce, so forgeries cannot burn a peer's nonces.
    this.#prune(now, skewMax);
    const replayKey = `${from}/${nonce}`;
    if (this.#seen.has(replayKey)) throw rejected('this request was already received (replayed nonce)');
    if (this.#seen.size >= peerNoncesRememberedMax) throw new EntenteError('LIMIT_EXCEEDED', 'too many peer requests in the replay window; retry shortly.');
    this.#seen.set(replayKey, timestampMs);
    const caller = parseForwardedCaller(callerHeader);
    return { kind: 'peer', partner: from, nodeId: toHex(publicKey), roles: caller.roles, onBehalfOf: caller.subject };
  }

  #prune(now: number, skewMax: number): void {
    for (const [key, timestamp] of this.#seen) {
      if (now - timestamp <= skewMax) continue;
      this.#seen.delete(key);
    }
  }
}

/** Peer requests carry the peer headers; everything else is an app request. */
export class GatewayAuthenticator implements Authenticator {
  readonly #apps: Authenticator;
  readonly #peers: Authenticator | null;

  constructor(apps: Authenticator, peers: Authenticator | null) {
    this.#apps = apps;
    this.#peers = peers;
  }

  needsBody(source: CredentialSource): boolean {
    return isPeerRequest(source);
  }

  authenticate(source: CredentialSource): Promise<Caller> {
    if (!isPeerRequest(source)) return this.#apps.authenticate(source);
    if (this.#peers === null) return Promise.reject(rejected('this gateway is not part of a network'));
    return this.#peers.authenticate(source);
  }
}

export function isPeerRequest(source: CredentialSource): boolean {
  return source.headers[peerHeaders.signature] !== undefined || source.headers[peerHeaders.partner] !== undefined;
}

function parseForwardedCaller(header: string): ForwardedCaller {
  if (header.length > forwardedCallerBytesMax) throw rejected('the forwarded caller is too large');
  try {
    const parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Partial<ForwardedCaller>;
    if (typeof parsed.subject === 'string' && Array.isArray(parsed.roles) && parsed.roles.every((role) => typeof role === 'string')) {
      return { subject: parsed.subject, roles: parsed.roles };
    }
  } catch {
    // fall through to the rejection below
  }
  throw rejected('the forwarded caller is malformed');
}

function rejected(reason: string): EntenteError {
  return new EntenteError('UNAUTHENTICATED', `Peer request refused: ${reason}.`, { details: { peer: true } });
}
