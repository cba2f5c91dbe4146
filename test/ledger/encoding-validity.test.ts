// Goal: the canonical encodings are deterministic and strict, and each validity rule rejects the breach it
// names. Method: build a real signed chain with the shared test-network fixture, round-trip every
// structure through its codec (same value → same bytes; trailing or truncated bytes rejected), then break
// one thing at a time (re-signing where needed so only the targeted rule can fire) and check the rule.
import { describe, expect, it } from 'vitest';
import { assembleBlock, certificateOf, certifyBlock, decodeBlock, decodeBlockHeader, encodeBlock, encodeBlockHeader, signBatch, signCommit, type Block } from '../../ledger/block.ts';
import { ed25519Verifier } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { encodeGenesis, genesisFromJson, genesisToJson } from '../../ledger/genesis.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { encodeMembership } from '../../ledger/membership.ts';
import { createTestNetwork, partnerName, TestChainBuilder } from '../../ledger/testing/test-network.ts';
import { commitPayloads, createPayload, decodeTransaction, encodeTransaction, PUBLIC_AUDIENCE, type Transaction } from '../../ledger/transaction.ts';
import { checkBlock, genesisState, type ChainState } from '../../ledger/validity.ts';

const context = { hasher: nodeHasher, verifier: ed25519Verifier };

/** Partner 0's last batch on the chain at `state`: its next batch must name it. */
function previousOf(state: ChainState): Uint8Array | undefined {
  return state.batchHeads.get(partnerName(0));
}

function chain(): { builder: TestChainBuilder; blocks: Block[]; states: ChainState[] } {
  const builder = new TestChainBuilder(createTestNetwork({ nodes: 4 }));
  const states: ChainState[] = [builder.state];
  const blocks: Block[] = [];
  for (let i = 0; i < 3; i++) {
    blocks.push(builder.nextBlock([{ owner: 0 }, { owner: 0 }, { owner: 1 }, { owner: 2, operation: 'update' }, { owner: 3, operation: 'delete' }]));
    states.push(builder.state);
  }
  return { builder, blocks, states };
}

describe('canonical encoding', () => {
  it('round-trips transactions, headers, blocks and the genesis to identical bytes', () => {
    const { builder, blocks } = chain();
    for (const block of blocks) {
      const bytes = encodeBlock(block);
      const decoded = decodeBlock(bytes);
      expect(toHex(encodeBlock(decoded))).toBe(toHex(bytes));
      expect(toHex(encodeBlockHeader(decodeBlockHeader(block.headerBytes)))).toBe(toHex(block.headerBytes));
      for (const txBytes of block.transactionBytes) expect(toHex(encodeTransaction(decodeTransaction(txBytes)))).toBe(toHex(txBytes));
      expect(() => decodeBlock(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
      expect(() => decodeBlock(Buffer.concat([bytes, Buffer.of(0)]))).toThrow(/trailing/);
      // A record of the earlier format (batches without their previous batch) says what to do.
      expect(() => decodeBlock(Buffer.concat([Buffer.of(1), bytes.subarray(1)]))).toThrow(/version 1 was written by an earlier Entente.*start the network again from fresh data directories/);
      expect(() => decodeBlock(Buffer.concat([Buffer.of(3), bytes.subarray(1)]))).toThrow(/version 3 is not supported .*upgrade Entente/);
    }
    const genesis = builder.network.genesis;
    expect(toHex(encodeGenesis(genesisFromJson(JSON.parse(JSON.stringify(genesisToJson(genesis))), 'test')))).toBe(toHex(encodeGenesis(genesis)));
  });

  it('sorts commitments canonically and rejects an unsorted or duplicated encoding, lone surrogates and unknown versions', () => {
    const payloads = [createPayload('zeta', Uint8Array.of(1)), createPayload('alpha', Uint8Array.of(2))];
    const tx: Transaction = { operation: 'create', entityType: 'T', key: 'k', owner: 'o', origin: 'x', commitments: commitPayloads(nodeHasher, payloads) };
    const reversed = { ...tx, commitments: [...tx.commitments].reverse() };
    expect(toHex(encodeTransaction(reversed))).toBe(toHex(encodeTransaction(tx)));
    expect(decodeTransaction(encodeTransaction(tx)).commitments.map((c) => c.audience)).toEqual(['alpha', 'zeta']);
    expect(() => encodeTransaction({ ...tx, commitments: [tx.commitments[0]!, tx.commitments[0]!] })).toThrow(/two payload commitments/);
    expect(() => encodeTransaction({ ...tx, key: 'bad\uD800' })).toThrow(/surrogate/);
    const bytes = encodeTransaction(tx);
    const wrongVersion = bytes.slice();
    wrongVersion['entente/tx'.length + 1] = 2;
    expect(() => decodeTransaction(wrongVersion)).toThrow(/version 2 is not supported/);
  });
});

describe('validity rules', () => {
  it('accepts the built chain from genesis', () => {
    const { builder, blocks } = chain();
    let state = genesisState(nodeHasher, builder.network.genesis);
    for (const block of blocks) {
      const result = checkBlock(context, state, decodeBlock(encodeBlock(block)));
      expect(result.ok).toBe(true);
      if (result.ok) state = result.state;
    }
    expect(state.height).toBe(3);
  });

  it('names the rule each breach violates', () => {
    const { builder, blocks, states } = chain();
    const net = builder.network;
    const rule = (state: ChainState, block: Block): string => {
      const result = checkBlock(context, state, block);
      return result.ok ? 'ok' : result.violation.rule;
    };
    const recertify = (state: ChainState, mutate: (b: ReturnType<typeof assembleBlock>) => ReturnType<typeof assembleBlock>, signers = 3): Block => {
      const batches = [signBatch(nodeHasher, net.signers[0]!, 0, blocks[1]!.transactions.slice(0, 2), [], previousOf(state))];
      const base = assembleBlock(nodeHasher, { height: state.height + 1, previousHash: state.headHash, membershipHash: state.membershipHash, schemaVersion: state.schemaVersion, proposer: 0, timeMs: state.timeMs + 1, batches });
      const block = mutate(base);
      return certifyBlock(block, certificateOf(0, Array.from({ length: signers }, (_, i) => signCommit(net.signers[i]!, i, state.chainId, block.header.height, 0, block.hash))));
    };
    const s1 = states[1]!;
    expect(rule(s1, recertify(s1, (b) => b))).toBe('ok');
    expect(rule(states[0]!, blocks[1]!)).toBe('height');
    expect(rule(s1, recertify(s1, (b) => reheader(b, { previousHash: new Uint8Array(32) })))).toBe('previous-hash');
    expect(rule(s1, recertify(s1, (b) => reheader(b, { timeMs: 0 })))).toBe('time');
    expect(rule(s1, recertify(s1, (b) => reheader(b, { schemaVersion: 9 })))).toBe('schema-version');
    expect(rule(s1, recertify(s1, (b) => reheader(b, { membershipHash: new Uint8Array(32) })))).toBe('membership-hash');
    expect(rule(s1, recertify(s1, (b) => reheader(b, { proposer: 7 })))).toBe('proposer');
    expect(rule(s1, recertify(s1, (b) => b, 2))).toBe('certificate-quorum');
    expect(rule(s1, recertify(s1, (b) => reheader(b, { txCount: 3 })))).toBe('tx-count');
    expect(rule(s1, recertify(s1, (b) => reheader(b, { txRoot: new Uint8Array(32) })))).toBe('merkle-root');
    const good = recertify(s1, (b) => b);
    const sigs = good.certificate.signatures;
    expect(rule(s1, { ...good, certificate: { round: 0, signatures: [sigs[1]!, sigs[0]!, sigs[2]!] } })).toBe('certificate-signers');
    expect(rule(s1, { ...good, certificate: { round: 0, signatures: [sigs[0]!, sigs[1]!, { signer: 9, signature: sigs[2]!.signature }] } })).toBe('certificate-signers');
    expect(rule(s1, { ...good, certificate: { round: 0, signatures: [sigs[0]!, sigs[1]!, { signer: 3, signature: sigs[2]!.signature }] } })).toBe('certificate-signature');
    expect(rule(s1, { ...good, certificate: { round: 1, signatures: sigs } })).toBe('certificate-signature');
    expect(rule(s1, { ...good, batches: [{ ...good.batches[0]!, signer: 1 }] })).toBe('batch-signature');
    expect(rule(s1, { ...good, batches: [{ ...good.batches[0]!, txCount: 5 }] })).toBe('batch-structure');
    expect(rule(s1, { ...good, batches: [{ ...good.batches[0]!, txCount: 1 }] })).toBe('batch-signature');
    expect(rule(s1, { ...good, payloads: [{ txIndex: 0, audience: PUBLIC_AUDIENCE, salt: new Uint8Array(32), data: Uint8Array.of(1) }] })).toBe('payload');
    // The previous batch hash is signed: changed alone, the signature no longer verifies.
    expect(rule(s1, { ...good, batches: [{ ...good.batches[0]!, previous: new Uint8Array(32) }] })).toBe('batch-signature');
  });

  it('holds an owner\'s batches to the order the owner signed them (batch-order)', () => {
    const { builder, states } = chain();
    const net = builder.network;
    const s1 = states[1]!;
    const tx = (key: string) => ({ operation: 'create' as const, entityType: 'Type0', key, owner: partnerName(0), origin: `order:${key}`, commitments: [] });
    const build = (batches: Parameters<typeof assembleBlock>[1]['batches']): Block => {
      const block = assembleBlock(nodeHasher, { height: s1.height + 1, previousHash: s1.headHash, membershipHash: s1.membershipHash, schemaVersion: s1.schemaVersion, proposer: 0, timeMs: s1.timeMs + 1, batches });
      return certifyBlock(block, certificateOf(0, [0, 1, 2].map((i) => signCommit(net.signers[i]!, i, s1.chainId, block.header.height, 0, block.hash))));
    };
    const verdict = (block: Block): string => {
      const result = checkBlock(context, s1, block);
      return result.ok ? 'ok' : `${result.violation.rule} at ${result.violation.txIndex}`;
    };
    const first = signBatch(nodeHasher, net.signers[0]!, 0, [tx('first')], [], previousOf(s1));
    const second = signBatch(nodeHasher, net.signers[0]!, 0, [tx('second')], [], first.hash);
    expect(verdict(build([first, second]))).toBe('ok');
    // A proposer that swaps them, drops the first, or starts the owner's chain over is refused.
    expect(verdict(build([second, first]))).toBe('batch-order at 0');
    expect(verdict(build([second]))).toBe('batch-order at 0');
    expect(verdict(build([signBatch(nodeHasher, net.signers[0]!, 0, [tx('again')], [])]))).toBe('batch-order at 0');
    // Replayed after it committed: its previous is no longer the owner's last batch.
    const after = checkBlock(context, s1, build([first]));
    expect(after.ok).toBe(true);
    if (!after.ok) return;
    expect(toHex(after.state.batchHeads.get(partnerName(0))!)).toBe(toHex(first.hash));
    const s2 = after.state;
    const replay = assembleBlock(nodeHasher, { height: s2.height + 1, previousHash: s2.headHash, membershipHash: s2.membershipHash, schemaVersion: s2.schemaVersion, proposer: 0, timeMs: s2.timeMs + 1, batches: [first] });
    const certified = certifyBlock(replay, certificateOf(0, [0, 1, 2].map((i) => signCommit(net.signers[i]!, i, s2.chainId, replay.header.height, 0, replay.hash))));
    const replayed = checkBlock(context, s2, certified);
    expect(replayed.ok ? 'ok' : replayed.violation.rule).toBe('batch-order');
    expect(replayed.ok ? '' : replayed.violation.message).toMatch(/partner-0's last batch on the chain is [0-9a-f]{64}: the owner's batches are out of order, repeated or missing/);
  });

  it('rejects a change published by a partner that does not own the entity type, and applies governance', () => {
    const net = createTestNetwork({ nodes: 4 });
    const builder = new TestChainBuilder(net);
    expect(() => builder.nextBlock([{ owner: 1, entityType: 'Type0' }])).toThrow(/owner: partner-1 published a change to Type0, which partner-0 owns/);
    expect(() => builder.nextBlock([{ owner: 1, entityType: 'Unowned' }])).toThrow(/no owner/);
    builder.nextBlock([{ owner: 2, operation: 'schema-change' }]);
    expect(builder.state.schemaVersion).toBe(2);
    const smaller = createTestNetwork({ nodes: 1 }).genesis.membership;
    expect(() => builder.nextBlock([{ owner: 0, operation: 'membership-change', payloads: [createPayload('partner-0', Uint8Array.of(1))] }])).toThrow(/governance: a membership change must store its public/);
    const membershipPayload = createPayload(PUBLIC_AUDIENCE, encodeMembership(smaller));
    builder.nextBlock([{ owner: 0, operation: 'membership-change', payloads: [membershipPayload] }]);
    expect(builder.state.membership.nodes).toHaveLength(1);
    // The next block must be certified by the new membership, whose key the old nodes do not hold.
    expect(() => builder.nextBlock([{ owner: 0 }])).toThrow(/certificate-signature|batch/);
  });
});

function reheader<T extends ReturnType<typeof assembleBlock>>(block: T, change: Partial<T['header']>): T {
  const header = { ...block.header, ...change };
  const headerBytes = encodeBlockHeader(header);
  return { ...block, header, headerBytes, hash: nodeHasher.sha256(headerBytes) };
}
