// Goal (acceptance 1): `entente introspect` on the PostgreSQL test schema (the connector contract
// fixture) and on the Chinook sample database prints SDL that composes and serves without edits, and
// `entente init` writes the partner's schema file and a valid gateway configuration.
// Method: a fresh PostgreSQL database per describe block, loaded by a plain pg client; the CLI runs
// in-process (main with captured output); the SDL is composed, served with buildExecutableSchema and
// queried, and the answers are compared with SQL over the same data.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import pg from 'pg';
import { graphql, type GraphQLSchema } from 'graphql';
import { openConnector } from '../../connectors/index.ts';
import type { Connector } from '../../connectors/connector.ts';
import { main } from '../../gateway/cli/main.ts';
import { parseGatewayConfig } from '../../gateway/config/gateway-config.ts';
import { buildExecutableSchema } from '../../schema/api/build-schema.ts';
import { directWritePath, emptyLedger, InMemoryChangeFeed } from '../../schema/api/context.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { describeWithPostgres } from '../support/databases.ts';
import { postgresFixtureDdl } from '../connectors/postgres-fixture.ts';

async function entente(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; } });
  return { code, stdout, stderr };
}

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** Chinook without its DROP/CREATE DATABASE and \c lines: everything from "Create Tables" on. */
async function chinookSql(): Promise<string> {
  const text = await readFile(new URL('../../../shared/testdata/chinook/Chinook_PostgreSql_SerialPKs.sql', import.meta.url), 'utf8');
  const start = text.indexOf('Create Tables');
  expect(start).toBeGreaterThan(0);
  return text.slice(text.lastIndexOf('/*', start));
}

async function serve(url: string, sdl: string): Promise<{ schema: GraphQLSchema; connector: Connector; query: (source: string) => Promise<Record<string, unknown>> }> {
  const unified = composeSchemas([{ path: 'schema/shop.graphql', partner: 'shop', source: sdl }]);
  const schema = buildExecutableSchema(unified, { partner: 'shop', viewer: { partner: 'shop', roles: [] } });
  const connector = await openConnector(url);
  const query = async (source: string) => {
    const contextValue = { caller: { partner: 'shop', roles: [] }, connector, writePath: directWritePath(connector, 'shop'), changeFeed: new InMemoryChangeFeed(), ledger: emptyLedger };
    const result = await graphql({ schema, source, contextValue });
    expect(result.errors).toBeUndefined();
    return result.data as Record<string, unknown>;
  };
  return { schema, connector, query };
}

describeWithPostgres('entente introspect: the connector test schema', (db) => {
  it('prints SDL with keys, relations, enums and database names that composes and serves', async () => {
    await sql(db.url, postgresFixtureDdl('public'));
    await sql(db.url, `insert into customers (id, name, tier, balance, created_at) values (1, 'Ada', 'gold', '10.25', '2024-01-01T00:00:00Z'), (2, 'Bob', 'bronze', '0.00', '2024-01-02T00:00:00Z');
      insert into orders (region, order_no, customer_id, status, total, placed_at) values ('EU', 1, 1, 'paid', '5.00', now()), ('EU', 2, 1, 'open', '7.50', now()), ('US', 1, 2, 'open', '1.00', now());`);
    const { code, stdout, stderr } = await entente('introspect', '--db', db.url, '--partner', 'shop');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('type Customer\n  @key(fields: "id")\n  @owner(partner: "shop")\n  @table(name: "customers", schema: "public") {');
    expect(stdout).toContain('  balance: Decimal! @column(name: "balance", type: "money_amount")');
    expect(stdout).toContain('  orders: [Order!]! @relation(fields: ["id"], references: ["customerId"])');
    expect(stdout).toContain('  customer: Customer! @relation(fields: ["customerId"], references: ["id"])');
    expect(stdout).toContain('@key(fields: "region orderNo")');
    expect(stdout).toContain('# warning (NO_PRIMARY_KEY)');
    const { query, connector } = await serve(db.url, stdout);
    try {
      expect(await query('{ customers(orderBy: [{ field: id }]) { totalCount nodes { name tier balance orders(orderBy: [{ field: orderNo }]) { region orderNo total status customer { name } } } } }')).toEqual({
        customers: { totalCount: 2, nodes: [
          { name: 'Ada', tier: 'gold', balance: '10.25', orders: [
            { region: 'EU', orderNo: 1, total: '5.00', status: 'paid', customer: { name: 'Ada' } },
            { region: 'EU', orderNo: 2, total: '7.50', status: 'open', customer: { name: 'Ada' } },
          ] },
          { name: 'Bob', tier: 'bronze', balance: '0.00', orders: [{ region: 'US', orderNo: 1, total: '1.00', status: 'open', customer: { name: 'Bob' } }] },
        ] },
      });
      expect(await query('{ order(region: "EU", orderNo: 2) { total orderLines { sku } } }')).toEqual({ order: { total: '7.50', orderLines: [] } });
    } finally {
      await connector.close();
    }
  });

  it('init writes schema/<partner>.graphql and a gateway configuration the gateway accepts, and never overwrites silently', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'entente-init-'));
    try {
      const first = await entente('init', '--db', db.url, '--partner', 'shop', '--dir', dir);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      const sdl = await readFile(join(dir, 'schema', 'shop.graphql'), 'utf8');
      expect(sdl).toContain('@owner(partner: "shop")');
      const config = JSON.parse(await readFile(join(dir, 'entente.config.json'), 'utf8')) as unknown;
      expect(parseGatewayConfig(config, dir).partner).toBe('shop');
      const again = await entente('init', '--db', db.url, '--partner', 'shop', '--dir', dir);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('shop.graphql already exists; pass --force to overwrite it');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describeWithPostgres('entente introspect: Chinook', (db) => {
  it('prints SDL for Chinook that composes and serves nested relations in bounded round trips', async () => {
    await sql(db.url, await chinookSql());
    const { code, stdout } = await entente('introspect', '--db', db.url, '--partner', 'shop');
    expect(code).toBe(0);
    for (const type of ['Album', 'Artist', 'Customer', 'Employee', 'Genre', 'Invoice', 'InvoiceLine', 'MediaType', 'Playlist', 'PlaylistTrack', 'Track']) {
      expect(stdout).toMatch(new RegExp(`^type ${type}\\n`, 'm'));
    }
    expect(stdout).toContain('  reportsToEmployee: Employee @relation(fields: ["reportsTo"], references: ["employeeId"])');
    expect(stdout).toContain('  employeesByReportsTo: [Employee!]! @relation(fields: ["employeeId"], references: ["reportsTo"])');
    expect(stdout).toContain('@key(fields: "playlistId trackId")');
    const { query, connector } = await serve(db.url, stdout);
    try {
      const source = '{ artists(first: 20, orderBy: [{ field: artistId }]) { totalCount nodes { name albums(first: 100) { title tracks(first: 1000) { name unitPrice genre { name } mediaType { name } } } } } }';
      await query(source); // the connector reads its table metadata on first use
      const before = connector.statementCount();
      const result = await query(source);
      const statements = connector.statementCount() - before;
      // artists and their count (the connector counts in a second statement), albums, tracks, genres by
      // key, media types by key: one per level, however many parents each level has.
      expect(statements).toBeLessThanOrEqual(6);
      const artists = (result['artists'] as { totalCount: number; nodes: { albums: { tracks: { unitPrice: string }[] }[] }[] });
      const expected = await sql(db.url, 'select count(*)::int as artists from artist');
      expect(artists.totalCount).toBe(expected.rows[0].artists);
      const trackCount = artists.nodes.flatMap((artist) => artist.albums.flatMap((album) => album.tracks)).length;
      const expectedTracks = await sql(db.url, 'select count(*)::int as n from track t join album a using (album_id) where a.artist_id in (select artist_id from artist order by artist_id limit 20)');
      expect(trackCount).toBe(expectedTracks.rows[0].n);
      expect(artists.nodes[0]!.albums[0]!.tracks[0]!.unitPrice).toMatch(/^\d+\.\d{2}$/);
    } finally {
      await connector.close();
    }
  });
});
