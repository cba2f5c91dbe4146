// A reusable fixture: a test membership with real Ed25519 keys and a builder that produces a valid, signed,
// certified multi-block chain on top of its genesis. For tests and benchmarks of every layer (consensus,
// gateway, explorer) — never for production keys (the secret keys sit in memory in plain sight).
import { createEd25519Signer, generateEd25519KeyPair } from '../crypto/ed25519.ts';
import type { Hasher } from '../crypto/hasher.ts';
import type { Signer } from '../crypto/signature.ts';
import { nodeHasher } from '../crypto/sha256-node.ts';
import { ed25519Verifier } from '../crypto/ed25519.ts';
import { assembleBlock, certificateOf, certifyBlock, signBatch, signCommit, type Block, type SignedBatch } from '../block.ts';
import type { Genesis } from '../genesis.ts';
import { createMembership, quorumSize } from '../membership.ts';
import { commitPayloads, createPayload, PUBLIC_AUDIENCE, type Operation, type Payload, type Transaction } from '../transaction.ts';
import { checkBlock, genesisState, type ChainState } from '../validity.ts';

export interface TestNetwork {
  readonly genesis: Genesis;
  readonly secretKeys: readonly Uint8Array[];
  readonly signers: readonly Signer[];
  readonly hasher: Hasher;
}

export interface TestNetworkOptions {
  readonly nodes?: number;
  readonly network?: string;
  /** Entity types per partner; partner i owns `Type{i}` and `Type{i}b` by default. */
  readonly ownership?: ReadonlyMap<string, string>;
  readonly timeMs?: number;
}

export function partnerName(index: number): string {
  return `partner-${index}`;
}

export function createTestNetwork(options: TestNetworkOptions = {}): TestNetwork {
  const count = options.nodes ?? 4;
  const pairs = Array.from({ length: count }, () => generateEd25519KeyPair());
  const membership = createMembership(pairs.map((p, i) => ({ partner: partnerName(i), publicKey: p.publicKey })));
  const ownership = options.ownership ?? new Map(Array.from({ length: count }, (_, i) => [[`Type${i}`, partnerName(i)], [`Type${i}b`, partnerName(i)]] as const).flat());
  const genesis: Genesis = { network: options.network ?? 'entente-test', timeMs: options.timeMs ?? 1_700_000_000_000, schemaVersion: 1, membership, ownership };
  return { genesis, secretKeys: pairs.map((p) => p.secretKey), signers: pairs.map((p) => createEd25519Signer(p.secretKey)), hasher: nodeHasher };
}

export interface TestChange {
  readonly owner: number;
  readonly operation?: Operation;
  readonly entityType?: string;
  readonly key?: string;
  /** Payload data per audience; default one public payload of `payloadBytes` bytes. */
  readonly payloads?: readonly Payload[];
  /** Size of the default public payload (overrides the builder's `payloadBytes`). */
  readonly payloadBytes?: number;
}

export interface ChainBuilderOptions {
  /** Bytes of the default public payload of each change (default 64). */
  readonly payloadBytes?: number;
  /** How many nodes sign each certificate (default: a quorum). */
  readonly certificateSigners?: number;
  /** Check each built block with the validity rules (default true; benchmarks that build huge chains turn it off). */
  readonly selfCheck?: boolean;
}

/** Builds consecutive valid blocks; each `nextBlock` checks its own output with the validity rules. */
export class TestChainBuilder {
  readonly network: TestNetwork;
  private chainState: ChainState;
  private readonly options: ChainBuilderOptions;
  private changeCounter = 0;
  /** Each owner's last batch hash (by membership index): its next batch names it. */
  private batchHeads = new Map<number, Uint8Array>();

  constructor(network: TestNetwork, options: ChainBuilderOptions = {}) {
    this.network = network;
    this.chainState = genesisState(network.hasher, network.genesis);
    this.options = options;
  }

  get state(): ChainState {
    return this.chainState;
  }

  /** One block holding the given changes, grouped into one batch per run of consecutive same-owner changes. */
  nextBlock(changes: readonly TestChange[], timeMs?: number): Block {
    const { hasher } = this.network;
    const batches: SignedBatch[] = [];
    // Kept only once the block is built (a block the self-check refuses must not move the owners' chains).
    const heads = new Map(this.batchHeads);
    let run: { owner: number; txs: Transaction[]; payloads: Payload[][] } | null = null;
    const flush = (): void => {
      if (run !== null) {
        const batch = signBatch(hasher, this.network.signers[run.owner]!, run.owner, run.txs, run.payloads, heads.get(run.owner));
        heads.set(run.owner, batch.hash);
        batches.push(batch);
      }
      run = null;
    };
    for (const change of changes) {
      if (run === null || run.owner !== change.owner) {
        flush();
        run = { owner: change.owner, txs: [], payloads: [] };
      }
      const [tx, payloads] = this.makeTransaction(change);
      run.txs.push(tx);
      run.payloads.push(payloads);
    }
    flush();
    const state = this.chainState;
    const proposer = state.height % state.membership.nodes.length;
    const block = assembleBlock(hasher, {
      height: state.height + 1,
      previousHash: state.headHash,
      membershipHash: state.membershipHash,
      schemaVersion: state.schemaVersion,
      proposer,
      timeMs: timeMs ?? state.timeMs + 1000,
      batches,
    });
    const signerCount = this.options.certificateSigners ?? quorumSize(state.membership.nodes.length);
    const round = block.header.height % 3; // vary the round so verifiers cannot assume round 0
    const signatures = Array.from({ length: signerCount }, (_, i) => signCommit(this.network.signers[i]!, i, state.chainId, block.header.height, round, block.hash));
    const certified = certifyBlock(block, certificateOf(round, signatures));
    if (this.options.selfCheck === false) {
      this.chainState = { ...state, height: block.header.height, headHash: block.hash, timeMs: block.header.timeMs };
      this.batchHeads = heads;
      return certified;
    }
    const check = checkBlock({ hasher, verifier: ed25519Verifier }, state, certified);
    if (!check.ok) throw new Error(`test chain builder produced an invalid block: ${check.violation.rule}: ${check.violation.message}`);
    this.chainState = check.state;
    this.batchHeads = heads;
    return certified;
  }

  /** `blocks` blocks of `txPerBlock` changes each, owners rotating. */
  blocks(blocks: number, txPerBlock: number): Block[] {
    const out: Block[] = [];
    const n = this.network.genesis.membership.nodes.length;
    for (let b = 0; b < blocks; b++) {
      out.push(this.nextBlock(Array.from({ length: txPerBlock }, (_, i) => ({ owner: Math.floor((i * n) / Math.max(1, txPerBlock)) % n }))));
    }
    return out;
  }

  private makeTransaction(change: TestChange): [Transaction, Payload[]] {
    const id = this.changeCounter++;
    const operation = change.operation ?? 'create';
    const entityType = change.entityType ?? (operation === 'schema-change' ? '$schema' : operation === 'membership-change' ? '$membership' : `Type${change.owner}`);
    const payloads = [...(change.payloads ?? [createPayload(PUBLIC_AUDIENCE, payloadData(id, change.payloadBytes ?? this.options.payloadBytes ?? 64))])];
    const tx: Transaction = {
      operation,
      entityType,
      // A schema change defaults to activating the next version, the only kind that raises it (validity.ts).
      key: change.key ?? (operation === 'schema-change' ? `activation/v${this.chainState.schemaVersion + 1}` : `key-${id}`),
      owner: partnerName(change.owner),
      origin: `test:${id}`,
      commitments: commitPayloads(this.network.hasher, payloads),
    };
    return [tx, payloads];
  }
}

const TEMPLATE = Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24);

/** Deterministic test bytes, unique per seed (the seed is written into the first 8 bytes). */
function payloadData(seed: number, size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let at = 0; at < size; at += TEMPLATE.length) data.set(TEMPLATE.subarray(0, Math.min(TEMPLATE.length, size - at)), at);
  for (let i = 0; i < Math.min(8, size); i++) data[i] = Math.floor(seed / 256 ** i) & 0xff;
  return data;
}

export interface TestLedger {
  readonly directory: string;
  readonly network: TestNetwork;
  readonly blocks: readonly Block[];
}

/** Writes genesis.json and a signed chain of `blocks` × `txPerBlock` into `directory` (a ready ledger directory). */
export async function writeTestLedger(directory: string, options: TestNetworkOptions & ChainBuilderOptions & { readonly blocks: number; readonly txPerBlock: number }): Promise<TestLedger> {
  const { mkdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { writeGenesisFile, GENESIS_FILE } = await import('../genesis.ts');
  const { SegmentBlockStore } = await import('../store/segment-store.ts');
  const network = createTestNetwork(options);
  await mkdir(directory, { recursive: true });
  await writeGenesisFile(join(directory, GENESIS_FILE), network.genesis);
  const builder = new TestChainBuilder(network, options);
  const store = await SegmentBlockStore.open(directory);
  const blocks: Block[] = [];
  try {
    for (let i = 0; i < options.blocks; i++) {
      const [block] = builder.blocks(1, options.txPerBlock);
      await store.append(block!, network.hasher.sha256(block!.headerBytes));
      blocks.push(block!);
    }
  } finally {
    await store.close();
  }
  return { directory, network, blocks };
}
