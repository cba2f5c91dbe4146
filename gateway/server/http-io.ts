// Small, bounded helpers for node:http: reading a body with a byte limit, and writing JSON answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EntenteError } from '../../common/errors.ts';

/** Reads the whole body, refusing (LIMIT_EXCEEDED) as soon as it passes `bytesMax`. */
export async function readBody(request: IncomingMessage, bytesMax: number): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > bytesMax) throw bodyTooLarge(declared, bytesMax);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > bytesMax) throw bodyTooLarge(total, bytesMax);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function bodyTooLarge(bytes: number, bytesMax: number): EntenteError {
  return new EntenteError(
    'LIMIT_EXCEEDED',
    `The request body is larger than ${bytesMax} bytes (limits.bodyBytesMax); send a smaller request, or raise limits.bodyBytesMax in the gateway configuration.`,
    { details: { limit: 'limits.bodyBytesMax', allowed: bytesMax, atLeast: bytes } },
  );
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** A GraphQL-over-HTTP error answer produced before execution (auth, size, timeout). */
export function sendGraphQLError(response: ServerResponse, status: number, error: EntenteError, headers: Readonly<Record<string, string>> = {}): void {
  const extensions: Record<string, unknown> = { code: error.code };
  if (Object.keys(error.details).length > 0) extensions['details'] = error.details;
  sendJson(response, status, { errors: [{ message: error.message, extensions }] }, headers);
}

const jsonMediaRanges = new Set(['*/*', 'application/*', 'application/json', 'application/graphql-response+json']);

/**
 * Whether an Accept header admits a JSON answer (absent or empty: yes). Ranges with q=0 are refusals.
 * Apollo decides this only after executing the operation, so a mutation sent with `Accept: text/html`
 * would commit and still be answered 406; the gateway asks first.
 */
export function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((range) => {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const refused = parameters.some((parameter) => /^q=0(\.0*)?$/.test(parameter));
    return !refused && jsonMediaRanges.has(type);
  });
}
