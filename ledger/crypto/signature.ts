// The signature seam as types only, so pure code (the consensus core) can take a verifier as a parameter
// without importing node:crypto. The one implementation consensus must use is `ed25519Verifier` in
// ./ed25519.ts (node:crypto), pinned by the ed25519-speccheck cases in test/ledger.

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

export interface SignatureVerifier {
  /** True only for a valid Ed25519 signature; false (never a throw) for any malformed input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}
