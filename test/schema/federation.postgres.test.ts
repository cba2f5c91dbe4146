// Goal (acceptance 4): acme's gateway serves its own types as a valid Apollo Federation 2 subgraph —
// `_service { sdl }` with @link and @key, `_entities` resolving references in batches (one database
// round trip for many references) and under the same access control — and that SDL composes with
// another team's subgraph (and with a second Entente gateway's) in @theguild/federation-composition.
// Method: acme's tables in a fresh PostgreSQL database; subgraphs built from the demo network.
import { beforeAll, afterAll, expect, it } from 'vitest';
import pg from 'pg';
import { graphql, parse } from 'graphql';
import { composeServices } from '@theguild/federation-composition';
import { openConnector } from '../../connectors/index.ts';
import type { Connector } from '../../connectors/connector.ts';
import { directWritePath, emptyLedger, InMemoryChangeFeed } from '../../schema/api/context.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { buildSubgraph } from '../../schema/federation.ts';
import type { Caller, UnifiedSchema } from '../../schema/policy.ts';
import { loadPartnerSchemaFiles } from '../../schema/schema-files.ts';
import { describeWithPostgres } from '../support/databases.ts';
import { acmeDdl } from './executable-suite.ts';

const reviewsSubgraph = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Product @key(fields: "sku") {
  sku: String!
  reviews: [Review!]!
}
type Review {
  stars: Int!
  text: String!
}
type Query {
  topReviews: [Review!]!
}
`;

describeWithPostgres('federation subgraph', (db) => {
  let unified: UnifiedSchema;
  let connector: Connector;

  beforeAll(async () => {
    unified = composeSchemas(await loadPartnerSchemaFiles('schema/demo'));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(acmeDdl);
    await client.query(`insert into products values ('P1', 'Bolt', '0.10'), ('P2', 'Nut', '0.05'), ('P3', 'Gear', '12.00');
      insert into purchase_orders (supplier_id, sku, quantity, status) values ('globex', 'P1', 10, 'placed'), ('initech', 'P2', 20, 'placed');`);
    await client.end();
    connector = await openConnector(db.url);
  });

  afterAll(async () => {
    await connector?.close();
  });

  const run = (caller: Caller, source: string, variableValues?: Record<string, unknown>) => {
    const { schema } = buildSubgraph(unified, { partner: 'acme', viewer: caller });
    const contextValue = { caller, connector, writePath: directWritePath(connector, 'acme'), changeFeed: new InMemoryChangeFeed(), ledger: emptyLedger };
    return graphql({ schema, source, contextValue, ...(variableValues === undefined ? {} : { variableValues }) });
  };

  it('serves _service { sdl } with @link and @key on every own entity, and no other partner\'s type', async () => {
    const result = await run({ partner: 'acme', roles: ['buyer'] }, '{ _service { sdl } }');
    expect(result.errors).toBeUndefined();
    const sdl = (result.data as { _service: { sdl: string } })._service.sdl;
    expect(sdl).toMatch(/extend schema\s+@link\(url: "https:\/\/specs.apollo.dev\/federation\/v2.3", import: \["@key", "@shareable"\]\)/);
    expect(sdl).toMatch(/type Product\s+@key\(fields: "sku"\)/);
    expect(sdl).toMatch(/type PurchaseOrder\s+@key\(fields: "id"\)/);
    expect(sdl).toMatch(/type PageInfo\s+@shareable/);
    expect(sdl).not.toContain('Shipment');
    expect(sdl).not.toContain('@table');
  });

  it('resolves _entities in one batch, in order, with nulls for absent keys', async () => {
    const source = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { sku name unitPrice } ... on PurchaseOrder { id quantity } } }';
    await run({ partner: 'acme', roles: ['buyer'] }, source, { r: [{ __typename: 'Product', sku: 'P1' }, { __typename: 'PurchaseOrder', id: '1' }] }); // the connector reads table metadata on first use
    const before = connector.statementCount();
    const result = await run({ partner: 'acme', roles: ['buyer'] }, source, {
      r: [{ __typename: 'Product', sku: 'P3' }, { __typename: 'Product', sku: 'P1' }, { __typename: 'Product', sku: 'nope' }, { __typename: 'Product', sku: 'P2' }, { __typename: 'PurchaseOrder', id: '1' }],
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ _entities: [
      { sku: 'P3', name: 'Gear', unitPrice: '12.00' }, { sku: 'P1', name: 'Bolt', unitPrice: '0.10' }, null, { sku: 'P2', name: 'Nut', unitPrice: '0.05' }, { id: '1', quantity: 10 },
    ] });
    // One statement for the four products, one for the order.
    expect(connector.statementCount() - before).toBe(2);
  });

  it('applies access control to _entities: row rules and hidden fields', async () => {
    const rows = await run({ partner: 'globex', roles: [] }, 'query($r: [_Any!]!) { _entities(representations: $r) { ... on PurchaseOrder { id supplierId } } }', {
      r: [{ __typename: 'PurchaseOrder', id: '1' }, { __typename: 'PurchaseOrder', id: '2' }],
    });
    expect(rows.data).toEqual({ _entities: [{ id: '1', supplierId: 'globex' }, null] });
    const hidden = await run({ partner: 'initech', roles: [] }, '{ _entities(representations: [{ __typename: "Product", sku: "P1" }]) { ... on Product { unitPrice } } }');
    expect(hidden.errors?.[0]?.message).toBe('Cannot query field "unitPrice" on type "Product".');
  });

  it('composes with another team\'s subgraph and with a second Entente gateway\'s', () => {
    const acme = buildSubgraph(unified, { partner: 'acme' });
    const globex = buildSubgraph(unified, { partner: 'globex' });
    const result = composeServices([
      { name: 'acme', typeDefs: parse(acme.sdl), url: 'http://acme.example/graphql' },
      { name: 'globex', typeDefs: parse(globex.sdl), url: 'http://globex.example/graphql' },
      { name: 'reviews', typeDefs: parse(reviewsSubgraph), url: 'http://reviews.example/graphql' },
    ]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.supergraphSdl).toContain('@join__type(graph: ACME, key: "sku")');
    expect(result.supergraphSdl).toContain('@join__type(graph: REVIEWS, key: "sku")');
    expect(result.publicSdl).toMatch(/type Product \{[^}]*reviews: \[Review!\]!/s);
    expect(result.publicSdl).toContain('shipments(');
  });
});
