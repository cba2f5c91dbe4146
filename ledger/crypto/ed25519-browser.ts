// Ed25519 verification in pure JavaScript (@noble/curves, strict RFC 8032 mode, no ZIP-215) for code that
// must run in a browser: the explorer's offline proof check. Consensus never uses it — node:crypto's
// verifier (./ed25519.ts) is the one that decides; test/ledger checks both agree on valid signatures.
import { ed25519 } from '@noble/curves/ed25519.js';
import type { SignatureVerifier } from './signature.ts';

export const browserEd25519Verifier: SignatureVerifier = {
  verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};
