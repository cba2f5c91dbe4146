// A gateway stopped while it still starts shuts down. Found with `entente demo --db`: Ctrl-C right after
// the network came up hung the process in about one run of ten. The partner with the most rows was still
// waiting for its snapshot of existing rows to be committed; its stopping peers would never commit it, and
// closing the ledger runtime waited for that start. Here acme is the only member of a two-member network
// that runs, so its snapshot can never reach a quorum: close() must still return.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createPgliteConnector } from '../../connectors/postgres/postgres-connector.ts';
import { startNetworkGateway } from '../../gateway/node/network-gateway.ts';
import { createLogger } from '../../gateway/server/logger.ts';
import { generateEd25519KeyPair } from '../../ledger/crypto/ed25519.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { createMembership } from '../../ledger/membership.ts';
import { composeSchemas } from '../../schema/compose.ts';
import { loadPartnerSchemaFiles } from '../../schema/schema-files.ts';
import { until } from '../support/eventually.ts';
import { freePort } from '../support/free-port.ts';
import { openPglite } from '../../connectors/postgres/pglite-open.ts';
import { tempFolder } from '../support/temp-folder.ts';

const root = tempFolder('entente-shutdown-');

const acmeSchema = `type Order @key(fields: "id") @table(name: "orders", schema: "public") @grant(partners: ["dock"], operations: [READ]) {
  id: BigInt! @column(name: "id", type: "bigint")
  customer: String! @column(name: "customer", type: "text")
}
`;
const dockSchema = `type Delivery @key(fields: "id") @table(name: "deliveries", schema: "public") @grant(partners: ["acme"], operations: [READ]) {
  id: BigInt! @column(name: "id", type: "bigint")
}
`;

it('closes while its snapshot of existing rows waits for a commit that cannot come', async () => {
  const db = (await openPglite(null)).db;
  await db.exec("create table orders (id bigint primary key, customer text not null); insert into orders select g, 'existing ' || g from generate_series(1, 50) g;");
  const connector = await createPgliteConnector(db);
  const schemaDir = join(root(), 'schema');
  mkdirSync(schemaDir);
  writeFileSync(join(schemaDir, 'acme.graphql'), acmeSchema);
  writeFileSync(join(schemaDir, 'dock.graphql'), dockSchema);
  const unified = composeSchemas(await loadPartnerSchemaFiles(schemaDir));
  const keys = new Map(['acme', 'dock'].map((partner) => [partner, generateEd25519KeyPair()]));
  const genesis: Genesis = {
    network: 'shutdown-while-starting', timeMs: Date.now() - 1000, schemaVersion: 1,
    membership: createMembership([...keys].map(([partner, key]) => ({ partner, publicKey: key.publicKey }))),
    ownership: new Map(unified.types.map((type) => [type.name, type.owner])),
  };
  const gateway = await startNetworkGateway({
    unified, partner: 'acme', connector, genesis, secretKey: keys.get('acme')!.secretKey, ledgerDirectory: join(root(), 'acme', 'ledger'),
    listen: { host: '127.0.0.1', port: 0 }, consensusListen: { host: '127.0.0.1', port: 0 },
    appAuthenticator: { authenticate: async () => ({ kind: 'anonymous', partner: 'acme', roles: ['staff'] }) }, anonymousAllowed: true,
    logger: createLogger({ level: 'silent' }), emptyBlockDelayMs: 300,
  });
  try {
    const nobody = await freePort(); // dock never comes: no quorum
    gateway.join([{ partner: 'dock', url: `http://127.0.0.1:${nobody}`, consensusUrl: `ws://127.0.0.1:${nobody}` }]);
    await until(() => gateway.runtime.node.mempoolSize > 0); // the snapshot waits in the mempool
    const closed = await Promise.race([gateway.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still closing after 10 s'), 10_000))]);
    expect(closed).toBe('closed');
  } finally {
    await connector.close();
    await db.close();
  }
}, 30_000);
