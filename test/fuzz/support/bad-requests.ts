// Generated HTTP requests for the GraphQL fuzzer, one arbitrary per kind of bad input the issue names:
// valid operations with hostile variables (filters, orderBy, cursors, page sizes, create/update inputs),
// wrong variable types, random documents (unknown fields, odd literals, directives), deep nesting,
// alias explosions, fragment cycles and fan-outs, malformed and huge bodies, batches, and GET requests
// with odd query strings. Every case names its kind, so a failure says which generator made it.
import fc from 'fast-check';
import { fuzzPartners, type FuzzPartner } from './markers.ts';
import { cursorArb, valueFor, weirdJson, weirdString } from './bad-values.ts';

/**
 * The gateway under fuzzing runs with smaller size limits than the defaults, so the cases at and past
 * each limit cost kilobytes instead of megabytes (the limit logic is the same at any size).
 */
export const fuzzLimits = { bodyBytesMax: 128_000, documentBytesMax: 32_000 } as const;

export interface FuzzCase {
  readonly kind: string;
  readonly partner: FuzzPartner;
  readonly roles: string;
  readonly method: string;
  /** Path and query string, e.g. `/graphql?query=…`. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array | null;
}

/** Scalar field types of each type the fuzzer filters, sorts and writes. */
const fieldTypes: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  PurchaseOrder: { id: 'BigInt', supplierId: 'String', sku: 'String', quantity: 'Int', price: 'Decimal', status: 'OrderStatus', memo: 'String', tags: 'String', placedAt: 'DateTime' },
  Product: { sku: 'String', name: 'String', weight: 'Float', unitPrice: 'Decimal', supplierNote: 'String', internalNote: 'String' },
  Invoice: { id: 'Int', number: 'String', amount: 'Decimal', issuedOn: 'Date', data: 'JSON' },
  Note: { id: 'BigInt', author: 'String', body: 'String', score: 'Int', ratio: 'Float', amount: 'Decimal', big: 'BigInt', at: 'DateTime', day: 'Date', time: 'Time', uid: 'UUID', blob: 'Bytes', payload: 'JSON', flag: 'Boolean', labels: 'String' },
  Shipment: { id: 'BigInt', purchaseOrderId: 'BigInt', trackingCode: 'String' },
};

const operators = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in', 'like', 'ilike', 'isNull'];
const junkNames = ['nope', '__typename', 'constructor', '__proto__', 'internal_note', 'supplier_id', 'AND', 'Or'];

/** A `where` input for `type`, nested up to `depth` levels with and/or/not (deeper than the server allows). */
function whereArb(type: string): fc.Arbitrary<unknown> {
  const fields = Object.keys(fieldTypes[type]!);
  const leaf = fc.tuple(fc.constantFrom(...fields, ...junkNames), fc.constantFrom(...operators, 'between', 'regex'), fc.boolean()).chain(([field, op, wrongType]) => {
    const scalar = fieldTypes[type]![field] ?? 'String';
    const value = op === 'in' ? fc.oneof(fc.array(valueFor(scalar), { maxLength: 8 }), fc.integer({ min: 990, max: 1_500 }).map((n) => Array.from({ length: n }, (_, i) => i))) : op === 'isNull' ? fc.constantFrom(true, false, null, 'yes') : op.includes('like') ? weirdString : valueFor(scalar);
    return (wrongType ? weirdJson : value).map((v) => ({ [field]: { [op]: v } }));
  });
  const tree = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 4, arbitrary: leaf },
      { weight: 1, arbitrary: fc.array(tie('node'), { maxLength: 3 }).map((and) => ({ and })) },
      { weight: 1, arbitrary: fc.array(tie('node'), { maxLength: 3 }).map((or) => ({ or })) },
      { weight: 1, arbitrary: tie('node').map((not) => ({ not })) },
    ),
  })).node;
  const deep = fc.tuple(fc.integer({ min: 6, max: 400 }), fc.constantFrom('and', 'or', 'not')).map(([depth, combinator]) => {
    let where: unknown = { [fields[0]!]: { eq: 1 } };
    for (let level = 0; level < depth; level += 1) where = combinator === 'not' ? { not: where } : { [combinator]: [where] };
    return where;
  });
  return fc.oneof({ weight: 6, arbitrary: tree }, { weight: 1, arbitrary: deep }, { weight: 1, arbitrary: weirdJson }, { weight: 1, arbitrary: fc.constant(null) });
}

function orderByArb(type: string): fc.Arbitrary<unknown> {
  const fields = Object.keys(fieldTypes[type]!);
  const term = fc.record({ field: fc.oneof(fc.constantFrom(...fields), weirdString), direction: fc.constantFrom('ASC', 'DESC', 'asc', 'sideways', null) }, { requiredKeys: ['field'] });
  return fc.oneof({ weight: 4, arbitrary: fc.array(term, { maxLength: 4 }) }, { weight: 1, arbitrary: term }, { weight: 1, arbitrary: weirdJson });
}

const pageSizeArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 2, arbitrary: fc.constantFrom(-1, -0, 1_000, 1_001, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 1e308, 1.5, '10', null) },
  { weight: 1, arbitrary: weirdJson },
);

interface Template {
  readonly kind: string;
  readonly document: string;
  readonly variables: fc.Arbitrary<Record<string, unknown>>;
}

const listSelection: Readonly<Record<string, string>> = {
  PurchaseOrder: 'id supplierId sku quantity price status memo tags placedAt product { sku name }',
  Product: 'sku name weight unitPrice',
  Invoice: 'id number amount issuedOn data',
  Note: 'id author body score ratio amount big at day time uid blob payload flag labels',
  Shipment: 'id purchaseOrderId trackingCode',
};

function listTemplate(type: string, field: string): Template {
  return {
    kind: `list ${field}`,
    document: `query L($w: ${type}Where, $o: [${type}OrderBy!], $f: Int, $a: String, $l: Int, $b: String) { ${field}(where: $w, orderBy: $o, first: $f, after: $a, last: $l, before: $b) { totalCount nodes { ${listSelection[type]} } edges { cursor } pageInfo { startCursor endCursor hasNextPage hasPreviousPage } } }`,
    variables: fc.record({ w: whereArb(type), o: orderByArb(type), f: pageSizeArb, a: cursorArb, l: pageSizeArb, b: cursorArb }, { requiredKeys: [] }),
  };
}

function noteInputArb(required: boolean): fc.Arbitrary<unknown> {
  const fields = Object.fromEntries(Object.entries(fieldTypes['Note']!).filter(([name]) => name !== 'id').map(([name, type]) => [name, name === 'labels' ? fc.oneof(fc.array(weirdString, { maxLength: 4 }), weirdJson) : name === 'author' ? fc.constantFrom('globex', 'initech', 'acme', 'nobody', "globex'--") : valueFor(type)]));
  const input = fc.record(fields, { requiredKeys: required ? ['author', 'body'] : [] });
  return fc.oneof({ weight: 6, arbitrary: input }, { weight: 1, arbitrary: input.map((value) => ({ ...(value as object), unknownField: 1 })) }, { weight: 1, arbitrary: weirdJson });
}

const idArb = fc.oneof(fc.integer({ min: -1, max: 70 }).map(String), valueFor('BigInt'));

const templates: readonly Template[] = [
  listTemplate('PurchaseOrder', 'purchaseOrders'),
  listTemplate('Product', 'products'),
  listTemplate('Invoice', 'invoices'),
  listTemplate('Note', 'notes'),
  listTemplate('Shipment', 'shipments'),
  {
    kind: 'nested lists',
    document: 'query N($w: ProductWhere, $nw: PurchaseOrderWhere, $nf: Int, $no: [PurchaseOrderOrderBy!], $f: Int) { products(where: $w, first: $f) { nodes { sku name purchaseOrders(where: $nw, first: $nf, orderBy: $no) { id memo product { sku } } } } }',
    variables: fc.record({ w: whereArb('Product'), nw: whereArb('PurchaseOrder'), nf: pageSizeArb, no: orderByArb('PurchaseOrder'), f: pageSizeArb }, { requiredKeys: [] }),
  },
  { kind: 'by key purchaseOrder', document: 'query K($id: BigInt!) { purchaseOrder(id: $id) { id memo supplierId product { sku } } }', variables: fc.record({ id: idArb }) },
  { kind: 'by key product', document: 'query K($sku: String!) { product(sku: $sku) { sku name purchaseOrders { id memo } } }', variables: fc.record({ sku: fc.oneof(fc.constantFrom('P0', 'P1', 'P7'), weirdString) }) },
  { kind: 'by key invoice', document: 'query K($id: Int!) { invoice(id: $id) { id number data } }', variables: fc.record({ id: valueFor('Int') }) },
  { kind: 'by key note', document: 'query K($id: BigInt!) { note(id: $id) { id author body payload } }', variables: fc.record({ id: idArb }) },
  { kind: 'create note', document: 'mutation C($i: NoteCreateInput!) { createNote(input: $i) { note { id author body payload labels } transactionId ledgerHeight } }', variables: fc.record({ i: noteInputArb(true) }) },
  { kind: 'update note', document: 'mutation U($id: BigInt!, $i: NoteUpdateInput!) { updateNote(id: $id, input: $i) { note { id author body } } }', variables: fc.record({ id: idArb, i: noteInputArb(false) }) },
  { kind: 'delete note', document: 'mutation D($id: BigInt!) { deleteNote(id: $id) { note { id author } } }', variables: fc.record({ id: idArb }) },
  { kind: 'write elsewhere', document: 'mutation W($i: ShipmentCreateInput!, $id: BigInt!) { createShipment(input: $i) { shipment { id } } deleteShipment(id: $id) { shipment { id } } }', variables: fc.record({ i: weirdJson.map((value) => ({ purchaseOrderId: '1', trackingCode: value })), id: idArb }) },
  { kind: 'ledger', document: 'query G($h: Int!, $t: String!) { ledger { height head block(height: $h) { height } transaction(id: $t) { id } } }', variables: fc.record({ h: valueFor('Int'), t: weirdString }) },
  { kind: 'subscription over http', document: 'subscription S($w: NoteWhere) { noteChanged(where: $w) { operation node { id body } } }', variables: fc.record({ w: whereArb('Note') }) },
];

/** A valid document whose variables are hostile, or whose variables are the wrong type altogether. */
const templated: fc.Arbitrary<{ kind: string; body: unknown }> = fc.tuple(fc.constantFrom(...templates), fc.integer({ min: 0, max: 9 })).chain(([template, mode]) => {
  if (mode === 0) return weirdJson.map((variables) => ({ kind: `${template.kind}: variables not an object`, body: { query: template.document, variables } }));
  if (mode === 1) return fc.dictionary(fc.constantFrom('w', 'o', 'f', 'a', 'i', 'id', 'zz', '__proto__'), weirdJson, { maxKeys: 4 }).map((variables) => ({ kind: `${template.kind}: wrong variable types`, body: { query: template.document, variables } }));
  return template.variables.map((variables) => ({ kind: template.kind, body: { query: template.document, variables, operationName: null } }));
});

// ─── Random documents ───────────────────────────────────────────────────────────────────────────

const fieldNames = [
  'products', 'purchaseOrders', 'invoices', 'notes', 'shipments', 'quotes', 'product', 'purchaseOrder', 'note', 'ledger', 'nodes', 'edges', 'node',
  'cursor', 'pageInfo', 'totalCount', 'sku', 'name', 'memo', 'supplierNote', 'internalNote', 'unitPrice', 'id', 'body', 'payload', 'trackingCode',
  'offer', 'number', 'data', '__typename', '__schema', '__type', 'height', 'block', 'createNote', 'updateNote', 'deleteNote', 'nope', 'select',
];
const argumentNames = ['first', 'last', 'after', 'before', 'where', 'orderBy', 'id', 'sku', 'input', 'height', 'zz'];

/** GraphQL literal text: numbers past every limit, escapes, lone-surrogate escapes, lists, objects, variables. */
const literal: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'xsmall' },
    fc.constantFrom('0', '-0', '2147483648', '-2147483649', '99999999999999999999999', '1e400', '-1e400', '1.7976931348623157e309', '0.0000001', 'NaN', 'Infinity', 'null', 'true', 'ASC', 'PLACED', '$w', '$undefined', '""', '"""block"""', '"\\u0000"', '"\\uD800"', '"\\uDFFF\\uD800"', '"\\x41"', '"\\u{1F600}"'),
    weirdString.map((text) => JSON.stringify(text)),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(', ')}]`),
    fc.array(fc.tuple(fc.constantFrom('eq', 'in', 'like', 'and', 'or', 'not', 'id', 'memo', 'field', 'direction', 'zz'), tie('value')), { maxLength: 3 }).map((pairs) => `{ ${pairs.map(([name, value]) => `${name}: ${value}`).join(', ')} }`),
  ),
})).value;

const selectionSet: fc.Arbitrary<string> = fc.letrec<{ set: string }>((tie) => ({
  set: fc.array(
    fc.tuple(fc.option(fc.constantFrom('a', 'b', 'x1', '__typename'), { nil: null }), fc.constantFrom(...fieldNames), fc.array(fc.tuple(fc.constantFrom(...argumentNames), literal), { maxLength: 2 }), fc.option(tie('set'), { nil: null, depthSize: 'xsmall' }), fc.constantFrom('', '', '', ' @include(if: true)', ' @skip(if: $s)', ' @nope', ' @include(if: "yes")'))
      .map(([alias, name, args, inner, directive]) => `${alias === null ? '' : `${alias}: `}${name}${args.length > 0 ? `(${args.map(([arg, value]) => `${arg}: ${value}`).join(', ')})` : ''}${directive}${inner === null ? '' : ` ${inner}`}`),
    { minLength: 1, maxLength: 3 },
  ).map((fields) => `{ ${fields.join(' ')} }`),
})).set;

const randomDocument: fc.Arbitrary<string> = fc.tuple(fc.constantFrom('', 'query ', 'query Q($w: PurchaseOrderWhere, $s: Boolean) ', 'mutation ', 'subscription ', 'query Q($x: Nope!) ', 'fragment F on Query '), selectionSet, fc.constantFrom('', '', ' fragment F on Query { ...F }', ' fragment G on Nope { x }', ' query Q2 { __typename }', ' }', ' {'))
  .map(([head, set, tail]) => `${head}${set}${tail}`);

// ─── Documents built to hurt: depth, width, fragments ──────────────────────────────────────────

const deepValidPath: fc.Arbitrary<string> = fc.integer({ min: 2, max: 60 }).map((depth) => {
  let inner = 'id memo';
  for (let level = 0; level < depth; level += 1) inner = `product { sku purchaseOrders(first: 50) { id ${inner} } }`;
  return `{ purchaseOrders(first: 1000) { nodes { ${inner} } } }`;
});

/** Nested where literals, closed (valid syntax, too deep for the server) or left open (a syntax error deep down). */
const deepBraces: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 10, max: 6_000 }), fc.boolean(), fc.constantFrom('{and:[', '{not:', '{a:[', '[', '(a:')).map(([depth, closed, opener]) => {
  if (!closed) return `{ products(where: ${opener.repeat(depth)}`;
  return `{ purchaseOrders(where: ${'{and:['.repeat(depth)}{id:{eq:1}}${']}'.repeat(depth)}) { totalCount } }`;
});

const deepListLiteral: fc.Arbitrary<string> = fc.integer({ min: 10, max: 4_000 }).map((depth) => `{ notes(where: { labels: { isNull: ${'['.repeat(depth)}true${']'.repeat(depth)} } }) { totalCount } }`);

const aliasExplosion: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 2, max: 2_500 }), fc.constantFrom('products(first: 1000) { nodes { sku } }', '__typename', 'purchaseOrders(first: 2147483647) { totalCount }', 'ledger { height }', 'product(sku: "P1") { name }'))
  .map(([count, field]) => `{ ${Array.from({ length: count }, (_, index) => `a${index}: ${field}`).join(' ')} }`);

const fragmentCycle: fc.Arbitrary<string> = fc.integer({ min: 2, max: 40 }).map((length) => {
  const fragments = Array.from({ length }, (_, index) => `fragment F${index} on Query { __typename ...F${(index + 1) % length} }`);
  return `{ ...F0 } ${fragments.join(' ')}`;
});

/** F0 spreads F1 twice, F1 spreads F2 twice, …: 2^levels paths through a short document. */
const fragmentFanOut: fc.Arbitrary<string> = fc.tuple(fc.integer({ min: 2, max: 40 }), fc.constantFrom('__typename', 'products { nodes { sku } }', 'ledger { height }')).map(([levels, leaf]) => {
  const fragments = Array.from({ length: levels }, (_, index) => `fragment F${index} on Query { ...F${index + 1} ...F${index + 1} }`);
  return `query { ...F0 } ${fragments.join(' ')} fragment F${levels} on Query { ${leaf} }`;
});

const hurtingDocument: fc.Arbitrary<{ kind: string; query: string }> = fc.oneof(
  deepValidPath.map((query) => ({ kind: 'deep nesting', query })),
  deepBraces.map((query) => ({ kind: 'deep braces', query })),
  deepListLiteral.map((query) => ({ kind: 'deep list literal', query })),
  aliasExplosion.map((query) => ({ kind: 'alias explosion', query })),
  fragmentCycle.map((query) => ({ kind: 'fragment cycle', query })),
  fragmentFanOut.map((query) => ({ kind: 'fragment fan-out', query })),
);

// ─── Bodies and transports ──────────────────────────────────────────────────────────────────────

const contentTypes = ['application/json', 'application/json', 'application/json; charset=utf-8', 'application/graphql-response+json', 'application/graphql', 'text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''];
/** Accept headers: mostly ones that admit JSON; one case in twelve admits none (answered 406 before execution). */
const accept: fc.Arbitrary<string> = fc.oneof(
  { weight: 11, arbitrary: fc.constantFrom('application/graphql-response+json', 'application/json', '', '', '*/*', 'text/html, application/json;q=0.5', 'application/graphql-response+json, multipart/mixed;deferSpec=20220824') },
  { weight: 1, arbitrary: fc.constantFrom('text/html', 'multipart/mixed; deferSpec=20220824', 'application/x-nope', 'application/json;q=0') },
);

const malformedBody: fc.Arbitrary<{ kind: string; body: string | Uint8Array }> = fc.oneof(
  { depthSize: 'xsmall' },
  fc.tuple(templated, fc.nat()).map(([value, cut]) => {
    const text = JSON.stringify(value.body);
    return { kind: 'truncated JSON', body: text.slice(0, cut % Math.max(1, text.length)) };
  }),
  fc.constantFrom('', 'null', '0', '-0', '"query"', '[]', '[null]', '{}', '{"query": null}', '{"query": 5}', '{"query": ["{ __typename }"]}', '{"query": {"a": 1}}',
    '{"query": "{ __typename }", "variables": "{}"}', '{"query": "{ __typename }", "variables": [1]}', '{"query": "{ __typename }", "operationName": 7}',
    '{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "x"}}}', '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}}',
    '{"query": "query($f: Int) { products(first: $f) { totalCount } }", "variables": {"f": NaN}}', '{"query": "query($f: Float) { notes(where: {ratio: {eq: $f}}) { totalCount } }", "variables": {"f": Infinity}}',
    '{"query": "query($f: Float) { notes(where: {ratio: {eq: $f}}) { totalCount } }", "variables": {"f": 1e400}}', '{"query": "query($f: Float) { notes(where: {ratio: {gt: $f}}) { totalCount } }", "variables": {"f": -0}}',
    '{"query": "{ __typename }", "query": "mutation { deleteNote(id: 1) { note { id } } }"}', '{"__proto__": {"query": "{ __typename }"}}', '\uFEFF{"query": "{ __typename }"}',
    '{"query": "{ __typename }"}garbage', '{"query": "{ __typename }"', "{'query': '{ __typename }'}", '{"query": "\\ud800"}', '{"query": "{ product(sku: \\"\\udc00\\") { sku } }"}').map((body) => ({ kind: 'malformed JSON', body })),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: 'random bytes', body: bytes })),
  fc.tuple(fc.constantFrom('{"query": "{ product(sku: \\"', '{"query": "{ __typename }", "variables": {"x": "'), fc.uint8Array({ minLength: 1, maxLength: 16 }).map((bytes) => bytes.map((byte) => byte | 0x80))).map(([prefix, bad]) => ({
    kind: 'invalid UTF-8', body: Buffer.concat([Buffer.from(prefix), Buffer.from(bad), Buffer.from(prefix.includes('sku') ? '\\") { sku } }"}' : '"}}')]),
  })),
  fc.array(fc.oneof(templated.map((value) => value.body), weirdJson), { minLength: 0, maxLength: 40 }).map((batch) => ({ kind: 'batched request', body: JSON.stringify(batch) })),
);

/** Bodies at and past the size limits, and variables nested far deeper than any input type. */
const hugeBody: fc.Arbitrary<{ kind: string; body: string | Uint8Array }> = fc.oneof(
  fc.integer({ min: fuzzLimits.bodyBytesMax - 8_000, max: fuzzLimits.bodyBytesMax + 8_000 }).map((length) => ({ kind: 'huge body', body: JSON.stringify({ query: 'query($x: String) { product(sku: $x) { sku } }', variables: { x: 'y'.repeat(length) } }) })),
  fc.integer({ min: fuzzLimits.documentBytesMax - 2_000, max: fuzzLimits.documentBytesMax + 8_000 }).map((length) => ({ kind: 'huge document', body: JSON.stringify({ query: `{ __typename ${' '.repeat(length)}}` }) })),
  fc.integer({ min: 100, max: 60_000 }).map((depth) => ({ kind: 'deep JSON variables', body: `{"query": "query($p: JSON!) { createNote(input: {author: \\"globex\\", body: \\"deep\\", payload: $p}) { note { id } } }", "variables": {"p": ${'['.repeat(depth)}1${']'.repeat(depth)}}}` })),
);

const getTarget: fc.Arbitrary<{ kind: string; target: string }> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.oneof(templated.map((value) => String((value.body as { query?: unknown }).query ?? '')), randomDocument), fc.option(weirdJson, { nil: undefined })).map(([query, variables]) => ({
    kind: 'GET document', target: `/graphql?query=${encodeURIComponent(query)}${variables === undefined ? '' : `&variables=${encodeURIComponent(JSON.stringify(variables) ?? '')}`}`,
  })) },
  { weight: 2, arbitrary: fc.constantFrom('/graphql', '/graphql?', '/graphql?query', '/graphql?query=', '/graphql?query=%', '/graphql?query=%zz%E0%A4%A', '/graphql?query=%7B__typename%7D&query=%7Bledger%7Bheight%7D%7D',
    '/graphql?query=%7B__typename%7D&variables=%7B', '/graphql?query=%7B__typename%7D&variables=null&operationName=%00', '/graphql?query=mutation%7BdeleteNote(id:1)%7Bnote%7Bid%7D%7D%7D',
    '/graphql?query=%7B__typename%7D&extensions=%7B%22persistedQuery%22:1%7D', '/graphql?query=%ED%A0%80', '/graphql?query=%C0%AF', '/graphql?query=%7B__typename%7D#frag', '/graphql/?query=%7B__typename%7D',
    '/GRAPHQL?query=%7B__typename%7D', '/graphql;x?query=%7B__typename%7D', '/graphql?query=%7Bproducts(first:-1)%7Btotalcount%7D%7D', '/graphql?query=subscription%7BnoteChanged%7Bnode%7Bid%7D%7D%7D')
    .map((target) => ({ kind: 'GET odd query string', target })) },
  { weight: 1, arbitrary: fc.integer({ min: 8_000, max: 40_000 }).map((length) => ({ kind: 'GET long query string', target: `/graphql?query=${encodeURIComponent(`{ __typename ${' '.repeat(length)}}`)}` })) },
);

const caller = fc.tuple(fc.constantFrom(...fuzzPartners), fc.constantFrom('', '', '', 'auditor', 'buyer,auditor'));

/** One fuzz case: mostly POSTed GraphQL, with every other shape mixed in. */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc.tuple(
  caller,
  fc.oneof(
    { weight: 20, arbitrary: templated.map((value) => ({ kind: value.kind, body: JSON.stringify(value.body) as string | Uint8Array, method: 'POST', target: '/graphql' })) },
    { weight: 5, arbitrary: randomDocument.map((query) => ({ kind: 'random document', body: JSON.stringify({ query }) as string | Uint8Array, method: 'POST', target: '/graphql' })) },
    { weight: 4, arbitrary: hurtingDocument.map((value) => ({ kind: value.kind, body: JSON.stringify({ query: value.query }) as string | Uint8Array, method: 'POST', target: '/graphql' })) },
    { weight: 4, arbitrary: malformedBody.map((value) => ({ ...value, method: 'POST', target: '/graphql' })) },
    { weight: 1, arbitrary: hugeBody.map((value) => ({ ...value, method: 'POST', target: '/graphql' })) },
    { weight: 4, arbitrary: getTarget.map((value) => ({ ...value, body: null, method: 'GET' })) },
    { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD').map((method) => ({ kind: `method ${method}`, body: method === 'HEAD' || method === 'OPTIONS' ? null : '{"query": "{ __typename }"}', method, target: '/graphql' })) },
  ),
  fc.constantFrom(...contentTypes),
  accept,
  fc.constantFrom('', '', '', '', 'x-apollo-operation-name', 'apollo-require-preflight'),
).map(([[partner, roles], request, contentType, acceptHeader, extraHeader]): FuzzCase => {
  // Bodies sent as JSON get a JSON content type most of the time, so most cases reach the executor.
  const type = request.method === 'POST' && typeof request.body === 'string' && !request.kind.startsWith('malformed') && contentType !== 'application/json' && request.kind.length % 3 !== 0 ? 'application/json' : contentType;
  const headers: Record<string, string> = {};
  if (type !== '' && request.body !== null) headers['content-type'] = type;
  if (acceptHeader !== '') headers['accept'] = acceptHeader;
  if (extraHeader !== '') headers[extraHeader] = 'Q';
  return { kind: request.kind, partner, roles, method: request.method, target: request.target, headers, body: request.body };
});

