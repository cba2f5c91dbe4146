// What every fuzzed response must satisfy, whatever was sent: no 5xx status; a JSON body that parses
// when JSON is declared; no masked internal error (an unexpected exception means bad input reached code
// that did not expect it); no internal text (stack frames, SQL, driver errors, hosts, database names);
// and none of the markers its caller may not read — neither in plain text nor inside a base64url
// string such as a cursor.
import type { FuzzCase } from './bad-requests.ts';
import { forbiddenMarkers } from './markers.ts';

export interface FuzzOutcome {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
  readonly requestId: string | null;
}

/** Text that only an internal error carries; the hostile inputs (bad-values.ts) contain none of it. */
const internalText: readonly RegExp[] = [
  /\bat (async )?[\w.<>]+ \(/, /node_modules/, /\.(ts|js|mjs|cjs):\d+:\d+/, /__entente_/, /\$\d+::/, /\bECONN\w+/,
  /Cannot read propert/, /is not a function/, /Maximum call stack/, /\b(TypeError|RangeError|ReferenceError|SyntaxError): /,
  /invalid input syntax for/, /syntax error at or near/, /pg_catalog/,
  /entente_t_/, /(localhost|\d+\.\d+\.\d+\.\d+):5432\b/, /stack depth limit/, /out of range for type/, /invalid byte sequence/, /unsupported Unicode escape/,
];

export function problemsWith(fuzzCase: FuzzCase, outcome: FuzzOutcome): string[] {
  const problems: string[] = [];
  if (outcome.status >= 500) problems.push(`HTTP ${outcome.status}`);
  if (fuzzCase.method !== 'HEAD' && outcome.text.length > 0 && (outcome.contentType ?? '').includes('json')) {
    try {
      JSON.parse(outcome.text);
    } catch {
      problems.push('a JSON content type with a body that is not JSON');
    }
  }
  if (outcome.text.includes('INTERNAL_SERVER_ERROR')) problems.push(`a masked internal error (bad input reached code that threw unexpectedly): ${outcome.text.slice(0, 300)}`);
  for (const pattern of internalText) {
    const match = pattern.exec(outcome.text);
    if (match !== null) problems.push(`internal text ${pattern} in the response: …${outcome.text.slice(Math.max(0, match.index - 120), match.index + 120)}…`);
  }
  const forbidden = forbiddenMarkers(fuzzCase.partner);
  const searchable = [outcome.text, ...decodedBase64Strings(outcome.text)];
  for (const marker of forbidden) {
    if (searchable.some((text) => text.includes(marker))) problems.push(`LEAK: ${fuzzCase.partner} received ${marker}`);
  }
  return problems;
}

/** Every quoted string in the response that decodes as base64url to printable text (cursors, mostly). */
function decodedBase64Strings(text: string): string[] {
  const decoded: string[] = [];
  for (const match of text.matchAll(/"([A-Za-z0-9_-]{12,})"/g)) {
    const plain = Buffer.from(match[1]!, 'base64url').toString('utf8');
    if (/^[\x20-\x7e]+$/.test(plain)) decoded.push(plain);
  }
  return decoded;
}
