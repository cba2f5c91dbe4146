// Checks a commit certificate: a quorum of distinct members of the height's membership precommitted
// exactly this block in one round, each signature valid (the one consensus verifier). Used by block sync
// before a block from a peer is stored, and by anyone re-checking a stored chain. Never throws on
// hostile input; returns why a certificate is refused so logs and errors can say it.
import { quorum } from '../consensus/quorum.ts';
import type { ValueId, VoteMessage } from '../consensus/types.ts';
import type { SignatureVerifier } from '../crypto/signature.ts';
import type { Membership } from '../membership.ts';
import { verifyConsensusMessage } from '../transport/consensus-signing.ts';

export interface CommitCertificate {
  readonly height: number;
  readonly round: number;
  readonly valueId: ValueId;
  /** Precommits for `valueId` in `round`, sorted by sender. */
  readonly votes: readonly VoteMessage[];
}

export function certificateProblem(chainId: string, membership: Membership, verifier: SignatureVerifier, certificate: CommitCertificate, expected: { readonly height: number; readonly valueId: ValueId }): string | null {
  if (certificate.height !== expected.height) return `certificate is for height ${certificate.height}, the block is at ${expected.height}`;
  if (certificate.valueId !== expected.valueId) return 'certificate certifies another block';
  if (certificate.votes.length > membership.nodes.length) return 'certificate has more votes than members';
  const seen = new Set<number>();
  for (const vote of certificate.votes) {
    if (vote.kind !== 'precommit' || vote.height !== certificate.height || vote.round !== certificate.round || vote.valueId !== certificate.valueId) {
      return `vote of node ${vote.sender} is not a precommit for this block in round ${certificate.round}`;
    }
    if (seen.has(vote.sender)) return `node ${vote.sender} signed twice`;
    seen.add(vote.sender);
    if (!verifyConsensusMessage(chainId, membership, verifier, vote)) return `signature of node ${vote.sender} does not verify`;
  }
  const needed = quorum(membership.nodes.length);
  if (seen.size < needed) return `only ${seen.size} of the ${needed} signatures a quorum needs`;
  return null;
}
