// Goal: the ledger's validity rules for schema evolution (#11) — only `activation/v<version+1>` raises the
// schema version, one per block, proposals and approvals pass — and the injected schema judge refuses a
// block whose activation the governance policy refuses, naming who must approve; the genesis hashes the
// governance policy and the first schema's files (a genesis without them keeps its hash).
// Method: a certified test chain (ledger/testing) whose '$schema' transactions carry real proposal,
// approval and activation payloads; every block is re-checked with checkBlock and the judge built from
// the genesis, as `entente verify` and the gateways do.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../gateway/cli/main.ts';
import { generateEd25519KeyPair } from '../../../ledger/crypto/ed25519.ts';
import { toHex } from '../../../ledger/encoding/hex.ts';
import { GENESIS_FILE, readGenesisFile, writeGenesisFile } from '../../../ledger/genesis.ts';
import { SegmentBlockStore } from '../../../ledger/store/segment-store.ts';
import type { Block } from '../../../ledger/block.ts';
import { ed25519Verifier } from '../../../ledger/crypto/ed25519.ts';
import { encodeGenesis, genesisFromJson, genesisHash, genesisToJson, type Genesis } from '../../../ledger/genesis.ts';
import { createTestNetwork, partnerName, TestChainBuilder } from '../../../ledger/testing/test-network.ts';
import { checkBlock, genesisState, type ChainState } from '../../../ledger/validity.ts';
import { createSchemaJudge, genesisSchemaState } from '../../../schema/evolution/schema-judge.ts';
import type { SchemaLedgerState } from '../../../schema/evolution/schema-ledger-state.ts';
import { schemaLedgerTransaction, schemaProposalHash, type SchemaLedgerBody, type SchemaProposal } from '../../../schema/evolution/schema-transactions.ts';

const owner = partnerName(0);
const reader = partnerName(1);
const orderV1 = `type Order @key(fields: "id") @table(name: "orders") @grant(partners: ["${reader}"], operations: [READ]) {
  id: BigInt! @column(name: "id", type: "bigint")
  status: String! @column(name: "status", type: "text")
}
`;
const withPriority = orderV1.replace('  status:', '  priority: Int @column(name: "priority", type: "integer")\n  status:');
const withoutStatus = orderV1.replace(/ {2}status:.*\n/, '');

function network(schema = true) {
  const base = createTestNetwork({ nodes: 3 });
  const genesis: Genesis = { ...base.genesis, ownership: new Map([['Order', owner]]), ...(schema ? { governance: { breaking: 'all-affected' }, schema: [{ partner: owner, source: orderV1 }] } : {}) };
  return { ...base, genesis };
}

function schemaChange(net: ReturnType<typeof network>, ownerIndex: number, body: SchemaLedgerBody) {
  const { transaction, payload } = schemaLedgerTransaction(net.hasher, body, partnerName(ownerIndex), 'test');
  return { owner: ownerIndex, operation: 'schema-change' as const, key: transaction.key, payloads: [payload] };
}

/** Checks every block with the judge, as verify does; returns the state or the first violation. */
function replay(net: ReturnType<typeof network>, blocks: readonly Block[]): { state: ChainState } | { rule: string; message: string; height: number } {
  const initial = genesisSchemaState(net.hasher, net.genesis)!;
  const context = { hasher: net.hasher, verifier: ed25519Verifier, schemaJudge: createSchemaJudge(net.hasher, initial) };
  let state = genesisState(net.hasher, net.genesis);
  for (const block of blocks) {
    const check = checkBlock(context, state, block);
    if (!check.ok) return { rule: check.violation.rule, message: check.violation.message, height: check.violation.height };
    state = check.state;
  }
  return { state };
}

describe('schema evolution in validity', () => {
  const net = network();
  const initial = genesisSchemaState(net.hasher, net.genesis)!;
  const proposalOf = (source: string): SchemaProposal => ({ version: 2, previousHash: initial.contentHash, files: [{ partner: owner, source }] });

  it('raises the schema version only with an activation of the next version, one per block', () => {
    const builder = new TestChainBuilder(net);
    const additive = proposalOf(withPriority);
    const hash = schemaProposalHash(net.hasher, additive);
    builder.nextBlock([schemaChange(net, 0, { kind: 'proposal', proposal: additive }), schemaChange(net, 1, { kind: 'approval', approval: { proposalHash: hash, approver: reader } })]);
    expect(builder.state.schemaVersion).toBe(1);
    // An activation of another version is a no-op, not an invalid block (it would stall the chain from the mempool).
    builder.nextBlock([{ owner: 0, operation: 'schema-change', key: 'activation/v3' }]);
    expect(builder.state.schemaVersion).toBe(1);
    expect(() => builder.nextBlock([{ owner: 0, operation: 'schema-change', key: 'v2' }])).toThrow(/is not proposal\/v<N>, approval/);
    // Two activations in one block: the first raises the version by one, the second is a no-op.
    const activation = schemaChange(net, 0, { kind: 'activation', activation: { version: 2, proposalHash: hash } });
    builder.nextBlock([activation, { ...activation }]);
    expect(builder.state.schemaVersion).toBe(2);
    builder.nextBlock([{ owner: 0, operation: 'schema-change', key: 'activation/v2' }]);
    expect(builder.state.schemaVersion).toBe(2);
  });

  it('the judge refuses an activation without the approvals the policy needs, naming who must approve; with them the chain replays to the new version', async () => {
    const breaking = proposalOf(withoutStatus);
    const hash = schemaProposalHash(net.hasher, breaking);
    const refused = new TestChainBuilder(net);
    const blocks = [
      refused.nextBlock([schemaChange(net, 0, { kind: 'proposal', proposal: breaking })]),
      refused.nextBlock([{ owner: 0, entityType: 'Order' }, schemaChange(net, 0, { kind: 'activation', activation: { version: 2, proposalHash: hash } })]),
    ];
    const outcome = replay(net, blocks);
    expect(outcome).toMatchObject({ rule: 'governance', height: 2 });
    expect((outcome as { message: string }).message).toMatch(/schema activation refused: The schema change is refused\. It needs approval from partner-1\./);
    // `entente verify` finds it offline, from the genesis and the stored chain alone.
    const dir = await mkdtemp(join(tmpdir(), 'entente-schema-verify-'));
    try {
      await writeGenesisFile(join(dir, GENESIS_FILE), net.genesis);
      const store = await SegmentBlockStore.open(dir);
      for (const block of blocks) await store.append(block, net.hasher.sha256(block.headerBytes));
      await store.close();
      let stderr = '';
      const code = await main(['verify', '--data', dir], { stdout: () => undefined, stderr: (text) => { stderr += text; } });
      expect(code).toBe(1);
      expect(stderr).toContain('FAILED at block 2, transaction 1');
      expect(stderr).toContain('rule governance: schema activation refused: The schema change is refused. It needs approval from partner-1.');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    const approved = new TestChainBuilder(net);
    const good = [
      approved.nextBlock([schemaChange(net, 0, { kind: 'proposal', proposal: breaking })]),
      approved.nextBlock([schemaChange(net, 1, { kind: 'approval', approval: { proposalHash: hash, approver: reader } })]),
      approved.nextBlock([schemaChange(net, 0, { kind: 'activation', activation: { version: 2, proposalHash: hash } })]),
      // A late approval of a proposal no longer pending is a no-op, never an invalid block.
      approved.nextBlock([schemaChange(net, 2, { kind: 'approval', approval: { proposalHash: hash, approver: partnerName(2) } })]),
      // So is an activation published twice (a gateway that re-sent it): the judge ignores it as validity does.
      approved.nextBlock([schemaChange(net, 0, { kind: 'activation', activation: { version: 2, proposalHash: hash } })]),
    ];
    const replayed = replay(net, good);
    expect('state' in replayed && replayed.state.schemaVersion).toBe(2);
    const schemaState = (replayed as { state: ChainState }).state.schemaState as SchemaLedgerState;
    expect(schemaState.version).toBe(2);
    expect(schemaState.unified.types[0]!.fields.map((field) => field.name)).toEqual(['id']);
  });

  it('the genesis hashes governance and the first schema files; without them the hash is as before', () => {
    const plain = network(false).genesis;
    const before = genesisHash(net.hasher, plain);
    expect(encodeGenesis(plain).length).toBeLessThan(encodeGenesis(net.genesis).length);
    const roundTrip = genesisFromJson(JSON.parse(JSON.stringify(genesisToJson(net.genesis))), 'test');
    expect(genesisHash(net.hasher, roundTrip)).toEqual(genesisHash(net.hasher, net.genesis));
    expect(genesisHash(net.hasher, { ...net.genesis, governance: { breaking: 'all' } })).not.toEqual(genesisHash(net.hasher, net.genesis));
    expect(genesisHash(net.hasher, genesisFromJson(JSON.parse(JSON.stringify(genesisToJson(plain))), 'test'))).toEqual(before);
    expect(() => genesisFromJson({ ...genesisToJson(net.genesis), schema: { nobody: 'type X' } }, 'g.json')).toThrow(/schema has a file of nobody, which is not a member/);
  });

  it('`entente genesis --schema-dir --governance` writes both into the genesis', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'entente-schema-genesis-'));
    try {
      const out = join(dir, GENESIS_FILE);
      const members = ['acme', 'bolt', 'cargo'].flatMap((partner) => ['--member', `${partner}:${toHex(generateEd25519KeyPair().publicKey)}`]);
      let stderr = '';
      const io = { stdout: () => undefined, stderr: (text: string) => { stderr += text; } };
      const code = await main(['genesis', '--out', out, '--network', 'n', ...members, '--own', 'Order=acme', '--schema-dir', 'test/gateway/network3', '--governance', 'widening=all-affected'], io);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const written = await readGenesisFile(out);
      expect(written.schema?.map((file) => file.partner)).toEqual(['acme', 'bolt', 'cargo']);
      expect(written.governance).toEqual({ additive: 'owner', dangerous: 'owner', widening: 'all-affected', narrowing: 'owner', breaking: 'all-affected' });
      expect(genesisSchemaState(net.hasher, written)?.unified.types.map((type) => type.name).sort()).toEqual(['Order', 'Part', 'Shipment']);
      expect(await main(['genesis', '--out', join(dir, 'g2.json'), '--network', 'n', ...members, '--governance', 'widening=everyone'], io)).not.toBe(0);
      expect(stderr).toContain('.widening is "everyone", not one of the rules');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
