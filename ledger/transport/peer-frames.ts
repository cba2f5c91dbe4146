// Authenticated frames between nodes. Each WebSocket connection starts with a challenge from the
// receiving side; every frame the dialing node sends on it is signed over
//   "entente/consensus" 0x00 v1 | u8 3 | chain id | u16 from | u16 to | 32-byte challenge | u64 seq | 32-byte SHA-256(payload)
// so a frame is bound to its sender (checked against the genesis membership), its receiver, this very
// connection (a recorded frame cannot be replayed on another one) and its position (seq must increase).
// A payload is one value in the binary value codec (value-codec.ts), or a batch of such values that the
// sender coalesced into one frame (one signature and one check for all of them). Payloads that start like
// JSON text are the format before the codec (JSON, byte fields as {"$b": base64}) and are still read, so
// snapshots written by older nodes stay readable. Pure functions; the socket handling is ws-transport.ts.
import { domainPrefix } from '../crypto/domain.ts';
import type { Hasher } from '../crypto/hasher.ts';
import type { SignatureVerifier, Signer } from '../crypto/signature.ts';
import { ByteReader } from '../encoding/byte-reader.ts';
import { ByteWriter } from '../encoding/byte-writer.ts';
import type { Membership } from '../membership.ts';
import { decodeValue, encodeValue, isEncodedValue } from './value-codec.ts';

const KIND_PEER_FRAME = 3;
export const CHALLENGE_BYTES = 32;
const SIGNATURE_BYTES = 64;

export interface FrameContext {
  readonly chainId: string;
  readonly from: number;
  readonly to: number;
  readonly challenge: Uint8Array;
}

function frameSigningBytes(context: FrameContext, seq: number, payloadDigest: Uint8Array): Uint8Array {
  return new ByteWriter(160)
    .raw(domainPrefix('consensusMessage')).u8(KIND_PEER_FRAME).string(context.chainId, 'chain id')
    .u16(context.from).u16(context.to).fixed(context.challenge, CHALLENGE_BYTES, 'challenge').u64(seq)
    .raw(payloadDigest).finish();
}

/** Frame layout: u64 seq | 64-byte signature | payload. */
export function sealFrame(hasher: Hasher, signer: Signer, context: FrameContext, seq: number, payload: Uint8Array): Uint8Array {
  return sealFrameWithDigest(signer, context, seq, payload, hasher.sha256(payload));
}

/** sealFrame with SHA-256(payload) already computed: a payload broadcast to several peers is hashed once. */
export function sealFrameWithDigest(signer: Signer, context: FrameContext, seq: number, payload: Uint8Array, payloadDigest: Uint8Array): Uint8Array {
  const signature = signer.sign(frameSigningBytes(context, seq, payloadDigest));
  const out = new Uint8Array(8 + SIGNATURE_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(seq / 0x100000000));
  view.setUint32(4, seq >>> 0);
  out.set(signature, 8);
  out.set(payload, 8 + SIGNATURE_BYTES);
  return out;
}

/** Returns the payload when the frame is signed by `context.from` for this connection and seq > lastSeq. */
export function openFrame(hasher: Hasher, verifier: SignatureVerifier, membership: Membership, context: FrameContext, lastSeq: number, frame: Uint8Array): { seq: number; payload: Uint8Array } | string {
  if (frame.length < 8 + SIGNATURE_BYTES) return 'frame too short';
  const reader = new ByteReader(frame.subarray(0, 8), 'frame');
  const seq = reader.u64('seq');
  if (seq <= lastSeq) return `replayed or reordered frame (seq ${seq} after ${lastSeq})`;
  const signature = frame.subarray(8, 8 + SIGNATURE_BYTES);
  const payload = frame.subarray(8 + SIGNATURE_BYTES);
  const member = membership.nodes[context.from];
  if (member === undefined) return `node ${context.from} is not in the membership`;
  if (!verifier.verify(member.publicKey, frameSigningBytes(context, seq, hasher.sha256(payload)), signature)) return `frame signature does not verify for node ${context.from}`;
  return { seq, payload };
}

/** Hello: what a dialer sends first, signed, to say who it is (the receiver checks it against the challenge). */
export function helloSigningBytes(chainId: string, from: number, to: number, challenge: Uint8Array): Uint8Array {
  return new ByteWriter(128).raw(domainPrefix('consensusMessage')).u8(4).string(chainId, 'chain id').u16(from).u16(to).fixed(challenge, CHALLENGE_BYTES, 'challenge').finish();
}

const FRAME_BATCH_V1 = 0xb2;

/** One frame payload carrying several encoded values (each from encodePayload), delivered in order. */
export function batchPayload(encoded: readonly Uint8Array[]): Uint8Array {
  if (encoded.length === 1) return encoded[0]!;
  let size = 5;
  for (const part of encoded) size += 4 + part.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = FRAME_BATCH_V1;
  out.writeUInt32BE(encoded.length, 1);
  let offset = 5;
  for (const part of encoded) {
    out.writeUInt32BE(part.length, offset);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The values of a frame payload (one, or a batch). Untrusted bytes in; throws SyntaxError on malformed input. */
export function decodeFramePayload(bytes: Uint8Array): unknown[] {
  if (bytes.length === 0 || bytes[0] !== FRAME_BATCH_V1) return [decodePayload(bytes)];
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.length < 5) throw new SyntaxError('truncated frame batch header');
  const count = view.readUInt32BE(1);
  const values: unknown[] = [];
  let offset = 5;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > view.length) throw new SyntaxError(`frame batch truncated at item ${i} of ${count}`);
    const length = view.readUInt32BE(offset);
    if (offset + 4 + length > view.length) throw new SyntaxError(`frame batch item ${i} runs past the payload`);
    values.push(decodePayload(bytes.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  if (offset !== view.length) throw new SyntaxError('trailing bytes after the frame batch');
  return values;
}

const decoder = new TextDecoder();

export function encodePayload(value: unknown): Uint8Array {
  return encodeValue(value);
}

/** Untrusted bytes in; throws SyntaxError on malformed input (callers reject the frame). Reads the old JSON form too. */
export function decodePayload(bytes: Uint8Array): unknown {
  if (isEncodedValue(bytes)) return decodeValue(bytes);
  return decodeLegacyJson(bytes);
}

/** The payload format before the value codec: JSON with byte fields as {"$b": base64}. */
function decodeLegacyJson(bytes: Uint8Array): unknown {
  return JSON.parse(decoder.decode(bytes), (_key, v: unknown) => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const b = (v as Record<string, unknown>)['$b'];
      if (typeof b === 'string' && Object.keys(v).length === 1) return new Uint8Array(Buffer.from(b, 'base64'));
    }
    return v;
  });
}
