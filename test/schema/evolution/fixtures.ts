// Schema versions for the evolution tests: the demo network's partner files (schema/demo: acme owns
// Product and PurchaseOrder, globex owns Shipment, initech owns nothing), and edits of them made by exact
// text replacement, so each test states the one change it makes.
import { expect } from 'vitest';
import { composeSchemas, type PartnerSchemaFile } from '../../../schema/compose.ts';
import type { UnifiedSchema } from '../../../schema/policy.ts';
import { loadPartnerSchemaFiles } from '../../../schema/schema-files.ts';

export const demoSchemaDir = 'schema/demo';

export async function demoFiles(): Promise<PartnerSchemaFile[]> {
  return loadPartnerSchemaFiles(demoSchemaDir);
}

/** Replaces `from` with `to` in one partner's file; fails the test if `from` is not there exactly once. */
export function edit(files: readonly PartnerSchemaFile[], partner: string, from: string, to: string): PartnerSchemaFile[] {
  return files.map((file) => {
    if (file.partner !== partner) return file;
    expect(file.source.split(from).length - 1, `"${from}" occurs once in ${file.path}`).toBe(1);
    return { ...file, source: file.source.replace(from, to) };
  });
}

export function compose(files: readonly PartnerSchemaFile[], partners?: readonly string[]): UnifiedSchema {
  return composeSchemas(files, partners === undefined ? {} : { partners });
}

/** The PurchaseOrder field lines, for edits next to them. */
export const quantityLine = '  quantity: Int! @column(name: "quantity", type: "integer")\n';
export const supplierRowGrant = '@grant(partners: ["globex", "initech"], operations: [READ, UPDATE], rows: [{ field: "supplierId", eq: "$partner" }])';
