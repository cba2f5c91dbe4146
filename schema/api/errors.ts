// Deliberate errors of the generated API: GraphQL errors with a stable `code` extension. Their text
// never contains row values, and "absent" and "not yours" read the same, so no error hints that a
// forbidden row exists.
import { GraphQLError } from 'graphql';

export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}

export function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'NOT_FOUND' } });
}

export function badUserInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}
