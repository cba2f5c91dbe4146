// The introspection drift suite, run on PGlite and PostgreSQL: a column a legacy application adds to a
// partner's own table is noticed and drafted into the partner's schema file as a field that is not shared,
// so the draft is a safe change the owner may make alone; a dropped column and an unmapped table are
// reported, not applied.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connector } from '../../../connectors/connector.ts';
import { composeSchemas, type PartnerSchemaFile } from '../../../schema/compose.ts';
import { decideSchemaChange } from '../../../schema/evolution/governance.ts';
import { draftMarker, draftSchemaChange } from '../../../schema/evolution/introspection-drift.ts';
import { diffSchemas } from '../../../schema/evolution/schema-diff.ts';
import { sdlFromDatabase } from '../../../schema/sdl-from-database.ts';

export interface DriftDatabase {
  readonly connector: Connector;
  readonly exec: (sql: string) => Promise<void>;
  readonly close: () => Promise<void>;
}

const partners = ['acme', 'globex'];

export function runIntrospectionDriftSuite(open: () => Promise<DriftDatabase>): void {
  let database: DriftDatabase;
  beforeAll(async () => {
    database = await open();
    await database.exec('create schema drift; create table drift.orders (id bigint primary key, sku text not null, quantity integer not null)');
  });
  afterAll(async () => {
    await database.close();
  });

  const introspect = () => database.connector.introspect({ schemas: ['drift'] });

  it('drafts a column added to the partner\'s own table as a field nobody else sees, a change the owner makes alone', async () => {
    // Version 1: the introspected file, with the type shared with globex.
    const generated = sdlFromDatabase(await introspect(), { partner: 'acme' });
    const shared = generated.replace('@table(name: "orders", schema: "drift")', '@table(name: "orders", schema: "drift")\n  @grant(partners: ["globex"], operations: [READ])');
    expect(shared).not.toBe(generated);
    const file: PartnerSchemaFile = { path: 'acme.graphql', partner: 'acme', source: shared };
    const v1 = composeSchemas([file], { partners });

    await database.exec('alter table drift.orders add column promised_on date, add column priority integer not null default 0');
    const draft = draftSchemaChange(await introspect(), file, v1);
    expect(draft).toMatchObject({
      changed: true, missingColumns: [], untrackedTables: [],
      addedFields: [{ type: 'Order', field: 'promisedOn', column: 'promised_on' }, { type: 'Order', field: 'priority', column: 'priority' }],
    });
    expect(draft.source).toContain(`  ${draftMarker}\n  promisedOn: Date @column(name: "promised_on", type: "date") @readableBy(partners: [])\n  priority: Int! @column(name: "priority", type: "integer", hasDefault: true) @readableBy(partners: [])\n}`);

    const v2 = composeSchemas([{ ...file, source: draft.source }], { partners });
    const diff = diffSchemas(v1, v2);
    expect(diff.changes.map((change) => `${change.level} ${change.path} affected=${change.affected.join(',')}`)).toEqual(['safe Order.priority affected=', 'safe Order.promisedOn affected=']);
    expect(decideSchemaChange(v1, v2, 'acme', [])).toMatchObject({ approved: true, required: ['acme'] });
    // Nothing new drifts once the draft is the file.
    expect(draftSchemaChange(await introspect(), { ...file, source: draft.source }, v2)).toMatchObject({ changed: false, source: draft.source });
  });

  it('reports a dropped column and an unmapped table instead of changing the file', async () => {
    const file: PartnerSchemaFile = { path: 'acme.graphql', partner: 'acme', source: sdlFromDatabase(await introspect(), { partner: 'acme' }) };
    const v1 = composeSchemas([file], { partners });
    await database.exec('alter table drift.orders drop column promised_on; create table drift.returns (id bigint primary key)');
    const draft = draftSchemaChange(await introspect(), file, v1);
    expect(draft).toMatchObject({ changed: false, source: file.source, addedFields: [] });
    expect(draft.missingColumns).toEqual([{ type: 'Order', field: 'promisedOn', column: 'promised_on' }]);
    expect(draft.untrackedTables).toEqual([{ schema: 'drift', name: 'returns' }]);
  });
}
