// What a client may learn from an error. Deliberate errors — EntenteErrors raised by Entente code, and
// GraphQL's own syntax, validation and input errors — pass with their code and message. Anything else is
// a bug or an infrastructure failure whose message may carry internals (SQL, hostnames, row values), so
// the client gets a fixed message plus the request id, and the full error goes to the log only.
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isEntenteError } from '../../common/errors.ts';

export const maskedErrorMessage = 'Internal server error. The gateway logged the details under this request id; give it to the gateway operator.';

export interface MaskingDecision {
  readonly formatted: GraphQLFormattedError;
  /** True when the original error was hidden from the client and must be logged. */
  readonly masked: boolean;
}

/** Codes Apollo Server and graphql-js attach to errors that describe the client's own request. */
const requestErrorCodes = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'LIMIT_EXCEEDED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
]);

export function maskError(formatted: GraphQLFormattedError, error: unknown, requestId: string): MaskingDecision {
  const original = unwrapResolverError(error);
  if (isEntenteError(original)) {
    const extensions: Record<string, unknown> = { code: original.code };
    if (Object.keys(original.details).length > 0) extensions['details'] = { ...original.details };
    return { formatted: { ...formatted, message: original.message, extensions }, masked: false };
  }
  const code = formatted.extensions?.['code'];
  const isRequestError = typeof code === 'string' && requestErrorCodes.has(code);
  // A GraphQLError without an underlying cause was raised on purpose (by graphql-js or a rule).
  const isDeliberateGraphQLError = original instanceof GraphQLError && original.originalError === undefined;
  if (isRequestError || isDeliberateGraphQLError) {
    const extensions = { ...formatted.extensions };
    delete extensions['stacktrace'];
    // Apollo relabels every validation error GRAPHQL_VALIDATION_FAILED; a limit keeps its own code.
    if (typeof extensions['limit'] === 'string' && extensions['limit'].startsWith('limits.')) extensions['code'] = 'LIMIT_EXCEEDED';
    // Apollo labels a deliberate error that carries no code INTERNAL_SERVER_ERROR (its pipeline raises
    // some about the request itself, e.g. "Unsupported persisted query version"): it is the client's.
    else if (!isRequestError && extensions['code'] === 'INTERNAL_SERVER_ERROR') extensions['code'] = 'BAD_REQUEST';
    return { formatted: { ...formatted, extensions }, masked: false };
  }
  const masked: GraphQLFormattedError = {
    message: maskedErrorMessage,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
  };
  return { formatted: masked, masked: true };
}
