// Goal (issue #9, acceptance 4 as far as the schema layer has landed): `entente introspect` on the
// Chinook sample database for MySQL prints SDL that composes and serves nested relations through the
// MySQL connector in a bounded number of statements, with answers equal to SQL over the same data.
// Method: the Chinook MySQL script (its DROP/CREATE DATABASE and USE lines cut off) loaded with plain
// mysql2 into this file's fresh MariaDB database; the CLI runs in-process; the SDL is composed, served
// with buildExecutableSchema over openConnector('mysql://…') and queried; then `entente install-capture
// --all` captures an outside change and `entente uninstall-capture` removes it all.
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { graphql } from 'graphql';
import { openConnector } from '../../connectors/index.ts';
import { main } from '../../gateway/cli/main.ts';
import { buildExecutableSchema } from '../../schema/api/build-schema.ts';
import { directWritePath, emptyLedger, InMemoryChangeFeed } from '../../schema/api/context.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { describeWithMariadb } from '../support/databases.ts';

async function chinookMysql(): Promise<string> {
  const text = await readFile(new URL('../../../shared/testdata/chinook/Chinook_MySql_AutoIncrementPKs.sql', import.meta.url), 'utf8');
  const start = text.indexOf('Create Tables');
  expect(start).toBeGreaterThan(0);
  return text.slice(text.lastIndexOf('/*', start));
}

describeWithMariadb('entente introspect: Chinook on MariaDB', (db) => {
  it('prints SDL that composes and serves nested relations in bounded round trips', { timeout: 120_000 }, async () => {
    const loader = await mysql.createConnection({ ...db.settings, database: db.name, multipleStatements: true, charset: 'UTF8MB4_BIN' });
    try {
      await loader.query(await chinookMysql());
    } finally {
      await loader.end();
    }
    let stdout = '';
    let stderr = '';
    const code = await main(['introspect', '--db', db.url, '--partner', 'music'], { stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; } });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const type of ['Album', 'Artist', 'Customer', 'Employee', 'Genre', 'Invoice', 'InvoiceLine', 'MediaType', 'Playlist', 'PlaylistTrack', 'Track']) {
      expect(stdout).toMatch(new RegExp(`^type ${type}\\n`, 'm'));
    }
    expect(stdout).toContain('@key(fields: "playlistId trackId")');
    expect(stdout).toContain('  unitPrice: Decimal! @column(name: "UnitPrice", type: "decimal(10,2)")');

    const unified = composeSchemas([{ path: 'schema/music.graphql', partner: 'music', source: stdout }]);
    const schema = buildExecutableSchema(unified, { partner: 'music', viewer: { partner: 'music', roles: [] } });
    const connector = await openConnector(db.url);
    try {
      const run = async (source: string) => {
        const contextValue = { caller: { partner: 'music', roles: [] }, connector, writePath: directWritePath(connector, 'music'), changeFeed: new InMemoryChangeFeed(), ledger: emptyLedger };
        const result = await graphql({ schema, source, contextValue });
        expect(result.errors).toBeUndefined();
        return result.data as Record<string, unknown>;
      };
      const source = '{ artists(first: 20, orderBy: [{ field: artistId }]) { totalCount nodes { name albums(first: 100) { title tracks(first: 1000) { name unitPrice genre { name } mediaType { name } } } } } }';
      await run(source); // the connector reads its table metadata on first use
      const before = connector.statementCount();
      const result = await run(source);
      const statements = connector.statementCount() - before;
      expect(statements).toBeLessThanOrEqual(6);
      const artists = result['artists'] as { totalCount: number; nodes: { name: string; albums: { title: string; tracks: { name: string; unitPrice: string }[] }[] }[] };
      const check = await mysql.createConnection({ ...db.settings, database: db.name });
      try {
        const [[counts]] = (await check.query('SELECT (SELECT COUNT(*) FROM Artist) AS artists, (SELECT COUNT(*) FROM Track t JOIN Album a ON a.AlbumId = t.AlbumId WHERE a.ArtistId IN (SELECT ArtistId FROM (SELECT ArtistId FROM Artist ORDER BY ArtistId LIMIT 20) AS firstArtists)) AS tracks')) as unknown as [{ artists: number; tracks: number }[]];
        expect(artists.totalCount).toBe(Number(counts?.artists));
        expect(artists.nodes.flatMap((artist) => artist.albums.flatMap((album) => album.tracks))).toHaveLength(Number(counts?.tracks));
      } finally {
        await check.end();
      }
      expect(artists.nodes[0]?.name).toBe('AC/DC');
      expect(artists.nodes[0]?.albums[0]?.tracks[0]?.unitPrice).toMatch(/^\d+\.\d{2}$/);
      // Non-ASCII text survives end to end (utf8mb4).
      const customers = await run('{ customers(first: 100, where: { country: { eq: "Brazil" } }, orderBy: [{ field: customerId }]) { nodes { firstName lastName city } } }');
      expect((customers['customers'] as { nodes: { firstName: string }[] }).nodes.map((customer) => customer.firstName)).toContain('Luís');
    } finally {
      await connector.close();
    }

    // The capture CLI on the same database: install on every table, see an outside change, uninstall.
    const cli = async (...args: string[]) => {
      let out = '';
      const status = await main(args, { stdout: (text) => { out += text; }, stderr: (text) => { out += text; } });
      return { status, out };
    };
    const installed = await cli('install-capture', '--db', db.url, '--all');
    expect(installed.status).toBe(0);
    expect(installed.out).toContain('installed on 11 table(s)');
    const writer = await mysql.createConnection({ ...db.settings, database: db.name });
    try {
      await writer.query("UPDATE Artist SET Name = 'AC/DC ⚡' WHERE ArtistId = 1");
    } finally {
      await writer.end();
    }
    const reader = await openConnector(db.url);
    try {
      const [transaction] = await reader.capture.read(null, { transactionsMax: 10, changesMax: 100 });
      expect(transaction?.changes.map((change) => [change.table.name, change.op, change.before?.['Name'], change.after?.['Name']])).toEqual([['Artist', 'update', 'AC/DC', 'AC/DC ⚡']]);
    } finally {
      await reader.close();
    }
    const removed = await cli('uninstall-capture', '--db', db.url);
    expect(removed.status).toBe(0);
    expect(removed.out).toContain('capture removed from 11 table(s)');
  });
});
