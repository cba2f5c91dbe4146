// The genesis: height 0 of a network, agreed out of band before the first block. It names the network,
// the first membership, the first schema version, and which partner owns each entity type. Its hash is
// block 1's previous hash, so two networks never share a valid block. Optionally it also fixes the schema
// governance policy and the first schema version's partner files (schema evolution, issue #11): hashed in,
// so partners cannot disagree on who approves what, nor on the schema every later proposal builds on. Stored as `genesis.json` (hex for
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
/** Same limits as a schema version on the ledger (schema/evolution/schema-transactions.ts). */
export const GENESIS_SCHEMA_FILES_MAX = 256;
export const GENESIS_SCHEMA_SOURCE_BYTES_MAX = 1024 * 1024;
const GOVERNANCE_ENTRIES_MAX = 16;
/** Marks the optional governance/schema section after the ownership map (absent: the v1 layout as before). */
const SCHEMA_SECTION = 1;

/** entityType → owning partner. */
export type OwnershipMap = ReadonlyMap<string, string>;

export interface Genesis {
  readonly network: string;
  readonly timeMs: number;
  readonly schemaVersion: number;
  readonly membership: Membership;
  readonly ownership: OwnershipMap;
  /**
   * The schema governance policy as written in genesis.json (change class → approval rule); its meaning
   * and checks are in schema/evolution/governance-policy.ts. Absent: every default.
   */
  readonly governance?: Readonly<Record<string, string>>;
  /** The partner files of schema version `schemaVersion`, so schema history replays from the genesis alone. */
  readonly schema?: readonly GenesisSchemaFile[];
}

export interface GenesisSchemaFile {
  readonly partner: string;
  readonly source: string;
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
  if (genesis.governance !== undefined || genesis.schema !== undefined) writeSchemaSection(writer, genesis);
  return writer.finish();
}

const byUtf8 = <T>(key: (item: T) => string) => (a: T, b: T): number => compareBytes(encoder.encode(key(a)), encoder.encode(key(b)));

/**
 * Only when the genesis has governance or schema files, so older geneses keep their hash:
 * u8 1 | u16 g | g × (string class, string rule) sorted by class | u16 f | f × (string partner, bytes source) sorted by partner.
 */
function writeSchemaSection(writer: ByteWriter, genesis: Genesis): void {
  const governance = Object.entries(genesis.governance ?? {}).sort(byUtf8(([key]) => key));
  writer.u8(SCHEMA_SECTION).u16(governance.length);
  for (const [governanceClass, rule] of governance) writer.string(governanceClass, 'governance class').string(rule, 'governance rule');
  const files = [...(genesis.schema ?? [])].sort(byUtf8((file) => file.partner));
  writer.u16(files.length);
  for (const file of files) writer.string(file.partner, 'schema partner').bytes(encoder.encode(file.source));
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
  readonly governance?: Readonly<Record<string, string>>;
  /** partner → SDL of its file in the first schema version. */
  readonly schema?: Readonly<Record<string, string>>;
}

export function genesisToJson(genesis: Genesis): GenesisJson {
  return {
    format: GENESIS_JSON_FORMAT,
    network: genesis.network,
    timeMs: genesis.timeMs,
    schemaVersion: genesis.schemaVersion,
    members: genesis.membership.nodes.map((n) => ({ partner: n.partner, publicKey: toHex(n.publicKey) })),
    ownership: Object.fromEntries(genesis.ownership),
    ...(genesis.governance === undefined ? {} : { governance: { ...genesis.governance } }),
    ...(genesis.schema === undefined ? {} : { schema: Object.fromEntries(genesis.schema.map((file) => [file.partner, file.source])) }),
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
  const governance = v.governance === undefined ? undefined : stringRecord(v.governance, GOVERNANCE_ENTRIES_MAX, 'governance', bad);
  const schemaRecord = v.schema === undefined ? undefined : stringRecord(v.schema, GENESIS_SCHEMA_FILES_MAX, 'schema', bad);
  const schema = schemaRecord === undefined ? undefined : Object.entries(schemaRecord).map(([partner, source]) => {
    if (!partners.has(partner)) bad(`schema has a file of ${partner}, which is not a member`);
    if (encoder.encode(source).length > GENESIS_SCHEMA_SOURCE_BYTES_MAX) bad(`the schema file of ${partner} is over ${GENESIS_SCHEMA_SOURCE_BYTES_MAX} bytes`);
    return { partner, source };
  });
  if (schema !== undefined && schema.length === 0) bad('schema must name at least one partner file (or be left out)');
  return {
    network: v.network as string, timeMs: v.timeMs as number, schemaVersion: v.schemaVersion as number, membership, ownership,
    ...(governance === undefined ? {} : { governance }),
    ...(schema === undefined ? {} : { schema }),
  };
}

/** An object of string values (the governance rules' meaning is checked by the schema layer, which owns them). */
function stringRecord(value: unknown, max: number, what: string, bad: (why: string) => never): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(`${what} must be an object of strings`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > max) bad(`${what} has ${entries.length} entries; at most ${max}`);
  for (const [key, item] of entries) if (typeof item !== 'string') bad(`${what}.${key} must be a string`);
  return Object.fromEntries(entries) as Record<string, string>;
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
