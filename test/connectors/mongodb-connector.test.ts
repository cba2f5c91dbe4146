// Goal: the parts of the MongoDB connector that need no server behave as documented — the capability
// flags follow the server topology and version, a standalone server gets a clear DB_UNSUPPORTED error
// naming how to start a replica set for every capture call, an unreachable server is DB_UNREACHABLE
// (through openConnector's scheme registry too), and replica DateTimes keep their microseconds.
// Method: the real driver with a real MongoClient that never connects (capture refuses before any I/O
// on a standalone topology), and a connection attempt to a closed local port with a short timeout.
// There is no MongoDB server here; the server-backed behaviour is covered by contract.mongodb.test.ts
// when MONGO_URL is set.
import { describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { isEntenteError } from '../../common/errors.ts';
import { openConnector } from '../../connectors/index.ts';
import { MongoConnector, openMongoConnector } from '../../connectors/mongodb/mongodb-connector.ts';
import type { ServerFacts } from '../../connectors/mongodb/mongodb-context.ts';
import { normalizeDateTimeText } from '../../connectors/mongodb/mongodb-replica.ts';

function unconnected(server: ServerFacts): MongoConnector {
  const client = new MongoClient('mongodb://127.0.0.1:9/entente_unit', { serverSelectionTimeoutMS: 100 });
  return new MongoConnector({ client, db: client.db('entente_unit'), server, counted: () => undefined }, {});
}

const standalone: ServerFacts = { version: '7.0.2', versionParts: [7, 0], topology: 'standalone', user: '' };
const replicaSet: ServerFacts = { ...standalone, topology: 'replica-set' };

describe('MongoDB connector without a server', () => {
  it('derives capabilities from the topology: no transactions or change streams on a standalone server', async () => {
    const single = unconnected(standalone);
    expect(single.capabilities).toMatchObject({ multiStatementTransactions: false, changeNotifications: false, captureMethods: [], returning: true, ilike: true, arrays: true, transactionalDdl: false });
    const set = unconnected(replicaSet);
    expect(set.capabilities).toMatchObject({ multiStatementTransactions: true, changeNotifications: true, captureMethods: ['change-stream'] });
    const oldSharded = unconnected({ ...standalone, version: '4.0.9', versionParts: [4, 0], topology: 'sharded' });
    expect(oldSharded.capabilities.multiStatementTransactions).toBe(false);
    await Promise.all([single.close(), set.close(), oldSharded.close()]);
  });

  it('refuses every capture call on a standalone server with the steps to start a replica set', async () => {
    const connector = unconnected(standalone);
    const calls: (() => Promise<unknown>)[] = [
      () => connector.capture.install([{ schema: 'entente_unit', name: 'orders' }]),
      () => connector.capture.read(null, { transactionsMax: 10, changesMax: 10 }),
      () => connector.capture.waitForChanges(10),
      () => connector.capture.acknowledge('00'),
      () => connector.capture.acknowledgedPosition(),
      () => connector.capture.installedTables(),
      () => connector.capture.uninstall(),
    ];
    for (const call of calls) {
      const error = await call().catch((caught: unknown) => caught);
      expect(isEntenteError(error, 'DB_UNSUPPORTED')).toBe(true);
      expect((error as Error).message).toMatch(/replica set/);
      expect((error as Error).message).toMatch(/--replSet/);
      expect((error as Error).message).toMatch(/rs\.initiate\(\)/);
    }
    expect(connector.statementCount()).toBe(0);
    await connector.close();
  });

  it('reports an unreachable server as DB_UNREACHABLE with the URL redacted', async () => {
    const error = await openMongoConnector('mongodb://entente:secret@127.0.0.1:9/shop', { connectTimeoutMs: 300 }).catch((caught: unknown) => caught);
    expect(isEntenteError(error, 'DB_UNREACHABLE')).toBe(true);
    expect((error as Error).message).toContain('mongodb://entente:***@127.0.0.1:9/shop');
    expect((error as Error).message).not.toContain('secret');
  });

  it('is registered for mongodb:// URLs in openConnector', async () => {
    const error = await openConnector('mongodb://127.0.0.1:9/shop?serverSelectionTimeoutMS=300').catch((caught: unknown) => caught);
    expect(isEntenteError(error, 'DB_UNREACHABLE')).toBe(true);
  });

  it('keeps replica DateTimes as six-digit canonical text, so they sort chronologically', () => {
    expect(normalizeDateTimeText('2024-05-01T10:00:00.000001Z', 'at')).toBe('2024-05-01T10:00:00.000001Z');
    expect(normalizeDateTimeText('2024-05-01T10:00:00Z', 'at')).toBe('2024-05-01T10:00:00.000000Z');
    expect(normalizeDateTimeText('2024-05-01T10:00:00.5Z', 'at')).toBe('2024-05-01T10:00:00.500000Z');
    expect(normalizeDateTimeText('2024-05-01T12:00:00+02:00', 'at')).toBe('2024-05-01T10:00:00.000000Z');
    const sorted = ['2024-05-01T10:00:00.5Z', '2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000001Z'].map((text) => normalizeDateTimeText(text, 'at')).sort();
    expect(sorted).toEqual(['2024-05-01T10:00:00.000000Z', '2024-05-01T10:00:00.000001Z', '2024-05-01T10:00:00.500000Z']);
    expect(() => normalizeDateTimeText('yesterday', 'at')).toThrow(/ISO-8601/);
  });
});
