// Goal: the governance decision (acceptance 2 of #11): a breaking change without the required approvals
// is refused with a message naming who must approve; additive changes need only the data owner; the policy
// in the network configuration changes who must approve, with documented defaults.
// Method: the pure decision over diffs of the demo network's files, then the same through
// `entente schema check` run in-process on files and a genesis file written to a temporary folder.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../gateway/cli/main.ts';
import { generateEd25519KeyPair } from '../../../ledger/crypto/ed25519.ts';
import { toHex } from '../../../ledger/encoding/hex.ts';
import { decideSchemaChange, refusalMessage } from '../../../schema/evolution/governance.ts';
import { defaultGovernancePolicy, governancePolicyFromJson } from '../../../schema/evolution/governance-policy.ts';
import type { PartnerSchemaFile } from '../../../schema/compose.ts';
import { compose, demoFiles, edit, quantityLine } from './fixtures.ts';

const base = await demoFiles();
const old = compose(base);
const removeQuantity = compose(edit(base, 'acme', quantityLine, ''));
const unsharedField = compose(edit(base, 'acme', quantityLine, `${quantityLine}  note: String @column(name: "note") @readableBy(partners: [])\n`));
const sharedField = compose(edit(base, 'acme', quantityLine, `${quantityLine}  note: String @column(name: "note")\n`));

describe('governance decision', () => {
  it('refuses a breaking change without the affected partners\' approval, naming them', () => {
    const decision = decideSchemaChange(old, removeQuantity, 'acme', []);
    expect(decision).toMatchObject({ approved: false, required: ['acme', 'globex', 'initech'], missing: ['globex', 'initech'] });
    expect(refusalMessage(decision)).toBe(
      'The schema change is refused. It needs approval from globex, initech.\n' +
      '  - breaking change (PurchaseOrder.quantity): Field \'quantity\' was removed from object type \'PurchaseOrder\'. Needs approval from globex, initech (governance.breaking = "all-affected").',
    );
    expect(decideSchemaChange(old, removeQuantity, 'acme', ['globex'])).toMatchObject({ approved: false, missing: ['initech'] });
    expect(decideSchemaChange(old, removeQuantity, 'acme', ['initech', 'globex', 'globex'])).toMatchObject({ approved: true, missing: [], reasons: [] });
  });

  it('lets the data owner alone make an additive change, and a widening of its own data', () => {
    expect(decideSchemaChange(old, unsharedField, 'acme', [])).toMatchObject({ approved: true, required: ['acme'] });
    expect(decideSchemaChange(old, sharedField, 'acme', [])).toMatchObject({ approved: true, required: ['acme'] });
  });

  it('needs the data owner when another partner proposes sharing more of the owner\'s data', () => {
    const decision = decideSchemaChange(old, sharedField, 'globex', []);
    expect(decision).toMatchObject({ approved: false, missing: ['acme'] });
    expect(decision.reasons.some((reason) => reason.startsWith('widening change (PurchaseOrder.note): New field PurchaseOrder.note is shared with globex, initech'))).toBe(true);
  });

  it('follows the policy of the network configuration', () => {
    const everyone = governancePolicyFromJson({ additive: 'all' }, 'genesis.json');
    expect(everyone).toEqual({ ...defaultGovernancePolicy, additive: 'all' });
    expect(decideSchemaChange(old, unsharedField, 'acme', [], everyone)).toMatchObject({ approved: false, missing: ['globex', 'initech'] });
    const ownerDecidesBreaking = governancePolicyFromJson({ breaking: 'owner' }, 'genesis.json');
    expect(decideSchemaChange(old, removeQuantity, 'acme', [], ownerDecidesBreaking)).toMatchObject({ approved: true });
  });

  it('refuses an empty proposal and a proposer outside the network', () => {
    expect(decideSchemaChange(old, compose(base), 'acme', []).reasons).toEqual(['The proposed schema is the same as the active one: there is nothing to approve.']);
    expect(decideSchemaChange(old, unsharedField, 'mallory', ['acme']).reasons).toEqual(['mallory is not a partner of the network (acme, globex, initech), so it cannot propose a schema change.']);
  });

  it('rejects a policy with an unknown class or rule instead of falling back to a default', () => {
    expect(() => governancePolicyFromJson({ braking: 'owner' }, 'genesis.json')).toThrow('genesis.json: "governance" has unknown key "braking"');
    expect(() => governancePolicyFromJson({ breaking: 'majority' }, 'genesis.json')).toThrow('genesis.json: "governance" .breaking is "majority", not one of the rules');
    expect(governancePolicyFromJson(undefined, 'genesis.json')).toBe(defaultGovernancePolicy);
  });
});

describe('entente schema diff / check', () => {
  let dir = '';
  const output = { stdout: '', stderr: '' };

  async function writeVersion(name: string, files: readonly PartnerSchemaFile[]): Promise<string> {
    const path = join(dir, name);
    await mkdir(path, { recursive: true });
    for (const file of files) await writeFile(join(path, `${file.partner}.graphql`), file.source);
    return path;
  }

  async function entente(...args: string[]): Promise<number> {
    output.stdout = '';
    output.stderr = '';
    return main(args, { stdout: (text) => { output.stdout += text; }, stderr: (text) => { output.stderr += text; } });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'entente-schema-cli-'));
    await writeVersion('v1', base);
    await writeVersion('v2-breaking', edit(base, 'acme', quantityLine, ''));
    await writeVersion('v2-shared', edit(base, 'acme', quantityLine, `${quantityLine}  note: String @column(name: "note")\n`));
    await writeVersion('v2-safe', edit(base, 'acme', quantityLine, `${quantityLine}  note: String @column(name: "note") @readableBy(partners: [])\n`));
    const members = ['acme', 'globex', 'initech'].map((partner) => ({ partner, publicKey: toHex(generateEd25519KeyPair().publicKey) }));
    const genesis = { format: 'entente-genesis/1', network: 'demo', timeMs: 0, schemaVersion: 1, members, ownership: {}, governance: { additive: 'all' } };
    await writeFile(join(dir, 'genesis.json'), JSON.stringify(genesis));
  });
  afterEach(() => {
    // `main` reports exit codes through process.exitCode, which would otherwise become vitest's own.
    process.exitCode = undefined;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 0, 3 or 4 for safe, dangerous and breaking diffs', async () => {
    expect(await entente('schema', 'diff', join(dir, 'v1'), join(dir, 'v1'))).toBe(0);
    expect(output.stdout).toContain('No changes between');
    expect(await entente('schema', 'diff', join(dir, 'v1'), join(dir, 'v2-safe'))).toBe(0);
    expect(await entente('schema', 'diff', join(dir, 'v1'), join(dir, 'v2-shared'))).toBe(3);
    expect(output.stdout).toContain('0 breaking, 1 dangerous, 1 safe\n\nDANGEROUS\n  PurchaseOrder.note  New field PurchaseOrder.note is shared with globex, initech');
    expect(await entente('schema', 'diff', join(dir, 'v1'), join(dir, 'v2-breaking'))).toBe(4);
    expect(output.stdout).toContain("BREAKING\n  PurchaseOrder.quantity  Field 'quantity' was removed from object type 'PurchaseOrder'.\n      owner acme · affects globex, initech · graphql-inspector FIELD_REMOVED\n");
  });

  it('prints the diff as JSON with --json', async () => {
    expect(await entente('schema', 'diff', '--json', join(dir, 'v1'), join(dir, 'v2-breaking'))).toBe(4);
    const diff = JSON.parse(output.stdout) as { level: string; changes: { path: string; affected: string[] }[] };
    expect(diff.level).toBe('breaking');
    expect(diff.changes.map((change) => [change.path, change.affected])).toEqual([['PurchaseOrder.quantity', ['globex', 'initech']]]);
  });

  it('refuses a breaking change without the required approvals, naming who must approve (exit 1)', async () => {
    expect(await entente('schema', 'check', join(dir, 'v1'), join(dir, 'v2-breaking'), '--proposer', 'acme')).toBe(1);
    expect(output.stdout).toBe('Proposed by acme: 1 breaking, 0 dangerous, 0 safe. Required approvals: acme, globex, initech.\nRefused: still needs globex, initech.\n');
    expect(output.stderr).toContain('entente: The schema change is refused. It needs approval from globex, initech.\n');
    expect(await entente('schema', 'check', join(dir, 'v1'), join(dir, 'v2-breaking'), '--proposer', 'acme', '--approved-by', 'globex', '--approved-by', 'initech')).toBe(0);
    expect(output.stdout).toContain('Approved: every required partner has approved.');
  });

  it('reads the partners and the governance policy from the genesis file', async () => {
    expect(await entente('schema', 'check', '--genesis', join(dir, 'genesis.json'), join(dir, 'v1'), join(dir, 'v2-safe'), '--proposer', 'acme', '--json')).toBe(1);
    expect(JSON.parse(output.stdout)).toMatchObject({ approved: false, missing: ['globex', 'initech'], policy: { additive: 'all' } });
    expect(await entente('schema', 'check', '--genesis', join(dir, 'genesis.json'), join(dir, 'v1'), join(dir, 'v2-safe'), '--proposer', 'acme', '--approved-by', 'globex,initech')).toBe(0);
  });

  it('names the path when a version cannot be read (exit 2)', async () => {
    expect(await entente('schema', 'diff', join(dir, 'nope'), join(dir, 'v1'))).toBe(2);
    expect(output.stderr).toMatch(/^entente: Cannot read .*nope: ENOENT\. Pass a partner schema file or the folder of partner files\.\n$/);
  });
});
