// The owner must be able to rebuild exactly the payloads it committed (after a crash that lost them):
// the same captured change gives the same transaction and payloads, while the salt stays secret-keyed.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { transactionForChange } from '../../gateway/ledger/change-codec.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { toHex } from '../../ledger/encoding/hex.ts';
import { encodeTransaction } from '../../ledger/transaction.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { findType } from '../../schema/policy.ts';
import { loadPartnerSchemaFiles } from '../../schema/schema-files.ts';

describe('change codec', () => {
  it('rebuilds the same transaction and payloads from the same captured change; another secret or origin gives other salts', async () => {
    const unified = composeSchemas(await loadPartnerSchemaFiles(fileURLToPath(new URL('./network3/', import.meta.url))));
    const type = findType(unified, 'Order')!;
    const row = { id: '7', customer: 'Initech', status: 'shipped', total: '1.00', note: 'n' };
    const change = { table: type.table, op: 'insert' as const, key: { id: '7' }, after: row, before: null };
    const secret = new Uint8Array(32).fill(1);
    const first = transactionForChange(unified, type, change, 'capture:1:5', secret, 0);
    const again = transactionForChange(unified, type, change, 'capture:1:5', secret, 0);
    const id = (tx: typeof first.transaction) => toHex(nodeHasher.merkleLeaf(encodeTransaction(tx)));
    expect(id(again.transaction)).toBe(id(first.transaction));
    expect(again.payloads).toEqual(first.payloads);
    expect(first.payloads.map((p) => p.audience).sort()).toEqual(['bolt', 'cargo']);
    const otherSecret = transactionForChange(unified, type, change, 'capture:1:5', new Uint8Array(32).fill(2), 0);
    const otherOrigin = transactionForChange(unified, type, change, 'capture:1:6', secret, 0);
    expect(toHex(otherSecret.payloads[0]!.salt)).not.toBe(toHex(first.payloads[0]!.salt));
    expect(toHex(otherOrigin.payloads[0]!.salt)).not.toBe(toHex(first.payloads[0]!.salt));
  });
});
