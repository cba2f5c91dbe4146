// Session-authenticated frames: the same guarantees as one Ed25519 signature per frame (peer-frames.ts),
// at the cost of an HMAC instead of a signature and its check, which were a node's largest CPU cost at
// low load. The handshake does the public-key work once per connection:
//   1. the acceptor sends a fresh ephemeral X25519 public key A (32 bytes; it doubles as the challenge of
//      the signed-frame handshake, which stays accepted, see ws-transport.ts);
//   2. the dialer answers u16 from | its ephemeral X25519 public key D | Ed25519 signature, by its member
//      key, over "entente/consensus" 0x00 v1 | u8 6 | chain id | u16 from | u16 to | A | D;
//   3. both derive K = HKDF-SHA256(X25519 shared secret, salt A‖D, info "entente/consensus" 0x00 v1 | u8 7 |
//      chain id | u16 from | u16 to).
// Every frame is then u64 seq | HMAC-SHA256(K, u64 seq ‖ SHA-256(payload)) | payload, seq increasing.
// Why this is as strong as signed frames for what they are for (authenticating the sender of this
// connection's frames, in order): only the member holding the key of `from` can produce the signature in
// step 2, and it covers A, so it was made for this very connection; K needs an ephemeral private key of
// one of the two ends, so nobody else (an on-path attacker who swaps A or D breaks the signature) can
// compute a valid tag; K differs per connection, so frames cannot be replayed on another one, and seq
// inside the tag rules out replay and reordering on this one. What frames lose is only what they never
// needed: a third party cannot check a tag. Consensus messages inside carry their own signatures, and
// those are what certificates and equivocation evidence are made of.
import { createHmac, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, hkdfSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import { domainPrefix } from '../crypto/domain.ts';
import type { SignatureVerifier, Signer } from '../crypto/signature.ts';
import { ByteWriter } from '../encoding/byte-writer.ts';
import { CHALLENGE_BYTES } from './peer-frames.ts';

const KIND_SESSION_HELLO = 6;
const KIND_SESSION_KEY = 7;
const X25519_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
export const MAC_BYTES = 32;
/** u16 from | dialer's X25519 key | signature. (A signed-frame hello is 66 bytes, so the two never collide.) */
export const SESSION_HELLO_BYTES = 2 + X25519_KEY_BYTES + SIGNATURE_BYTES;
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface EphemeralKey {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

export function createEphemeralKey(): EphemeralKey {
  const pair = generateKeyPairSync('x25519');
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  return { publicKey: new Uint8Array(spki.subarray(X25519_SPKI_PREFIX.length)), privateKey: pair.privateKey };
}

function helloSigningBytes(chainId: string, from: number, to: number, challenge: Uint8Array, dialerKey: Uint8Array): Uint8Array {
  return new ByteWriter(160).raw(domainPrefix('consensusMessage')).u8(KIND_SESSION_HELLO).string(chainId, 'chain id').u16(from).u16(to)
    .fixed(challenge, CHALLENGE_BYTES, 'challenge').fixed(dialerKey, X25519_KEY_BYTES, 'dialer key').finish();
}

function deriveKey(own: KeyObject, peerPublicKey: Uint8Array, chainId: string, from: number, to: number, challenge: Uint8Array, dialerKey: Uint8Array): KeyObject | null {
  let shared: Buffer;
  try {
    const peer = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peerPublicKey]), format: 'der', type: 'spki' });
    shared = diffieHellman({ privateKey: own, publicKey: peer });
  } catch {
    return null; // not a valid X25519 key, or a small-order one (OpenSSL refuses an all-zero secret)
  }
  if (shared.every((byte) => byte === 0)) return null;
  const info = new ByteWriter(96).raw(domainPrefix('consensusMessage')).u8(KIND_SESSION_KEY).string(chainId, 'chain id').u16(from).u16(to).finish();
  return createSecretKey(Buffer.from(hkdfSync('sha256', shared, Buffer.concat([challenge, dialerKey]), info, 32)));
}

/** Dialer side: the hello to send for `challenge` (the acceptor's ephemeral key) and the session key. */
export function dialSession(chainId: string, signer: Signer, from: number, to: number, challenge: Uint8Array): { hello: Uint8Array; key: KeyObject } | null {
  const own = createEphemeralKey();
  const key = deriveKey(own.privateKey, challenge, chainId, from, to, challenge, own.publicKey);
  if (key === null) return null;
  const hello = new Uint8Array(SESSION_HELLO_BYTES);
  new DataView(hello.buffer).setUint16(0, from);
  hello.set(own.publicKey, 2);
  hello.set(signer.sign(helloSigningBytes(chainId, from, to, challenge, own.publicKey)), 2 + X25519_KEY_BYTES);
  return { hello, key };
}

/** Acceptor side: the session key when `hello` is signed by `memberKey` for this challenge, else why not. */
export function acceptSession(chainId: string, verifier: SignatureVerifier, memberKey: Uint8Array, from: number, to: number, own: EphemeralKey, hello: Uint8Array): KeyObject | string {
  if (hello.length !== SESSION_HELLO_BYTES) return 'malformed session hello';
  const dialerKey = hello.subarray(2, 2 + X25519_KEY_BYTES);
  const signature = hello.subarray(2 + X25519_KEY_BYTES);
  if (!verifier.verify(memberKey, helloSigningBytes(chainId, from, to, own.publicKey, dialerKey), signature)) return `peer claiming index ${from} failed the challenge (impersonation or wrong network)`;
  return deriveKey(own.privateKey, dialerKey, chainId, from, to, own.publicKey, dialerKey) ?? `peer ${from} sent an unusable ephemeral key`;
}

function tag(key: KeyObject, seq: number, payloadDigest: Uint8Array): Buffer {
  const seqBytes = Buffer.allocUnsafe(8);
  seqBytes.writeUInt32BE(Math.floor(seq / 0x100000000), 0);
  seqBytes.writeUInt32BE(seq >>> 0, 4);
  return createHmac('sha256', key).update(seqBytes).update(payloadDigest).digest();
}

/** Frame: u64 seq | tag | payload. */
export function sealSessionFrame(key: KeyObject, seq: number, payload: Uint8Array, payloadDigest: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(8 + MAC_BYTES + payload.length);
  out.writeUInt32BE(Math.floor(seq / 0x100000000), 0);
  out.writeUInt32BE(seq >>> 0, 4);
  tag(key, seq, payloadDigest).copy(out, 8);
  out.set(payload, 8 + MAC_BYTES);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The payload when the tag is right for this session and seq > lastSeq, else why not. */
export function openSessionFrame(key: KeyObject, sha256: (bytes: Uint8Array) => Uint8Array, lastSeq: number, frame: Uint8Array): { seq: number; payload: Uint8Array } | string {
  if (frame.length < 8 + MAC_BYTES) return 'frame too short';
  const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const seq = view.readUInt32BE(0) * 0x100000000 + view.readUInt32BE(4);
  if (!Number.isSafeInteger(seq) || seq <= lastSeq) return `replayed or reordered frame (seq ${seq} after ${lastSeq})`;
  const payload = frame.subarray(8 + MAC_BYTES);
  if (!timingSafeEqual(view.subarray(8, 8 + MAC_BYTES), tag(key, seq, sha256(payload)))) return 'frame tag does not verify for this session';
  return { seq, payload };
}
