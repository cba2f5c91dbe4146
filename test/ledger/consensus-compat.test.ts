// Goal: a block's commit certificate is exactly the precommits consensus produced, so the two formats
// must never drift apart. Method: sign precommits through the consensus signing module
// (ledger/transport/consensus-signing.ts) for a block the ledger built, and check the ledger's
// commitVoteMessage bytes are identical and the validity rules accept those signatures as a certificate.
import { describe, expect, it } from 'vitest';
import { assembleBlock, certificateOf, certifyBlock, commitVoteMessage, signBatch } from '../../ledger/block.ts';
import { ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { fromHex, toHex } from '../../ledger/encoding/hex.ts';
import { createTestNetwork } from '../../ledger/testing/test-network.ts';
import { consensusSigningBytes, signConsensusMessage } from '../../ledger/transport/consensus-signing.ts';
import { checkBlock, genesisState } from '../../ledger/validity.ts';

describe('commit certificate = consensus precommits', () => {
  it('signs identical bytes and verifies as the block certificate', () => {
    const network = createTestNetwork({ nodes: 4 });
    const state = genesisState(nodeHasher, network.genesis);
    const batch = signBatch(nodeHasher, network.signers[0]!, 0, [{ operation: 'create', entityType: 'Type0', key: 'k', owner: 'partner-0', origin: 'o', commitments: [] }]);
    const block = assembleBlock(nodeHasher, { height: 1, previousHash: state.headHash, membershipHash: state.membershipHash, schemaVersion: state.schemaVersion, proposer: 1, timeMs: state.timeMs + 5, batches: [batch] });
    const round = 2;
    const precommits = [0, 2, 3].map((sender) =>
      signConsensusMessage(state.chainId, network.signers[sender]!, { kind: 'precommit', height: 1, round, valueId: toHex(block.hash), sender }),
    );
    expect(toHex(consensusSigningBytes(state.chainId, { kind: 'precommit', height: 1, round, valueId: toHex(block.hash), sender: 0 }))).toBe(toHex(commitVoteMessage(state.chainId, 1, round, block.hash)));
    const certificate = certificateOf(round, precommits.map((p) => ({ signer: p.sender, signature: fromHex(p.signature) })));
    const result = checkBlock({ hasher: nodeHasher, verifier: ed25519Verifier }, state, certifyBlock(block, certificate));
    expect(result.ok).toBe(true);
  });
});
