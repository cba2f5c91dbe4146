// The membership: the ordered set of consensus nodes, one per partner, each with its Ed25519 public key.
// Certificates name signers by index into this list, and every block header carries the hash of the
// membership that certified it. Quorum is the smallest q with two quorums overlapping in >= f+1 nodes
// (q = ceil((n + f + 1) / 2), f = floor((n - 1) / 3)): 2f+1 when n = 3f+1; n = 1 (one partner) allowed.
import { EntenteError } from '../common/errors.ts';
import { enrolPublicKey } from './crypto/enrol.ts';
import { domainPrefix } from './crypto/domain.ts';
import type { Hasher } from './crypto/hasher.ts';
import { ED25519_PUBLIC_KEY_BYTES } from './crypto/signature.ts';
import { ByteReader } from './encoding/byte-reader.ts';
import { ByteWriter } from './encoding/byte-writer.ts';
import { isWellFormedText, toHex } from './encoding/hex.ts';

export const MEMBERS_MAX = 1024;
export const PARTNER_NAME_BYTES_MAX = 128;

export interface MemberNode {
  /** Position in the membership, 0-based; certificates name signers by it. */
  readonly index: number;
  /** The partner this node speaks for (unique; the ownership map refers to it). */
  readonly partner: string;
  readonly publicKey: Uint8Array;
}

export interface Membership {
  readonly nodes: readonly MemberNode[];
}

export function faultTolerance(nodeCount: number): number {
  return Math.floor((nodeCount - 1) / 3);
}

export function quorumSize(nodeCount: number): number {
  return Math.ceil((nodeCount + faultTolerance(nodeCount) + 1) / 2);
}

/** Checks the structure and enrols every key (small-order and non-canonical keys are refused). */
export function createMembership(nodes: readonly { readonly partner: string; readonly publicKey: Uint8Array }[]): Membership {
  if (nodes.length < 1 || nodes.length > MEMBERS_MAX) throw new EntenteError('CONFIG_INVALID', `a membership needs 1..${MEMBERS_MAX} nodes, got ${nodes.length}`);
  const partners = new Set<string>();
  const keys = new Set<string>();
  const members = nodes.map((node, index): MemberNode => {
    checkPartnerName(node.partner);
    if (partners.has(node.partner)) throw new EntenteError('CONFIG_INVALID', `partner ${node.partner} appears twice in the membership; each partner runs one node`);
    partners.add(node.partner);
    const keyHex = toHex(enrolPublicKey(node.publicKey, node.partner));
    if (keys.has(keyHex)) throw new EntenteError('CONFIG_INVALID', `partner ${node.partner} reuses another node's public key; every node needs its own key`);
    keys.add(keyHex);
    return { index, partner: node.partner, publicKey: node.publicKey.slice() };
  });
  return { nodes: members };
}

export function memberByPartner(membership: Membership, partner: string): MemberNode | undefined {
  return membership.nodes.find((node) => node.partner === partner);
}

/**
 * Canonical bytes: domain prefix "entente/membership" v1, u16 node count, then per node in index order:
 * u16 index, partner (u16 length + UTF-8), 32-byte public key.
 */
export function encodeMembership(membership: Membership): Uint8Array {
  const writer = new ByteWriter(64 + membership.nodes.length * 64);
  writer.raw(domainPrefix('membership')).u16(membership.nodes.length);
  for (const node of membership.nodes) {
    writer.u16(node.index).string(node.partner, 'partner name').fixed(node.publicKey, ED25519_PUBLIC_KEY_BYTES, `public key of ${node.partner}`);
  }
  return writer.finish();
}

/** Decodes and re-validates (enrolment included): a membership from disk or a peer is untrusted. */
export function decodeMembership(bytes: Uint8Array): Membership {
  const reader = new ByteReader(bytes, 'membership');
  expectPrefix(reader, domainPrefix('membership'), 'membership');
  const count = reader.u16('node count');
  const nodes: { partner: string; publicKey: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const index = reader.u16('node index');
    if (index !== i) reader.fail(`node ${i} carries index ${index}; indices must be 0..n-1 in order`);
    nodes.push({ partner: reader.string('partner name'), publicKey: reader.fixed(ED25519_PUBLIC_KEY_BYTES, 'public key').slice() });
  }
  reader.expectEnd();
  return createMembership(nodes);
}

/** SHA-256 of the canonical encoding (which starts with its domain prefix). */
export function membershipHash(hasher: Hasher, membership: Membership): Uint8Array {
  return hasher.sha256(encodeMembership(membership));
}

export function checkPartnerName(partner: string): void {
  const bytes = new TextEncoder().encode(partner).length;
  if (bytes < 1 || bytes > PARTNER_NAME_BYTES_MAX || !isWellFormedText(partner)) throw new EntenteError('CONFIG_INVALID', `partner name ${JSON.stringify(partner)} must be 1..${PARTNER_NAME_BYTES_MAX} bytes of UTF-8`);
}

/** Reads and checks a domain prefix at the reader's position. */
export function expectPrefix(reader: ByteReader, prefix: Uint8Array, what: string): void {
  const tagLength = prefix.length - 1;
  const got = reader.fixed(tagLength, `${what} domain tag`);
  for (let i = 0; i < tagLength; i++) if (got[i] !== prefix[i]) reader.fail(`not a ${what} (wrong domain tag)`);
  const version = reader.u8(`${what} version`);
  if (version !== prefix[tagLength]) reader.fail(`${what} format version ${version} is not supported (this build reads version ${prefix[tagLength]}); upgrade Entente`);
}
