// The hashing seam. Everything that hashes (encoding, Merkle trees, proofs) takes a Hasher, so the same
// code runs on servers with node:crypto (./sha256-node.ts, ~5x faster at 1 KiB) and in a browser with
// @noble/hashes (./sha256-browser.ts). A test cross-checks both on the same inputs. Pure: no node:* import.
import { domainPrefix, type DomainName } from './domain.ts';

export const SHA256_BYTES = 32;

export interface Hasher {
  readonly name: string;
  /** SHA-256 of one buffer. */
  sha256(data: Uint8Array): Uint8Array;
  /** SHA-256 of the concatenation of `parts`, without materialising it when that can be avoided. */
  sha256Parts(parts: readonly Uint8Array[]): Uint8Array;
  /** RFC 6962 leaf hash: SHA-256(0x00 || leaf). */
  merkleLeaf(leaf: Uint8Array): Uint8Array;
  /** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
  merkleNode(left: Uint8Array, right: Uint8Array): Uint8Array;
}

/** SHA-256(domainPrefix(domain) || parts...): the one way the ledger hashes a structure. */
export function hashInDomain(hasher: Hasher, domain: DomainName, parts: readonly Uint8Array[], version?: number): Uint8Array {
  return hasher.sha256Parts([domainPrefix(domain, version), ...parts]);
}
