// The genesis: height 0 of a network, agreed out of band before the first block. It names the network,
// the first membership, the first schema version, and which partner owns each entity type. Its hash is
// block 1's previous hash, so two networks never share a valid block. Stored as `genesis.json` (hex for
// bytes) beside the chain; the hash is over the canonical binary form, never over the JSON.
import { readFile, writeFile } from 'node:fs/promises';
import { EntenteError } from '../common/errors.ts';
import { domainPrefix } from './crypto/domain.ts';
import type { Hasher } from './crypto/hasher.ts';
import { ByteWriter } from './encoding/byte-writer.ts';
import { compareBytes, toHex, tryFromHex } from './encoding/hex.ts';
import { createMembership, encodeMembership, type Membership } from './membership.ts';

export const GENESIS_FILE = 'genesis.json';
export const GENESIS_JSON_FORMAT = 'entente-genesis/1';
export const OWNED_TYPES_MAX = 10_000;

/** entityType → owning partner. */
export type OwnershipMap = ReadonlyMap<string, string>;

export interface Genesis {
  readonly network: string;
  readonly timeMs: number;
  readonly schemaVersion: number;
  readonly membership: Membership;
  readonly ownership: OwnershipMap;
}

const encoder = new TextEncoder();

/**
 * Layout (v1): prefix "entente/genesis" 0x00 0x01 | network (u16 + UTF-8) | u64 time | u32 schema version |
 * u32 membership length + membership encoding | u32 ownership count | per entry, sorted by entity type
 * bytes: entity type (u16 + UTF-8), partner (u16 + UTF-8).
 */
export function encodeGenesis(genesis: Genesis): Uint8Array {
  const writer = new ByteWriter(512);
  writer.raw(domainPrefix('genesis')).string(genesis.network, 'network name').u64(genesis.timeMs).u32(genesis.schemaVersion);
  writer.bytes(encodeMembership(genesis.membership));
  const entries = [...genesis.ownership.entries()].sort((a, b) => compareBytes(encoder.encode(a[0]), encoder.encode(b[0])));
  writer.u32(entries.length);
  for (const [entityType, partner] of entries) writer.string(entityType, 'entity type').string(partner, 'owner');
  return writer.finish();
}

export function genesisHash(hasher: Hasher, genesis: Genesis): Uint8Array {
  return hasher.sha256(encodeGenesis(genesis));
}

export interface GenesisJson {
  readonly format: string;
  readonly network: string;
  readonly timeMs: number;
  readonly schemaVersion: number;
  readonly members: readonly { readonly partner: string; readonly publicKey: string }[];
  readonly ownership: Readonly<Record<string, string>>;
}

export function genesisToJson(genesis: Genesis): GenesisJson {
  return {
    format: GENESIS_JSON_FORMAT,
    network: genesis.network,
    timeMs: genesis.timeMs,
    schemaVersion: genesis.schemaVersion,
    members: genesis.membership.nodes.map((n) => ({ partner: n.partner, publicKey: toHex(n.publicKey) })),
    ownership: Object.fromEntries(genesis.ownership),
  };
}

/** Parses and validates untrusted JSON (enrolment checks every key). */
export function genesisFromJson(value: unknown, source: string): Genesis {
  const bad = (why: string): never => {
    throw new EntenteError('CONFIG_INVALID', `${source} is not a valid genesis: ${why}. Recreate it with \`entente genesis\` or copy it from a partner.`);
  };
  if (typeof value !== 'object' || value === null) return bad('not a JSON object');
  const v = value as Partial<Record<keyof GenesisJson, unknown>>;
  if (v.format !== GENESIS_JSON_FORMAT) bad(`format must be "${GENESIS_JSON_FORMAT}"`);
  if (typeof v.network !== 'string' || v.network.length === 0) bad('network must be a non-empty string');
  if (!Number.isSafeInteger(v.timeMs) || (v.timeMs as number) < 0) bad('timeMs must be a non-negative integer');
  if (!Number.isSafeInteger(v.schemaVersion) || (v.schemaVersion as number) < 0 || (v.schemaVersion as number) > 0xffffffff) bad('schemaVersion must be a u32');
  if (!Array.isArray(v.members)) return bad('members must be an array');
  const members = (v.members as unknown[]).map((m, i) => {
    const member = m as { partner?: unknown; publicKey?: unknown };
    const key = typeof member.publicKey === 'string' ? tryFromHex(member.publicKey) : null;
    if (typeof member.partner !== 'string' || key === null) return bad(`members[${i}] needs a partner name and a hex publicKey`);
    return { partner: member.partner, publicKey: key };
  });
  const membership = createMembership(members);
  if (typeof v.ownership !== 'object' || v.ownership === null || Array.isArray(v.ownership)) return bad('ownership must be an object of entityType → partner');
  const entries = Object.entries(v.ownership as Record<string, unknown>);
  if (entries.length > OWNED_TYPES_MAX) bad(`at most ${OWNED_TYPES_MAX} owned entity types`);
  const partners = new Set(membership.nodes.map((n) => n.partner));
  const ownership = new Map<string, string>();
  for (const [entityType, partner] of entries) {
    if (typeof partner !== 'string' || !partners.has(partner)) bad(`ownership of ${entityType} names ${String(partner)}, which is not a member`);
    if (entityType.startsWith('$') || entityType.length === 0) bad(`entity type "${entityType}" is reserved or empty`);
    ownership.set(entityType, partner as string);
  }
  return { network: v.network as string, timeMs: v.timeMs as number, schemaVersion: v.schemaVersion as number, membership, ownership };
}

export async function readGenesisFile(path: string): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `cannot read the genesis file ${path}; pass the ledger directory that holds ${GENESIS_FILE}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `${path} is not JSON; restore it from a partner`, { cause: error });
  }
  return genesisFromJson(json, path);
}

export async function writeGenesisFile(path: string, genesis: Genesis): Promise<void> {
  await writeFile(path, `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`, { flag: 'wx' });
}
