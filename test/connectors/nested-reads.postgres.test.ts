// connector.listNested on a real PostgreSQL server (./nested-reads-connector.ts).
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { Connector } from '../../connectors/connector.ts';
import { openConnector } from '../../connectors/index.ts';
import { describeWithPostgres } from '../support/databases.ts';
import { nestedReadsDdl, runNestedReadsConnectorSuite } from './nested-reads-connector.ts';

describeWithPostgres('listNested: postgres', (db) => {
  let connector: Connector;
  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(nestedReadsDdl);
    await admin.end();
    connector = await openConnector(db.url);
  });
  afterAll(async () => {
    await connector?.close();
  });
  runNestedReadsConnectorSuite(() => connector);
});
