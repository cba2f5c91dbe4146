// The exact bytes a node signs for each consensus message, and the one check of such a signature.
// Layout (all integers big-endian), after the domain prefix:
//   proposal:  "entente/consensus" 0x00 v1 | u8 1 | chain id (u16 len + UTF-8) | u64 height | u32 round | u32 validRound+1 | 32-byte value
//   prevote:   "entente/consensus" 0x00 v1 | u8 2 | chain id | u64 height | u32 round | u8 has-value | [32-byte value]
//   precommit: "entente/commit"    0x00 v1 |        chain id | u64 height | u32 round | u8 has-value | [32-byte value]
// Precommits live in their own domain because they are the commit certificate that `entente verify`
// checks offline; prevotes and proposals can never be replayed as a commit vote, nor the other way round.
// Signers are named by their index in the membership of the message's height.
import type { SignedMessage, UnsignedMessage } from '../consensus/types.ts';
import { domainPrefix } from '../crypto/domain.ts';
import type { SignatureVerifier, Signer } from '../crypto/signature.ts';
import { ByteWriter } from '../encoding/byte-writer.ts';
import { fromHex, toHex, tryFromHex } from '../encoding/hex.ts';
import type { Membership } from '../membership.ts';

export const VALUE_ID_BYTES = 32;
const KIND_PROPOSAL = 1;
const KIND_PREVOTE = 2;

export function consensusSigningBytes(chainId: string, message: UnsignedMessage): Uint8Array {
  const writer = new ByteWriter(128);
  if (message.kind === 'precommit') {
    writer.raw(domainPrefix('commitVote'));
  } else {
    writer.raw(domainPrefix('consensusMessage')).u8(message.kind === 'proposal' ? KIND_PROPOSAL : KIND_PREVOTE);
  }
  writer.string(chainId, 'chain id').u64(message.height).u32(message.round);
  if (message.kind === 'proposal') {
    writer.u32(message.validRound + 1).fixed(fromHex(message.valueId), VALUE_ID_BYTES, 'proposed value id');
  } else if (message.valueId === null) {
    writer.u8(0);
  } else {
    writer.u8(1).fixed(fromHex(message.valueId), VALUE_ID_BYTES, 'voted value id');
  }
  return writer.finish();
}

export function signConsensusMessage(chainId: string, signer: Signer, message: UnsignedMessage): SignedMessage {
  const signature = toHex(signer.sign(consensusSigningBytes(chainId, message)));
  return { ...message, signature } as SignedMessage;
}

/**
 * True when the message is well formed for signing (value ids are 32-byte hex) and its signature verifies
 * under the key of `sender` in `membership`. Never throws on hostile input.
 */
export function verifyConsensusMessage(chainId: string, membership: Membership, verifier: SignatureVerifier, message: SignedMessage): boolean {
  const member = membership.nodes[message.sender];
  if (member === undefined) return false;
  if (message.valueId !== null && !isValueId(message.valueId)) return false;
  const signature = tryFromHex(message.signature);
  if (signature === null) return false;
  let bytes: Uint8Array;
  try {
    bytes = consensusSigningBytes(chainId, message);
  } catch {
    return false;
  }
  return verifier.verify(member.publicKey, bytes, signature);
}

export function isValueId(value: string): boolean {
  return value.length === VALUE_ID_BYTES * 2 && /^[0-9a-f]+$/.test(value);
}
