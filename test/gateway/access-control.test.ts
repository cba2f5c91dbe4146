// Goal: on a partner's gateway, each caller can use exactly what the directives grant it, on every
// path wired today (issue #7, acceptance 2, partial): by-key query, list, nested relation, per-field
// read, mutation, subscription, introspection and error text. A forbidden caller sees nothing it may
// not see: the field, type or mutation is absent from its API (decided at validation, before any
// resolver), and the error for a forbidden row is the same whether the row exists or not.
// Method: the demo manufacturer's gateway on a seeded PGlite database (grants in
// gateway/demo/network/*.graphql: PartOrder → parts-supplier READ+UPDATE, logistics READ; PaintJob →
// paint-shop READ+UPDATE; Part.unitPrice readable by manufacturer only), with callers chosen per
// request by a test authenticator standing in for peer-forwarded identities; real HTTP and graphql-ws.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Authenticator } from '../../gateway/auth/caller.ts';
import { loadDemoUnifiedSchema, startPartnerGateway, type PartnerGateway } from '../../gateway/demo/partner-gateway.ts';
import { Lifecycle } from '../../gateway/node/lifecycle.ts';
import { createLogger } from '../../gateway/server/logger.ts';
import { generateEd25519KeyPair } from '../../ledger/crypto/ed25519.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { createMembership } from '../../ledger/membership.ts';

const asPartner: Authenticator = {
  authenticate: async ({ headers }) => {
    const partner = String(headers['x-test-partner'] ?? 'manufacturer');
    return { kind: 'peer', partner, nodeId: 'test', roles: [], onBehalfOf: `${partner}-user` };
  },
};

let folder: string;
let gateway: PartnerGateway;
const lifecycle = new Lifecycle();

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'entente-access-'));
  const unified = await loadDemoUnifiedSchema();
  // A one-member network: the manufacturer's gateway commits its own changes alone, so writes complete.
  const key = generateEd25519KeyPair();
  const genesis: Genesis = { network: 'access', timeMs: Date.now() - 1000, schemaVersion: 1, membership: createMembership([{ partner: 'manufacturer', publicKey: key.publicKey }]), ownership: new Map(unified.types.map((type) => [type.name, type.owner])) };
  gateway = await startPartnerGateway(unified, { partner: 'manufacturer', dataDir: folder, ledgerDir: join(folder, 'ledger'), port: 0, consensusPort: 0, host: '127.0.0.1', logLevel: 'silent', authenticator: asPartner, genesis, secretKey: key.secretKey }, lifecycle);
  gateway.join([]);
}, 120_000);

afterAll(async () => {
  await lifecycle.close(createLogger({ level: 'silent' }));
  await rm(folder, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly data?: Record<string, unknown> | null;
  readonly errors?: { readonly message: string; readonly extensions?: Record<string, unknown> }[];
}

async function as(partner: string, query: string): Promise<Answer> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test-partner': partner }, body: JSON.stringify({ query }) });
  return { status: response.status, ...((await response.json()) as object) };
}

function expectAbsent(answer: Answer, field: string): void {
  expect(answer.status).toBe(400);
  expect(answer.data).toBeUndefined();
  expect(answer.errors?.[0]?.message).toMatch(new RegExp(`Cannot query field "${field}"`));
  expect(answer.errors?.[0]?.message).not.toContain('Did you mean');
}

describe('reads', () => {
  it('by key: granted partners read, others find no such field — whether the row exists or not', async () => {
    expect((await as('logistics', '{ partOrder(id: 1) { id sku } }')).data).toEqual({ partOrder: { id: '1', sku: 'BDY-0008' } });
    const existing = await as('paint-shop', '{ partOrder(id: 1) { id } }');
    const missing = await as('paint-shop', '{ partOrder(id: 999999) { id } }');
    expectAbsent(existing, 'partOrder');
    expect(missing).toEqual(existing);
  });

  it('lists: each partner lists only the types granted to it', async () => {
    expect((await as('paint-shop', '{ paintJobs { totalCount } }')).data).toEqual({ paintJobs: { totalCount: 24 } });
    expectAbsent(await as('logistics', '{ paintJobs { totalCount } }'), 'paintJobs');
    expectAbsent(await as('parts-supplier', '{ paintJobs { totalCount } }'), 'paintJobs');
  });

  it('nested relations and fields: a field readable by the manufacturer only is absent for everyone else', async () => {
    const nested = await as('logistics', '{ partOrders(first: 1) { nodes { id part { sku name } shipments { trackingCode } } } }');
    expect(nested.errors).toBeUndefined();
    expectAbsent(await as('logistics', '{ partOrders(first: 1) { nodes { part { unitPrice } } } }'), 'unitPrice');
    expect((await as('manufacturer', '{ partOrders(first: 1) { nodes { part { unitPrice } } } }')).errors).toBeUndefined();
  });

  it('introspection shows each partner only its own API', async () => {
    const typesOf = async (partner: string): Promise<string[]> => ((await as(partner, '{ __schema { types { name } } }')).data as { __schema: { types: { name: string }[] } }).__schema.types.map((type) => type.name);
    const paintShop = await typesOf('paint-shop');
    expect(paintShop).toContain('PaintJob');
    expect(paintShop).not.toContain('PartOrder');
    const logistics = await typesOf('logistics');
    expect(logistics).toContain('PartOrder');
    expect(logistics).not.toContain('PaintJob');
  });
});

describe('mutations', () => {
  it('only a granted operation exists, and a refused one changes nothing', async () => {
    const before = (await as('manufacturer', '{ partOrders { totalCount } partOrder(id: 2) { quantity status } }')).data;
    expectAbsent(await as('logistics', 'mutation { updatePartOrder(id: 2, input: { status: DELIVERED }) { transactionId } }'), 'updatePartOrder');
    expectAbsent(await as('parts-supplier', 'mutation { createPartOrder(input: { sku: "X", quantity: 1, status: PLACED, plant: "Graz", needBy: "2027-01-01" }) { transactionId } }'), 'createPartOrder');
    expectAbsent(await as('paint-shop', 'mutation { deletePartOrder(id: 2) { transactionId } }'), 'deletePartOrder');
    expect((await as('manufacturer', '{ partOrders { totalCount } partOrder(id: 2) { quantity status } }')).data).toEqual(before);
    // The supplier may confirm an order (UPDATE is granted to it).
    const confirmed = await as('parts-supplier', 'mutation { updatePartOrder(id: 3, input: { status: CONFIRMED }) { partOrder { id status } } }');
    expect(confirmed.errors).toBeUndefined();
    expect(confirmed.data).toEqual({ updatePartOrder: { partOrder: { id: '3', status: 'CONFIRMED' } } });
  });
});

describe('subscriptions', () => {
  it('deliver a change to granted partners and refuse the others', async () => {
    const connect = (partner: string) =>
      createClient({ url: gateway.url.replace('http://', 'ws://'), webSocketImpl: class extends WebSocket { constructor(address: string, protocols?: string | string[]) { super(address, protocols, { headers: { 'x-test-partner': partner } }); } }, retryAttempts: 0 });
    const logistics = connect('logistics');
    const paintShop = connect('paint-shop');
    const events = logistics.iterate({ query: 'subscription { partOrderChanged { operation node { id quantity } } }' });
    const next = events.next();
    const refused = paintShop.iterate({ query: 'subscription { partOrderChanged { operation node { id } } }' }).next();
    await expect(refused).rejects.toSatisfy((errors: unknown) => JSON.stringify(errors).includes('Cannot query field \\"partOrderChanged\\"'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const created = await as('manufacturer', 'mutation { createPartOrder(input: { sku: "ELC-5210", quantity: 12, status: PLACED, plant: "Graz", needBy: "2027-02-01" }) { partOrder { id } } }');
    const id = (created.data as { createPartOrder: { partOrder: { id: string } } }).createPartOrder.partOrder.id;
    expect((await next).value).toEqual({ data: { partOrderChanged: { operation: 'INSERT', node: { id, quantity: 12 } } } });
    await logistics.dispose();
    await paintShop.dispose();
  });
});
