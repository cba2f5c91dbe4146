// connector.listNested on PGlite (./nested-reads-connector.ts).
import { beforeAll, afterAll, describe } from 'vitest';
import type { PGlite } from '@electric-sql/pglite';
import type { Connector } from '../../connectors/connector.ts';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';
import { nestedReadsDdl, runNestedReadsConnectorSuite } from './nested-reads-connector.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';

describe('listNested: pglite', () => {
  let db: PGlite;
  let connector: Connector;
  beforeAll(async () => {
    db = (await openPglite(null)).db;
    await db.exec(nestedReadsDdl);
    connector = await createPgliteConnector(db);
  });
  afterAll(async () => {
    await connector?.close();
    await db?.close();
  });
  runNestedReadsConnectorSuite(() => connector);
});
