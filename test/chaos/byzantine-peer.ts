// The Byzantine gateway: a process holding one member's node key (as if that gateway were compromised)
// that connects to the other members' consensus endpoints beside the honest node and, in one burst,
//   - equivocates: two conflicting prevotes and precommits for the heights being decided, signed with
//     the member's real key (the honest nodes must record equivocation evidence naming it);
//   - signs with a wrong key: votes claiming the member but signed by another key, and a connection
//     whose handshake is signed by another key (both rejected, logged as rejected messages);
//   - sends tampered payloads: a batch whose transaction bytes were altered after signing, and a
//     proposal whose block bytes do not hash to the proposed id (rejected / judged invalid).
// It never sends anything valid that could enter the ledger, so the final replica checks stay exact.
import { randomBytes } from 'node:crypto';
import { signBatch } from '../../ledger/block.ts';
import { chainIdOf } from '../../ledger/block.ts';
import { createEd25519Signer, ed25519Verifier, generateEd25519KeyPair } from '../../ledger/crypto/ed25519.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { genesisHash, type Genesis } from '../../ledger/genesis.ts';
import { signConsensusMessage } from '../../ledger/transport/consensus-signing.ts';
import { WsTransport } from '../../ledger/transport/ws-transport.ts';
import type { Transaction } from '../../ledger/transaction.ts';

/** Long enough for the handshake and one flush on a loaded machine; the burst is fire-and-forget. */
const BURST_MS = 3_000;

export interface ByzantineBurst {
  readonly genesis: Genesis;
  /** The member whose key the Byzantine process holds. */
  readonly partner: string;
  readonly secretKey: Uint8Array;
  /** The other members' consensus URLs by membership index (direct, not through the proxies). */
  readonly peers: readonly { readonly index: number; readonly url: string }[];
  /** The height being decided (head + 1) and its round, as the honest nodes report them. */
  readonly height: number;
  readonly round: number;
}

export async function byzantineBurst(burst: ByzantineBurst): Promise<void> {
  const member = burst.genesis.membership.nodes.find((node) => node.partner === burst.partner);
  if (member === undefined) throw new Error(`${burst.partner} is not a member`);
  const chainId = chainIdOf(genesisHash(nodeHasher, burst.genesis));
  const realKey = createEd25519Signer(burst.secretKey);
  const wrongKey = createEd25519Signer(generateEd25519KeyPair().secretKey);
  const transport = (signer: typeof realKey) => new WsTransport({
    chainId, selfIndex: member.index, signer, verifier: ed25519Verifier, hasher: nodeHasher,
    membership: () => burst.genesis.membership, listenHost: '127.0.0.1', listenPort: 0, peers: burst.peers, onMessage: () => undefined,
  });
  const compromised = transport(realKey);
  const impostor = transport(wrongKey);
  await compromised.start();
  await impostor.start();
  const sender = member.index;
  // Few conflicting pairs per burst: the honest nodes keep at most 64 pieces of evidence per height, and a
  // stalled network (another fault at the same time) may see several bursts at one height.
  for (const height of [burst.height, burst.height + 1]) {
    const round = burst.round;
    for (const kind of ['prevote', 'precommit'] as const) {
      for (const valueId of [toHex(randomBytes(32)), null]) compromised.broadcast({ type: 'vote', message: signConsensusMessage(chainId, realKey, { kind, height, round, valueId, sender }) });
      compromised.broadcast({ type: 'vote', message: signConsensusMessage(chainId, wrongKey, { kind, height, round, valueId: toHex(randomBytes(32)), sender }) });
    }
    const valueId = toHex(randomBytes(32));
    compromised.broadcast({ type: 'proposal', message: signConsensusMessage(chainId, realKey, { kind: 'proposal', height, round: burst.round, valueId, validRound: -1, sender }), block: randomBytes(512), justification: [] });
  }
  const tx: Transaction = { operation: 'create', entityType: 'Chaos', key: toHex(randomBytes(8)), owner: burst.partner, origin: `byzantine:${toHex(randomBytes(8))}`, commitments: [] };
  const signed = signBatch(nodeHasher, realKey, sender, [tx]);
  // The same transaction with another key: still decodes, but no longer matches the owner's signature.
  const tampered = signBatch(nodeHasher, realKey, sender, [{ ...tx, key: `${tx.key}0` }]).transactionBytes[0]!;
  compromised.broadcast({ type: 'batch', signature: signed.seal.signature, txs: [tampered], payloads: [[]], seq: 1, previous: signed.seal.previous });
  impostor.broadcast({ type: 'vote', message: signConsensusMessage(chainId, wrongKey, { kind: 'prevote', height: burst.height, round: burst.round, valueId: null, sender }) });
  await new Promise((resolve) => setTimeout(resolve, BURST_MS));
  await compromised.close();
  await impostor.close();
}
