// Goal: acceptance 3 of the MongoDB connector — the SDL a MongoDB partner gets from its inferred model
// composes with another partner's SDL into the unified schema, with the MongoDB types (ObjectId keys,
// Decimal128, Int64, nested documents, arrays, mixed fields) carried faithfully.
// Method: sample documents generated here with real bson classes (through BSON bytes), inferred into a
// DatabaseModel by the pure inference, printed by the schema layer's sdlFromDatabase, granted to the
// network as a partner would annotate it, and composed with the demo partner acme's SDL file.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BSON, Decimal128, Int32, Long, ObjectId } from 'mongodb';
import { introspectionVersion, type DatabaseModel } from '../../connectors/connector.ts';
import { inferCollection } from '../../connectors/mongodb/mongodb-inference.ts';
import { exactReadOptions, type BsonDocument } from '../../connectors/mongodb/mongodb-values.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { findType } from '../../schema/policy.ts';
import { sdlFromDatabase } from '../../schema/sdl-from-database.ts';

function shipments(count: number): BsonDocument[] {
  return Array.from({ length: count }, (_, index) =>
    BSON.deserialize(
      BSON.serialize({
        _id: new ObjectId(index.toString(16).padStart(24, 'a')),
        sku: `SKU-${index % 7}`,
        weightKg: Decimal128.fromString(`${index}.250`),
        trackingNo: Long.fromString(`${9_007_199_254_740_993n + BigInt(index)}`),
        parcels: new Int32(1 + (index % 3)),
        destination: { city: index % 2 === 0 ? 'Lyon' : 'Porto', country: 'EU' },
        events: [{ at: new Date(1_700_000_000_000 + index), kind: 'scanned' }],
        legacyRef: index % 2 === 0 ? `R${index}` : new Int32(index),
        ...(index % 3 === 0 ? {} : { note: 'fragile' }),
      }),
      exactReadOptions,
    ),
  );
}

function mongoModel(): DatabaseModel {
  const inferred = inferCollection({ database: 'logistics', name: 'shipments', kind: 'collection', documents: shipments(60), documentCount: 60, validator: null, uniqueIndexes: [], keyFields: null });
  return {
    introspectionVersion,
    family: 'mongodb',
    serverVersion: '7.0.0',
    database: 'logistics',
    user: 'umbrella',
    tables: [inferred.table],
    enums: [...inferred.enums],
    warnings: [...inferred.warnings],
  };
}

describe('SDL inferred from MongoDB documents', () => {
  it('composes with another partner’s SDL into one unified schema', async () => {
    const generated = sdlFromDatabase(mongoModel(), { partner: 'umbrella' });
    // The partner shares the type with everyone, as it would by annotating the generated file.
    const granted = generated.replace('@table(name: "shipments"', '@grant(partners: ["*"], operations: [READ])\n  @table(name: "shipments"');
    expect(granted).not.toBe(generated);
    expect(generated).toContain('MIXED_TYPES');
    const acme = await readFile(new URL('../../schema/demo/acme.graphql', import.meta.url), 'utf8');
    const unified = composeSchemas(
      [
        { path: 'schema/demo/acme.graphql', partner: 'acme', source: acme },
        { path: 'umbrella/shipments.graphql', partner: 'umbrella', source: granted },
      ],
      // acme's file grants to the demo's other partners, so the network lists them.
      { partners: ['acme', 'globex', 'initech', 'umbrella'] },
    );
    expect(unified.partners).toEqual(['acme', 'globex', 'initech', 'umbrella']);
    expect(findType(unified, 'Product')?.owner).toBe('acme');
    const shipment = unified.types.find((type) => type.table.name === 'shipments');
    expect(shipment).toMatchObject({ owner: 'umbrella', table: { schema: 'logistics', name: 'shipments' }, writable: true });
    expect(shipment?.keys[0]).toHaveLength(1);
    const fieldTypes = Object.fromEntries((shipment?.fields ?? []).flatMap((field) => ('column' in field ? [[field.column, JSON.stringify(field.type)]] : [])));
    expect(fieldTypes['_id']).toContain('ObjectId');
    expect(fieldTypes['weightKg']).toContain('Decimal');
    expect(fieldTypes['trackingNo']).toContain('BigInt');
    expect(fieldTypes['parcels']).toContain('Int');
    expect(fieldTypes['legacyRef']).toContain('JSON');
    expect(fieldTypes['destination']).toContain('JSON');
    expect(unified.scalars).toEqual(expect.arrayContaining(['ObjectId', 'Decimal', 'BigInt', 'JSON']));
  });
});
