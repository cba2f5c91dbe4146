// Proof checking in the browser with exactly the code `entente proof --check` runs (ledger/proof.ts),
// given the pure-JavaScript SHA-256 and Ed25519 back ends instead of node:crypto. Nothing is sent to
// the gateway: the page can check a proof even when the gateway that served it is not trusted.
import { browserEd25519Verifier } from '../../../ledger/crypto/ed25519-browser.ts';
import { browserHasher } from '../../../ledger/crypto/sha256-browser.ts';
import { checkTransactionProof, type ProofVerdict } from '../../../ledger/proof.ts';

/** The CLI refuses larger proof files too; a real proof is a few kilobytes. */
export const proofTextBytesMax = 1024 * 1024;

export type ProofOutcome =
  | { readonly ok: true; readonly verdict: ProofVerdict; readonly milliseconds: number }
  | { readonly ok: false; readonly reason: string };

export function checkProofText(text: string): ProofOutcome {
  if (text.trim().length === 0) return { ok: false, reason: 'Paste a proof first (the JSON that `entente proof <transaction id> --data <ledger dir>` prints), or choose a proof file.' };
  if (text.length > proofTextBytesMax) return { ok: false, reason: `This text is ${text.length} bytes; a proof is far below ${proofTextBytesMax}.` };
  let proof: unknown;
  try {
    proof = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'This is not JSON. A proof is the JSON document that `entente proof` prints.' };
  }
  const started = performance.now();
  try {
    const verdict = checkTransactionProof(browserHasher, browserEd25519Verifier, proof);
    return { ok: true, verdict, milliseconds: performance.now() - started };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}
