// Domain separation for every hashed or signed buffer in the ledger. Each buffer starts with a domain
// prefix: the ASCII tag, one 0x00 byte, then one format-version byte. Tags never contain 0x00, so no
// prefix is a prefix of another and a signature made for one purpose can never be replayed as another
// (a vote is never a batch signature, a block hash is never a transaction id). Pure: no node:* import.

/** The registered tags. Adding one is additive; changing one's bytes is a format break (see FORMAT.md). */
export const DOMAIN_TAGS = {
  transaction: 'entente/tx',
  payloadCommitment: 'entente/payload',
  batchRoot: 'entente/batch',
  blockHeader: 'entente/block',
  commitVote: 'entente/commit',
  membership: 'entente/membership',
  /** Reserved for the consensus protocol's own messages (proposals, prepare/precommit votes, view changes). */
  consensusMessage: 'entente/consensus',
  genesis: 'entente/genesis',
  /** Schema evolution (schema/evolution/schema-transactions.ts): the public payloads of '$schema' transactions, and the content hash. */
  schemaProposal: 'entente/schema-proposal',
  schemaApproval: 'entente/schema-approval',
  schemaActivation: 'entente/schema-activation',
  schemaContent: 'entente/schema-content',
} as const;

export type DomainName = keyof typeof DOMAIN_TAGS;

/** Version 1 of every structure. Bump per structure when its layout changes; readers reject unknown versions. */
export const FORMAT_VERSION_1 = 1;

const prefixCache = new Map<string, Uint8Array>();
const version1Prefixes = new Map<DomainName, Uint8Array>();

/** `tag || 0x00 || version`: the bytes every domain-separated buffer starts with. Callers must not modify it. */
export function domainPrefix(domain: DomainName, version: number = FORMAT_VERSION_1): Uint8Array {
  if (version === FORMAT_VERSION_1) {
    const hit = version1Prefixes.get(domain);
    if (hit !== undefined) return hit;
  }
  if (!Number.isInteger(version) || version < 0 || version > 255) throw new RangeError(`domain version ${version} is not a byte`);
  const cacheKey = `${domain}/${version}`;
  const cached = prefixCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const tag = DOMAIN_TAGS[domain];
  const bytes = new Uint8Array(tag.length + 2);
  for (let i = 0; i < tag.length; i++) bytes[i] = tag.charCodeAt(i);
  bytes[tag.length] = 0;
  bytes[tag.length + 1] = version;
  prefixCache.set(cacheKey, bytes);
  if (version === FORMAT_VERSION_1) version1Prefixes.set(domain, bytes);
  return bytes;
}

/** A message in a domain: `domainPrefix(domain, version) || parts...` as one buffer (what gets signed). */
export function domainMessage(domain: DomainName, parts: readonly Uint8Array[], version: number = FORMAT_VERSION_1): Uint8Array {
  const prefix = domainPrefix(domain, version);
  let length = prefix.length;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  out.set(prefix, 0);
  let offset = prefix.length;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
