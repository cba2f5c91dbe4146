// The simulator's checkers. They keep one canonical history (the first block any honest node committed at
// each height) and require every honest node to match it, and they run on every commit, every signature,
// every restart and at the end of a run. A violation throws SimulationFailure with what went wrong; the
// runner prints it with the seed and the replay command.
import type { EquivocationEvidence, SignedMessage } from '../../ledger/consensus/index.ts';
import type { SignatureVerifier } from '../../ledger/crypto/signature.ts';
import type { Membership } from '../../ledger/membership.ts';
import { certificateProblem, type CommitCertificate } from '../../ledger/sync/commit-certificate.ts';
import type { FaultMix } from './fault-mixes.ts';
import type { SimBlock, SimChain } from './sim-chain.ts';
import { simBlockId } from './sim-chain.ts';

export class SimulationFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationFailure';
  }
}

export interface CheckerContext {
  readonly chainId: string;
  readonly membership: Membership;
  readonly verifier: SignatureVerifier;
  readonly isByzantine: (node: number) => boolean;
}

export class Checkers {
  private readonly canonical: string[] = [];
  private readonly canonicalTxHeight = new Map<string, number>();
  private readonly submitted = new Map<string, number>();
  /** tx → height it was acknowledged at, to the client that submitted it through that node. */
  private readonly acknowledged = new Map<string, number>();
  private readonly signatures = new Map<string, string>();
  private readonly evidence: EquivocationEvidence[] = [];
  private readonly ctx: CheckerContext;

  constructor(ctx: CheckerContext) {
    this.ctx = ctx;
  }

  committedTxCount(): number {
    return this.canonicalTxHeight.size;
  }

  onSubmitted(tx: string, node: number): void {
    this.submitted.set(tx, node);
  }

  /** Agreement, validity and chain integrity, for each block an honest node stores. */
  onCommit(node: number, chain: SimChain, height: number, block: SimBlock, certificate: CommitCertificate): void {
    const id = simBlockId(block);
    const canonical = this.canonical[height - 1];
    if (canonical === undefined) {
      if (height !== this.canonical.length + 1) fail(`integrity: node ${node} stored height ${height} before any node stored ${this.canonical.length + 1}`);
      this.canonical.push(id);
      this.checkValidity(node, height, block);
    } else if (canonical !== id) {
      fail(`agreement: node ${node} committed block ${id.slice(0, 12)} at height ${height}, another honest node committed ${canonical.slice(0, 12)}`);
    }
    if (block.height !== height) fail(`integrity: node ${node} stored a block claiming height ${block.height} at height ${height}`);
    if (block.parent !== chain.idAt(height - 1)) fail(`integrity: block ${height} at node ${node} does not link to block ${height - 1}`);
    const problem = certificateProblem(this.ctx.chainId, this.ctx.membership, this.ctx.verifier, certificate, { height, valueId: id });
    if (problem !== null) fail(`integrity: block ${height} at node ${node} has a bad commit certificate: ${problem}`);
    for (const tx of block.txs) if (this.submitted.get(tx) === node && !this.acknowledged.has(tx)) this.acknowledged.set(tx, height);
  }

  private checkValidity(node: number, height: number, block: SimBlock): void {
    for (const tx of block.txs) {
      if (!this.submitted.has(tx)) fail(`validity: height ${height} (first stored by node ${node}) contains ${tx}, which no client submitted`);
      const earlier = this.canonicalTxHeight.get(tx);
      if (earlier !== undefined) fail(`validity: ${tx} committed twice, at heights ${earlier} and ${height}`);
      this.canonicalTxHeight.set(tx, height);
    }
  }

  /** A node never signs two different messages for one (height, round, kind), even across crashes. */
  onSigned(node: number, message: SignedMessage): void {
    const key = `${node}|${message.height}|${message.round}|${message.kind}`;
    const content = message.kind === 'proposal' ? `${message.valueId}/${message.validRound}` : String(message.valueId);
    const earlier = this.signatures.get(key);
    if (earlier === undefined) this.signatures.set(key, content);
    else if (earlier !== content) fail(`durability: honest node ${node} signed two different ${message.kind}s at height ${message.height} round ${message.round} (${earlier.slice(0, 12)} then ${content.slice(0, 12)})`);
  }

  /** Evidence must name a Byzantine node and hold two really different, validly signed messages. */
  onEvidence(node: number, evidence: EquivocationEvidence): void {
    if (!this.ctx.isByzantine(evidence.sender)) fail(`evidence: node ${node} accused honest node ${evidence.sender}`);
    if (evidence.first.valueId === evidence.second.valueId && evidence.first.kind !== 'proposal') fail('evidence: the two messages do not differ');
    this.evidence.push(evidence);
  }

  /** No acknowledged commit is lost across a crash: the restarted node's store still holds every block. */
  onRestart(node: number, chain: SimChain): void {
    for (const [tx, height] of this.acknowledged) {
      if (this.submitted.get(tx) === node && chain.committedTxs.get(tx) !== height) fail(`durability: node ${node} lost acknowledged ${tx} (height ${height}) across its crash`);
    }
  }

  /** After the heal, with at most f faulty nodes, every honest node commits the probe transactions. */
  checkLiveness(chains: readonly SimChain[], probes: readonly string[], now: number): void {
    chains.forEach((chain, i) => {
      const missing = probes.filter((tx) => !chain.committedTxs.has(tx));
      if (missing.length > 0) fail(`liveness: at t=${now}ms honest chain #${i} (head ${chain.headHeight()}) still lacks ${missing.length} probe transaction(s) after the network healed`);
    });
  }

  checkEnd(chains: readonly SimChain[], mix: FaultMix): void {
    for (const chain of chains) {
      for (let h = 1; h <= chain.headHeight(); h++) {
        if (chain.idAt(h) !== this.canonical[h - 1]) fail(`agreement: an honest chain differs from the canonical history at height ${h}`);
      }
      for (const [tx, height] of this.acknowledged) {
        if (chain.headHeight() >= height && chain.committedTxs.get(tx) !== height) fail(`durability: acknowledged ${tx} (height ${height}) is missing from an honest chain`);
      }
    }
    if (mix.behaviour === 'equivocate' && mix.byzantine > 0 && mix.lossProbability === 0 && this.evidence.length === 0) {
      fail('evidence: a Byzantine node equivocated on a lossless network and no honest node recorded evidence');
    }
  }
}

function fail(message: string): never {
  throw new SimulationFailure(message);
}
