// Opaque Relay cursors: the values of the effective order columns of a row, tagged with that order so
// a cursor from one ordering is refused by another instead of silently skipping rows.
import { GraphQLError } from 'graphql';
import type { OrderTerm, Row, Value } from '../../connectors/connector.ts';

interface CursorBody {
  readonly o: string;
  readonly v: readonly Value[];
}

export const cursorLengthMax = 4_096;

function orderTag(order: readonly OrderTerm[]): string {
  return order.map((term) => `${term.column}:${term.direction}`).join(',');
}

export function encodeCursor(order: readonly OrderTerm[], row: Row): string {
  const body: CursorBody = { o: orderTag(order), v: order.map((term) => row[term.column] ?? null) };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

function badCursor(reason: string): GraphQLError {
  return new GraphQLError(`Invalid cursor: ${reason}. Use an endCursor from a previous page of the same query.`, { extensions: { code: 'BAD_USER_INPUT' } });
}

export function decodeCursor(cursor: string, order: readonly OrderTerm[]): readonly Value[] {
  if (cursor.length > cursorLengthMax) throw badCursor('too long');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not a cursor Entente issued');
  }
  if (typeof body !== 'object' || body === null || !('o' in body) || !('v' in body) || !Array.isArray(body.v)) throw badCursor('not a cursor Entente issued');
  if (body.o !== orderTag(order)) throw badCursor('it was issued for a different orderBy');
  if (body.v.length !== order.length) throw badCursor('wrong number of values');
  return body.v as Value[];
}
