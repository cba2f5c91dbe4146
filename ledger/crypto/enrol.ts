// Enrolment: the check a public key passes before it joins a membership (genesis, membership change,
// peer registration). Verification alone cannot be trusted with weak keys: a small-order key admits
// signatures that verify for many messages, and a non-canonical encoding gives one key two identities.
// We decode with @noble/curves in strict (non-ZIP-215) mode and require: canonical encoding (y < p, the
// encoding round-trips), a point on the curve, not of small order and free of a torsion component.
// Honest keys from generateEd25519KeyPair always pass. Pure JavaScript, so it also runs in a browser.
import { ed25519 } from '@noble/curves/ed25519.js';
import { EntenteError } from '../../common/errors.ts';
import { bytesEqual, toHex } from '../encoding/hex.ts';
import { ED25519_PUBLIC_KEY_BYTES } from './signature.ts';

export type PublicKeyRejection = 'wrong-length' | 'non-canonical' | 'not-on-curve' | 'small-order' | 'mixed-order';

// Checking torsion costs a scalar multiplication in JavaScript (milliseconds); memberships are decoded
// again and again (proof checks, governance replays) with the same few keys, so verdicts are cached.
const VERDICT_CACHE_ENTRIES_MAX = 4096;
const verdicts = new Map<string, PublicKeyRejection | null>();

/** Null when the key may be enrolled, otherwise why not. */
export function publicKeyRejection(publicKey: Uint8Array): PublicKeyRejection | null {
  const cacheKey = toHex(publicKey);
  const cached = verdicts.get(cacheKey);
  if (cached !== undefined) return cached;
  const verdict = judgePublicKey(publicKey);
  if (verdicts.size >= VERDICT_CACHE_ENTRIES_MAX) verdicts.clear();
  verdicts.set(cacheKey, verdict);
  return verdict;
}

function judgePublicKey(publicKey: Uint8Array): PublicKeyRejection | null {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return 'wrong-length';
  if (!hasCanonicalY(publicKey)) return 'non-canonical';
  let point;
  try {
    point = ed25519.Point.fromBytes(publicKey, false);
  } catch {
    return 'not-on-curve';
  }
  if (!bytesEqual(point.toBytes(), publicKey)) return 'non-canonical';
  if (point.isSmallOrder()) return 'small-order';
  if (!point.isTorsionFree()) return 'mixed-order';
  return null;
}

/** Returns the key when it may be enrolled; otherwise a CONFIG_INVALID error naming the reason. */
export function enrolPublicKey(publicKey: Uint8Array, owner: string): Uint8Array {
  const rejection = publicKeyRejection(publicKey);
  if (rejection !== null) {
    throw new EntenteError('CONFIG_INVALID', `the Ed25519 public key of ${owner} (${toHex(publicKey)}) cannot be enrolled: ${REJECTION_TEXT[rejection]}. Generate a fresh key with \`entente keygen\` and use its public key.`, { details: { owner, reason: rejection } });
  }
  return publicKey;
}

const REJECTION_TEXT: Readonly<Record<PublicKeyRejection, string>> = {
  'wrong-length': `it is not ${ED25519_PUBLIC_KEY_BYTES} bytes`,
  'non-canonical': 'its encoding is not canonical (y >= p, or x = 0 with the sign bit set)',
  'not-on-curve': 'it is not a point on the curve',
  'small-order': 'it is a small-order point, for which signatures can verify on many messages',
  'mixed-order': 'it has a small-order (torsion) component',
};

/** y (little-endian, top bit masked) < p = 2^255 - 19. */
function hasCanonicalY(bytes: Uint8Array): boolean {
  if ((bytes[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (bytes[i] !== 0xff) return true;
  return bytes[0]! < 0xed;
}
