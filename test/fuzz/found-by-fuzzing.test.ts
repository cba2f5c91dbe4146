// Goal: the bugs the GraphQL fuzzer found stay fixed, each checked directly and fast (no database):
// the cost rule measured fragments that spread each other twice per level in exponential time (a 1 KB
// document blocked the event loop for good); brackets nested thousands deep overflowed the parser's
// stack; a subscription document over HTTP failed inside Apollo (a masked error, or a 500 when graphql-js
// threw on a bad @include argument); Apollo's codeless request errors were labelled internal; and a
// request whose Accept header admits no JSON was executed (a mutation committed) before the 406.
// Method: graphql-js validation with the gateway's rule, the scanner on crafted text, and a real test
// gateway (test/gateway/support/test-gateway.ts) over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, validate } from 'graphql';
import { costLimitRule, defaultLimits, documentNestingDepth } from '../../gateway/server/limits.ts';
import { postGraphQL, startTestGateway, testSchema, type StartedGateway } from '../gateway/support/test-gateway.ts';

describe('the cost rule', () => {
  it('measures a document of doubling fragment spreads in linear time and refuses it', () => {
    const levels = 60;
    const fragments = Array.from({ length: levels }, (_, index) => `fragment F${index} on Query { ...F${index + 1} ...F${index + 1} }`);
    const document = parse(`query { ...F0 } ${fragments.join(' ')} fragment F${levels} on Query { items { id } }`);
    const started = performance.now();
    const errors = validate(testSchema({ counter: 0 }), document, [costLimitRule(defaultLimits)]);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(errors.map((error) => error.extensions['limit'])).toEqual(['limits.complexityMax']);
  });

  it('still counts a fragment spread twice as twice the cost, and at the depth of each spread', () => {
    const rule = costLimitRule({ ...defaultLimits, complexityMax: 6_200, depthMax: 3 });
    const check = (source: string) => validate(testSchema({ counter: 0 }), parse(source), [rule]).map((error) => error.extensions['limit']);
    const fragment = 'fragment F on Query { items(first: 100) { children(first: 60) { id } } }';
    expect(check(`{ ...F } ${fragment}`)).toEqual([]);
    expect(check(`{ ...F ...F } ${fragment}`)).toEqual(['limits.complexityMax']);
    // G measured first two levels deep, then reused three levels deep: the second use is 4 deep.
    expect(check('{ items(first: 1) { ...G } } fragment G on Item { children(first: 1) { id } }')).toEqual([]);
    expect(check('{ items(first: 1) { ...G children(first: 1) { ...G } } } fragment G on Item { children(first: 1) { id } }')).toEqual(['limits.depthMax']);
  });
});

describe('documentNestingDepth', () => {
  it('counts { [ ( outside strings, block strings and comments', () => {
    expect(documentNestingDepth('{ a(b: [[1]]) { c } }')).toBe(4);
    expect(documentNestingDepth('{ a(b: "{{{[[[") # {{{{{{\n }')).toBe(2);
    expect(documentNestingDepth('{ a(b: """ {{{ \\""" {{{ """) }')).toBe(2);
    expect(documentNestingDepth('['.repeat(5_000))).toBe(5_000);
  });
});

describe('over HTTP', () => {
  let gateway: StartedGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => {
    await gateway?.server.close();
  });

  it('refuses brackets nested deeper than limits.documentNestingMax before parsing', async () => {
    const answer = await postGraphQL(gateway.base, `{ items(first: ${'['.repeat(3_000)}1${']'.repeat(3_000)}) { id } }`);
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions?.['code']).toBe('LIMIT_EXCEEDED');
    expect(JSON.stringify(answer.body)).not.toContain('Maximum call stack');
  });

  it('refuses a subscription, even one with a bad @include argument, with a 400 that names WebSocket', async () => {
    for (const document of ['subscription { ticks(count: 1) }', 'subscription { ticks(count: 1) @include(if: "yes") } query Q { hello }']) {
      const answer = await postGraphQL(gateway.base, document);
      expect(answer.status).toBe(400);
      expect(answer.body.errors?.[0]?.message).toMatch(/WebSocket/);
    }
  });

  it('answers 406 to a client that accepts no JSON before executing anything (the mutation does not run)', async () => {
    for (const accept of ['text/html', 'application/x-nope', 'multipart/mixed; deferSpec=20220824', 'application/json;q=0']) {
      const response = await fetch(`${gateway.base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query: 'mutation { increment }' }) });
      expect(response.status).toBe(406);
    }
    expect(gateway.state.counter).toBe(0);
    expect((await postGraphQL(gateway.base, '{ counter }', { headers: { accept: 'text/html, application/json;q=0.5' } })).body.data).toEqual({ counter: 0 });
  });

  it('labels Apollo\'s own request errors BAD_REQUEST, not INTERNAL_SERVER_ERROR', async () => {
    const response = await fetch(`${gateway.base}/graphql?query=%7B__typename%7D&extensions=%7B%22persistedQuery%22:%7B%22version%22:2%7D%7D`, { headers: { 'apollo-require-preflight': 'true' } });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).not.toContain('INTERNAL_SERVER_ERROR');
  });
});
