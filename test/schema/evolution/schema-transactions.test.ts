// Goal: the schema-change ledger transactions (proposal, approval, activation) encode canonically and
// decode only what they encoded; their keys tell validity which one raises the schema version; and the
// state machine over them activates a version only with the approvals the governance policy requires,
// reaching the same state whenever the same transactions are replayed.
// Method: encode/decode round trips and tampered bytes; the demo network's files as version 1 and
// edits of them as proposals, folded through applySchemaTransaction.
import * as v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { nodeHasher } from '../../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../../ledger/encoding/hex.ts';
import { decodeTransaction, encodeTransaction, payloadCommitment } from '../../../ledger/transaction.ts';
import { defaultGovernancePolicy } from '../../../schema/evolution/governance-policy.ts';
import { applySchemaTransaction, initialSchemaLedgerState, restoreSchemaLedgerState, storedSchemaLedgerState, type SchemaLedgerState } from '../../../schema/evolution/schema-ledger-state.ts';
import {
  decodeSchemaActivation, decodeSchemaApproval, decodeSchemaProposal, encodeSchemaActivation, encodeSchemaApproval, encodeSchemaProposal,
  parseSchemaTransactionKey, raisesSchemaVersion, readSchemaLedgerTransaction, schemaContentHash, schemaLedgerTransaction, schemaProposalHash,
  type SchemaLedgerBody, type SchemaProposal,
} from '../../../schema/evolution/schema-transactions.ts';
import { demoFiles, edit, quantityLine } from './fixtures.ts';

const hasher = nodeHasher;
const base = (await demoFiles()).map(({ partner, source }) => ({ partner, source }));
const partners = ['acme', 'globex', 'initech'];
const v1Hash = schemaContentHash(hasher, base);
const breaking: SchemaProposal = { version: 2, previousHash: v1Hash, files: edit(base.map((file) => ({ ...file, path: file.partner })), 'acme', quantityLine, '').map(({ partner, source }) => ({ partner, source })) };

describe('schema transaction payloads', () => {
  it('round-trip, with files in canonical (partner) order whatever order they were given in', () => {
    const shuffled = { ...breaking, files: [...breaking.files].reverse() };
    const bytes = encodeSchemaProposal(shuffled);
    expect(bytes).toEqual(encodeSchemaProposal(breaking));
    expect(decodeSchemaProposal(bytes)).toEqual(breaking);
    expect(schemaProposalHash(hasher, shuffled)).toEqual(schemaProposalHash(hasher, breaking));
    const approval = { proposalHash: schemaProposalHash(hasher, breaking), approver: 'globex' };
    expect(decodeSchemaApproval(encodeSchemaApproval(approval))).toEqual(approval);
    const activation = { version: 2, proposalHash: approval.proposalHash };
    expect(decodeSchemaActivation(encodeSchemaActivation(activation))).toEqual(activation);
  });

  it('refuse trailing bytes, another structure\'s prefix and unsorted files', () => {
    const approval = encodeSchemaApproval({ proposalHash: new Uint8Array(32), approver: 'globex' });
    expect(() => decodeSchemaApproval(Uint8Array.from([...approval, 0]))).toThrow('1 unexpected trailing bytes');
    expect(() => decodeSchemaActivation(approval)).toThrow('not a entente/schema-activation v1 structure');
    const bytes = encodeSchemaProposal({ version: 2, previousHash: v1Hash, files: [{ partner: 'a', source: 'x' }, { partner: 'b', source: 'y' }] });
    // The encoding ends with partner "b" (u16 1, 'b') and its source (u32 1, 'y'). Renaming "b" to "a" repeats
    // a partner, which no canonical encoding does.
    const swapped = bytes.slice();
    expect(swapped[swapped.length - 6]).toBe('b'.charCodeAt(0));
    swapped[swapped.length - 6] = 'a'.charCodeAt(0);
    expect(() => decodeSchemaProposal(swapped)).toThrow('files are not sorted by partner or repeat one');
  });

  it('travel in schema-change transactions on $schema whose key says what they are; only the activation raises the version', () => {
    const bodies: SchemaLedgerBody[] = [
      { kind: 'proposal', proposal: breaking },
      { kind: 'approval', approval: { proposalHash: schemaProposalHash(hasher, breaking), approver: 'globex' } },
      { kind: 'activation', activation: { version: 2, proposalHash: schemaProposalHash(hasher, breaking) } },
    ];
    const publishers = ['acme', 'globex', 'acme'];
    const keys = bodies.map((body, index) => {
      const { transaction, payload } = schemaLedgerTransaction(hasher, body, publishers[index]!, 'cli');
      const encoded = encodeTransaction(transaction);
      expect(encodeTransaction(decodeTransaction(encoded))).toEqual(encoded);
      expect(transaction.commitments[0]!.commitment).toEqual(payloadCommitment(hasher, payload.salt, payload.data));
      expect(readSchemaLedgerTransaction(transaction, [payload])).toEqual(body);
      return [transaction.key, raisesSchemaVersion(transaction)];
    });
    const hex = toHex(schemaProposalHash(hasher, breaking));
    expect(keys).toEqual([['proposal/v2', false], [`approval/${hex}`, false], ['activation/v2', true]]);
    expect(parseSchemaTransactionKey('activation/v02')).toBeNull();
    expect(() => schemaLedgerTransaction(hasher, bodies[1]!, 'acme', 'cli')).toThrow("an approval by globex must be published by globex's gateway, not acme's");
    const { transaction, payload } = schemaLedgerTransaction(hasher, bodies[1]!, 'globex', 'cli');
    expect(() => readSchemaLedgerTransaction({ ...transaction, owner: 'acme' }, [payload])).toThrow('the approval names globex, but acme published it');
  });
});

describe('schema ledger state', () => {
  const initial = () => initialSchemaLedgerState(hasher, { version: 1, files: base, partners, policy: defaultGovernancePolicy });
  const hash = schemaProposalHash(hasher, breaking);
  const steps: [SchemaLedgerBody, string][] = [
    [{ kind: 'proposal', proposal: breaking }, 'acme'],
    [{ kind: 'activation', activation: { version: 2, proposalHash: hash } }, 'acme'],
    [{ kind: 'approval', approval: { proposalHash: hash, approver: 'globex' } }, 'globex'],
    [{ kind: 'approval', approval: { proposalHash: hash, approver: 'initech' } }, 'initech'],
    [{ kind: 'activation', activation: { version: 2, proposalHash: hash } }, 'acme'],
  ];

  function replay(): { state: SchemaLedgerState; outcomes: string[] } {
    let state = initial();
    const outcomes = steps.map(([body, publisher]) => {
      const step = applySchemaTransaction(hasher, state, body, publisher);
      if (!step.ok) return `refused: ${step.reason.split('\n')[0]!}`;
      state = step.state;
      return step.activated ? `activated v${state.version}` : `${body.kind} recorded`;
    });
    return { state, outcomes };
  }

  it('activates a breaking change only once every affected partner approved', () => {
    const { state, outcomes } = replay();
    expect(outcomes).toEqual([
      'proposal recorded',
      'refused: The schema change is refused. It needs approval from globex, initech.',
      'approval recorded',
      'approval recorded',
      'activated v2',
    ]);
    expect(state.version).toBe(2);
    expect(state.unified.types.find((type) => type.name === 'PurchaseOrder')!.fields.map((field) => field.name)).not.toContain('quantity');
    expect(state.contentHash).toEqual(schemaContentHash(hasher, breaking.files));
    expect(state.pending.size).toBe(0);
  });

  it('reaches the same version and content hash when the same transactions are replayed', () => {
    const first = replay().state;
    const second = replay().state;
    expect([second.version, toHex(second.contentHash)]).toEqual([first.version, toHex(first.contentHash)]);
  });

  it('goes through a chain checkpoint (node:v8 structured clone) and carries on as before', () => {
    // After the proposal and one approval (pending), and after the activation.
    for (const upTo of [3, 5]) {
      let state = initial();
      for (const [body, publisher] of steps.slice(0, upTo)) {
        const step = applySchemaTransaction(hasher, state, body, publisher);
        if (step.ok) state = step.state;
      }
      const restored = restoreSchemaLedgerState(v8.deserialize(v8.serialize(storedSchemaLedgerState(state))));
      const { unified: _a, ...plain } = state;
      const { unified: _b, ...plainRestored } = restored;
      expect(plainRestored).toEqual(plain);
      expect(restored.unified.types.map((type) => [type.name, type.fields.map((field) => field.name)])).toEqual(state.unified.types.map((type) => [type.name, type.fields.map((field) => field.name)]));
      // The rest of the steps lead to the same place from either.
      const go = (from: SchemaLedgerState) => steps.slice(upTo).reduce((current, [body, publisher]) => {
        const step = applySchemaTransaction(hasher, current, body, publisher);
        return step.ok ? step.state : current;
      }, from);
      expect([go(restored).version, toHex(go(restored).contentHash), go(restored).pending.size]).toEqual([go(state).version, toHex(go(state).contentHash), go(state).pending.size]);
    }
    expect(() => restoreSchemaLedgerState({} as never)).toThrow('a stored schema state lacks its files');
  });

  it('refuses a proposal made against other files or for the wrong version', () => {
    const state = initial();
    const stale = applySchemaTransaction(hasher, state, { kind: 'proposal', proposal: { ...breaking, previousHash: new Uint8Array(32) } }, 'acme');
    expect(stale).toMatchObject({ ok: false });
    expect(!stale.ok && stale.reason).toContain('the proposal was made against other files than the active version 1');
    const skipping = applySchemaTransaction(hasher, state, { kind: 'proposal', proposal: { ...breaking, version: 3 } }, 'acme');
    expect(!skipping.ok && skipping.reason).toBe('a proposal must name version 2 (the active version is 1), not 3');
  });
});
