// Ed25519 on node:crypto (OpenSSL): key generation, signing and THE verifier for everything consensus
// decides (votes, commit certificates, owner batch signatures). Every node must accept and reject exactly
// the same signatures, or honest nodes could disagree on a block's validity; test/ledger pins this
// verifier's behaviour on the ed25519-speccheck edge cases (OpenSSL rejects S >= L and non-canonical R/A,
// verifies cofactorless). Keys are raw 32-byte values; KeyObjects are cached because building one costs
// more than a verification.
//
// libsodium (sodium-native's prebuilt addon), where it loads, verifies and signs about twice as fast
// (measured here: 48 against 105 µs a verification, 17 against 35 µs a signature), and signatures are a
// few percent of a gateway's CPU. It is a fast path only, never a second opinion: it accepts a subset of
// what OpenSSL accepts (the same cofactorless equation, and it also refuses small-order or non-canonical
// R and A), so a signature it refuses is checked again by OpenSSL, and the verdict is always OpenSSL's.
// Ed25519 signing is deterministic (RFC 8032), so both produce the same signature bytes.
import { createRequire } from 'node:module';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SECRET_KEY_BYTES, ED25519_SIGNATURE_BYTES, type SignatureVerifier, type Signer } from './signature.ts';
import { assert } from '../../common/assert.ts';
import { bytesEqual } from '../encoding/hex.ts';

/** DER prefixes that wrap a raw key into SPKI / PKCS#8 for node:crypto (RFC 8410). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const PUBLIC_KEY_CACHE_ENTRIES_MAX = 4096;
const publicKeyCache = new Map<string, KeyObject>();

/** The part of sodium-native used here (its functions take any Uint8Array). */
interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
}

/** libsodium, or null where its addon does not load (a platform without a prebuild): OpenSSL alone then. */
const sodium: Sodium | null = (() => {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return null;
  }
})();

/** Which implementation signs and verifies first (OpenSSL always has the last word on a refusal). */
export const ed25519FastPath: 'libsodium' | 'none' = sodium === null ? 'none' : 'libsodium';

export interface Ed25519KeyPair {
  readonly publicKey: Uint8Array;
  /** The 32-byte RFC 8032 seed. Keep secret; never log it. */
  readonly secretKey: Uint8Array;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const secretKey = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length));
  return { publicKey: publicKeyFromSecret(privateKey), secretKey };
}

export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return publicKeyFromSecret(privateKeyObject(secretKey));
}

/** A signer holding the parsed private key, for signing many messages. */
export function createEd25519Signer(secretKey: Uint8Array): Signer {
  const key = privateKeyObject(secretKey);
  const publicKey = publicKeyFromSecret(key);
  if (sodium === null) return { publicKey, sign: (message) => new Uint8Array(nodeSign(null, message, key)) };
  // libsodium's secret key is the seed followed by the public key it derives (the same as OpenSSL's).
  const expanded = new Uint8Array(64);
  const derived = new Uint8Array(ED25519_PUBLIC_KEY_BYTES);
  sodium.crypto_sign_seed_keypair(derived, expanded, secretKey);
  assert(bytesEqual(derived, publicKey), 'libsodium and OpenSSL derive the same public key from a seed');
  return {
    publicKey,
    sign: (message) => {
      const signature = new Uint8Array(ED25519_SIGNATURE_BYTES);
      sodium.crypto_sign_detached(signature, message, expanded);
      return signature;
    },
  };
}

export function signEd25519(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, privateKeyObject(secretKey)));
}

export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  if (sodium !== null && sodium.crypto_sign_verify_detached(signature, message, publicKey)) return true;
  return verifyWithOpenssl(publicKey, message, signature);
}

/** OpenSSL's verdict alone (what verifyEd25519 returns whenever libsodium refuses). */
export function verifyWithOpenssl(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  const key = publicKeyObject(publicKey);
  if (key === null) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

export const ed25519Verifier: SignatureVerifier = { verify: verifyEd25519 };

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  if (secretKey.length !== ED25519_SECRET_KEY_BYTES) throw new RangeError(`an Ed25519 secret key is ${ED25519_SECRET_KEY_BYTES} bytes, got ${secretKey.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' });
}

function publicKeyFromSecret(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

function publicKeyObject(publicKey: Uint8Array): KeyObject | null {
  const cacheKey = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('latin1');
  const cached = publicKeyCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  } catch {
    return null;
  }
  if (publicKeyCache.size >= PUBLIC_KEY_CACHE_ENTRIES_MAX) publicKeyCache.clear();
  publicKeyCache.set(cacheKey, key);
  return key;
}
