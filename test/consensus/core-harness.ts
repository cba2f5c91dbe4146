// A tiny synchronous driver for the pure core, for unit tests: it plays the host's part of the Ready
// contract (persist → ack → send → self-deliver) with instant, lossless delivery, and lets a test hold
// back or inject individual messages. Signatures are the fake token `sig:<sender>`: the core never reads them.
import { initialState, step, type ConsensusInput, type ConsensusState, type Ready, type SignedMessage, type TimerRequest, type UnsignedMessage } from '../../ledger/consensus/index.ts';

export interface CoreNode {
  state: ConsensusState;
  readonly sent: SignedMessage[];
  readonly timers: TimerRequest[];
  readonly readies: Ready[];
}

export function sign(message: UnsignedMessage): SignedMessage {
  return { ...message, signature: `sig:${message.sender}` } as SignedMessage;
}

export function asInput(message: SignedMessage, valueValid = true): ConsensusInput {
  return message.kind === 'proposal' ? { kind: 'proposal', message, valueValid } : { kind: 'vote', message };
}

export function newNode(): CoreNode {
  return { state: initialState(), sent: [], timers: [], readies: [] };
}

/** Steps one node and carries out persist + ack (instantly); returns the messages it sent in the process. */
export function feed(node: CoreNode, input: ConsensusInput): SignedMessage[] {
  const out: SignedMessage[] = [];
  let next: ConsensusInput | null = input;
  while (next !== null) {
    const result = step(node.state, next);
    node.state = result.state;
    node.readies.push(result.ready);
    node.timers.push(...result.ready.timers);
    const signed = result.ready.messages.map(sign);
    node.sent.push(...signed);
    out.push(...signed);
    next = result.ready.persist === null ? null : { kind: 'persisted', seq: result.ready.persist.seq };
  }
  return out;
}

/** Delivers messages to every node in `to` (self-delivery included) until quiet. */
export function flood(nodes: readonly CoreNode[], initial: SignedMessage[], accept: (to: number, m: SignedMessage) => boolean = () => true): void {
  const queue = [...initial];
  for (let guard = 0; queue.length > 0; guard++) {
    if (guard > 100_000) throw new Error('flood did not settle');
    const message = queue.shift()!;
    nodes.forEach((node, index) => {
      if (!accept(index, message)) return;
      queue.push(...feed(node, asInput(message)));
    });
  }
}
