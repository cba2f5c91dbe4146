// Goal: the gateway's front door behaves as a demanding client and operator expect — GraphQL over HTTP
// (GET and POST, graphql-response+json), subscriptions over graphql-ws on the same port, /health, /ready,
// /metrics, every limit refusing with a clear LIMIT_EXCEEDED error, unexpected errors masked while
// deliberate ones pass, the schema swapped in place without dropping subscriptions, and a shutdown that
// lets in-flight requests finish.
// Method: a real gateway server on an ephemeral port with a small hand-built schema; real HTTP (fetch)
// and real WebSocket clients (graphql-ws over ws).
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { GraphQLString } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { postGraphQL, startTestGateway, testSchema, type StartedGateway } from './support/test-gateway.ts';

const started: StartedGateway[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  for (const gateway of started.splice(0)) await gateway.server.close();
});

async function gateway(options: Parameters<typeof startTestGateway>[0] = {}): Promise<StartedGateway> {
  const value = await startTestGateway(options);
  started.push(value);
  return value;
}

function wsClient(url: string, connectionParams: Record<string, string> = {}): Client {
  const client = createClient({ url: url.replace('http://', 'ws://'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams });
  clients.push(client);
  return client;
}

async function collect(client: Client, query: string): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const result of client.iterate({ query })) values.push(result);
  return values;
}

describe('GraphQL over HTTP', () => {
  it('answers POST with application/graphql-response+json', async () => {
    const { base } = await gateway();
    const answer = await postGraphQL(base, '{ hello whoami }');
    expect(answer.status).toBe(200);
    expect(answer.contentType).toContain('application/graphql-response+json');
    expect(answer.body.data).toEqual({ hello: 'world', whoami: 'anonymous:acme:reader' });
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers GET queries and refuses mutations over GET', async () => {
    const { base } = await gateway();
    const get = await fetch(`${base}/graphql?query=${encodeURIComponent('{ hello }')}`, { headers: { accept: 'application/graphql-response+json' } });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { hello: 'world' } });
    const mutation = await fetch(`${base}/graphql?query=${encodeURIComponent('mutation { increment }')}`);
    expect(mutation.status).toBe(405);
  });

  it('masks unexpected errors and passes deliberate EntenteErrors with their code', async () => {
    const { base, logLines } = await gateway();
    const answer = await postGraphQL(base, '{ boom forbidden hello }');
    expect(answer.body.data).toEqual({ boom: null, forbidden: null, hello: 'world' });
    const [boom, forbidden] = answer.body.errors ?? [];
    expect(JSON.stringify(boom)).not.toContain('10.0.0.7');
    expect(JSON.stringify(boom)).not.toContain('4711');
    expect(boom?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: answer.headers.get('x-request-id') });
    expect(forbidden).toMatchObject({ message: 'You may not read this field.', extensions: { code: 'FORBIDDEN' } });
    // The operator still finds the real cause in the log, under the request id.
    const logged = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line['event'] === 'graphql.error');
    expect(logged?.['requestId']).toBe(answer.headers.get('x-request-id'));
    expect(JSON.stringify(logged)).toContain('10.0.0.7');
  });

  it('does not suggest field names the caller did not ask for', async () => {
    const { base } = await gateway();
    const answer = await postGraphQL(base, '{ hell }');
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.message).not.toContain('Did you mean');
  });
});

describe('limits', () => {
  it('refuses an operation deeper than limits.depthMax before executing it', async () => {
    const { base } = await gateway({ limits: { depthMax: 3 } });
    const ok = await postGraphQL(base, '{ items { children { id } } }');
    expect(ok.status).toBe(200);
    const deep = await postGraphQL(base, 'query Deep { items { children { children { id } } } }');
    expect(deep.status).toBe(400);
    expect(deep.body.errors?.[0]).toMatchObject({ extensions: { code: 'LIMIT_EXCEEDED', limit: 'limits.depthMax', actual: 4, allowed: 3 } });
    expect(deep.body.errors?.[0]?.message).toContain('Operation "Deep" is 4 levels deep; this gateway allows at most 3');
  });

  it('refuses an operation whose estimated cost passes limits.complexityMax, counting page sizes', async () => {
    const { base } = await gateway({ limits: { complexityMax: 500 } });
    expect((await postGraphQL(base, '{ items(first: 10) { children(first: 10) { id } } }')).status).toBe(200); // 1 + 10 × (1 + 10 × 1) = 111
    const costly = await postGraphQL(base, '{ items(first: 50) { children(first: 50) { id } } }'); // 1 + 50 × 51 = 2551
    expect(costly.status).toBe(400);
    expect(costly.body.errors?.[0]).toMatchObject({ extensions: { code: 'LIMIT_EXCEEDED', limit: 'limits.complexityMax', actual: 2551, allowed: 500 } });
  });

  it('refuses documents over limits.documentBytesMax and bodies over limits.bodyBytesMax', async () => {
    const { base } = await gateway({ limits: { documentBytesMax: 200, bodyBytesMax: 2_000 } });
    const document = `{ hello ${' '.repeat(300)} }`;
    const tooLong = await postGraphQL(base, document);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors?.[0]).toMatchObject({ extensions: { code: 'LIMIT_EXCEEDED', details: { limit: 'limits.documentBytesMax' } } });
    const big = await postGraphQL(base, '{ hello }', { variables: { padding: 'x'.repeat(5_000) } });
    expect(big.status).toBe(413);
    expect(big.body.errors?.[0]?.message).toContain('larger than 2000 bytes (limits.bodyBytesMax)');
  });

  it('abandons a request that passes limits.requestTimeoutMs with a clear 503', async () => {
    const { base } = await gateway({ limits: { requestTimeoutMs: 100 } });
    const answer = await postGraphQL(base, '{ slow(ms: 1000) }');
    expect(answer.status).toBe(503);
    expect(answer.body.errors?.[0]?.message).toContain('longer than 100 ms (limits.requestTimeoutMs)');
    expect((await postGraphQL(base, '{ slow(ms: 10) }')).body.data).toEqual({ slow: 'slept 10' });
  });
});

describe('operator endpoints', () => {
  it('serves /health, /ready from the injected checks, and /metrics as Prometheus text', async () => {
    let peersUp = false;
    const { base } = await gateway({
      readiness: [
        { name: 'database', check: async () => ({ ok: true }) },
        { name: 'peers', check: async () => (peersUp ? { ok: true, detail: { connected: 3, required: 3 } } : { ok: false, reason: 'only 1 of 3 peers connected', detail: { connected: 1, required: 3 } }) },
      ],
    });
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', partner: 'acme', schemaVersion: 1 });
    const notReady = await fetch(`${base}/ready`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ ready: false, checks: { database: { ok: true }, peers: { ok: false, reason: 'only 1 of 3 peers connected' } } });
    peersUp = true;
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    await postGraphQL(base, '{ hello }');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['entente_commits_total', '# TYPE entente_commit_latency_seconds histogram', 'entente_capture_lag_seconds', 'entente_peers_connected', 'entente_subscriptions_active']) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/entente_http_requests_total\{route="graphql",status="200",partner="acme"\} 1/);
  });
});

describe('subscriptions over graphql-ws', () => {
  it('delivers events on the same port and counts active subscriptions', async () => {
    const { url, server, metrics } = await gateway();
    const client = wsClient(url);
    const iterator = client.iterate({ query: 'subscription { ticks(count: 3, intervalMs: 30) }' });
    const first = await iterator.next();
    expect(first.value).toEqual({ data: { ticks: 1 } });
    expect(server.activeSubscriptions()).toBe(1);
    expect((await metrics.registry.getSingleMetricAsString('entente_subscriptions_active'))).toMatch(/ 1$/m);
    const rest: unknown[] = [];
    for await (const value of { [Symbol.asyncIterator]: () => iterator }) rest.push(value);
    expect(rest).toEqual([{ data: { ticks: 2 } }, { data: { ticks: 3 } }]);
  });

  it('serves subscriptions over wss:// when the server has a certificate', async () => {
    const pem = (name: string): string => readFileSync(new URL(`../support/tls/${name}`, import.meta.url), 'utf8');
    const { url } = await gateway({ tls: { cert: pem('gateway.crt'), key: pem('gateway.key') } });
    expect(url).toMatch(/^https:\/\//);
    const client = createClient({ url: url.replace('https://localhost', 'wss://127.0.0.1'), webSocketImpl: class extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { ca: pem('ca.crt') });
      }
    }, retryAttempts: 0, lazy: true });
    clients.push(client);
    expect(await collect(client, 'subscription { ticks(count: 2, intervalMs: 10) }')).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }]);
  });

  it('keeps serving other subscribers while one stops reading its socket', async () => {
    // graphql-ws waits for each message to reach the socket before pulling the next event, so a stalled
    // reader stalls only its own subscription (whose change-feed queue is bounded by subscriberQueueMax).
    const { url } = await gateway();
    const slow = new WebSocket(url.replace('http://', 'ws://'), 'graphql-transport-ws');
    await new Promise((resolve) => slow.once('open', resolve));
    slow.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((resolve) => slow.once('message', resolve)); // connection_ack
    slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { blobs(count: 4000, bytes: 16000) }' } }));
    slow.pause(); // 64 MB on their way, none of it read
    const started = performance.now();
    const fast = await collect(wsClient(url), 'subscription { ticks(count: 3, intervalMs: 20) }');
    expect(fast).toEqual([{ data: { ticks: 1 } }, { data: { ticks: 2 } }, { data: { ticks: 3 } }]);
    expect(performance.now() - started).toBeLessThan(5_000);
    slow.terminate();
  });

  it('applies the same limits to WebSocket operations', async () => {
    const { url } = await gateway({ limits: { depthMax: 2 } });
    await expect(collect(wsClient(url), '{ items { children { id } } }')).rejects.toSatisfy((errors: unknown) => JSON.stringify(errors).includes('limits.depthMax'));
  });

  it('swaps the schema in place: new operations see it, open subscriptions keep running', async () => {
    const gw = await gateway();
    const client = wsClient(gw.url);
    const iterator = client.iterate({ query: 'subscription { ticks(count: 4, intervalMs: 60) }' });
    expect((await iterator.next()).value).toEqual({ data: { ticks: 1 } });
    expect((await postGraphQL(gw.base, '{ version }')).status).toBe(400);
    gw.holder.replace(testSchema(gw.state, { version: { type: GraphQLString, resolve: () => 'v2' } }));
    expect((await postGraphQL(gw.base, '{ version }')).body.data).toEqual({ version: 'v2' });
    expect(await collect(wsClient(gw.url), '{ version }')).toEqual([{ data: { version: 'v2' } }]);
    const rest: unknown[] = [];
    for await (const value of { [Symbol.asyncIterator]: () => iterator }) rest.push(value);
    expect(rest).toEqual([{ data: { ticks: 2 } }, { data: { ticks: 3 } }, { data: { ticks: 4 } }]);
    expect((await (await fetch(`${gw.base}/health`)).json()) as object).toMatchObject({ schemaVersion: 2 });
  });
});

describe('graceful shutdown', () => {
  it('finishes requests in flight, refuses new connections, and closes subscribers with a reason', async () => {
    const gw = await gateway({ drainTimeoutMs: 5_000 });
    const socket = new WebSocket(gw.url.replace('http://', 'ws://'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    const inFlight = postGraphQL(gw.base, '{ slow(ms: 400) }');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(gw.server.inFlight()).toBe(1);
    const closing = gw.server.close();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ slow: 'slept 400' });
    await closing;
    expect(await closed).toMatchObject({ code: 1001 });
    await expect(fetch(`${gw.base}/health`)).rejects.toThrow();
    started.splice(started.indexOf(gw), 1);
  });
});
