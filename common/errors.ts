// Expected operating errors (an unreachable database, a bad token, a tampered block) are EntenteErrors:
// a stable machine-readable code plus a message that says what is wrong and how to fix it.
// Programmer errors are not EntenteErrors: they are assertions (see ./assert.ts) and are never caught.

export type EntenteErrorCode =
  | 'USAGE'
  | 'NOT_IMPLEMENTED'
  | 'CONFIG_INVALID'
  | 'DB_UNREACHABLE'
  | 'DB_AUTH_FAILED'
  | 'DB_PRIVILEGE_MISSING'
  | 'DB_UNSUPPORTED'
  | 'DB_CONFLICT'
  | 'DB_NOT_FOUND'
  | 'CAPTURE_NOT_INSTALLED'
  | 'LEDGER_CORRUPT'
  | 'LEDGER_INVALID'
  | 'PROOF_INVALID'
  | 'SCHEMA_INVALID'
  | 'SCHEMA_CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'LIMIT_EXCEEDED'
  | 'PEER_REJECTED'
  | 'UNAVAILABLE';

export interface EntenteErrorOptions {
  readonly cause?: unknown;
  /** Plain data safe to show the caller; never rows or values the caller may not see. */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

export class EntenteError extends Error {
  readonly code: EntenteErrorCode;
  readonly details: Readonly<Record<string, string | number | boolean>>;

  constructor(code: EntenteErrorCode, message: string, options: EntenteErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EntenteError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isEntenteError(value: unknown, code?: EntenteErrorCode): value is EntenteError {
  return value instanceof EntenteError && (code === undefined || value.code === code);
}
