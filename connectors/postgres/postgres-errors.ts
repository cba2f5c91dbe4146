// PostgreSQL and network failures → EntenteErrors whose message names the fix. Anything not
// recognised passes through unchanged (it is either a bug or needs its own handling upstream).
import { EntenteError } from '../../common/errors.ts';
import { certificateRefusalReason } from '../../common/tls-refusal.ts';

interface DriverError {
  readonly code?: string;
  readonly message?: string;
}

const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNRESET']);

/** Errors met while connecting: unreachable host, TLS, bad credentials, missing database. */
export function connectionError(error: unknown, where: string): unknown {
  const { code, message = '' } = (error ?? {}) as DriverError;
  const refusal = certificateRefusalReason(error);
  if (refusal !== null) {
    return new EntenteError('DB_UNREACHABLE', `The TLS certificate of PostgreSQL at ${where} was refused (${refusal}). Give the authority that issued it with sslrootcert=<PEM file> in the URL and connect by the host name it names (sslmode=verify-full), or use sslmode=no-verify to encrypt without checking it.`, { cause: error });
  }
  if (/does not support SSL/i.test(message)) {
    return new EntenteError('DB_UNREACHABLE', `PostgreSQL at ${where} offers no TLS, and the URL asks for it (sslmode). Turn ssl on in the server (ssl_cert_file, ssl_key_file, ssl = on), or remove sslmode only if the network between you is private.`, { cause: error });
  }
  if ((code !== undefined && unreachableCodes.has(code)) || /timeout|terminated unexpectedly|Connection terminated/i.test(message)) {
    return new EntenteError('DB_UNREACHABLE', `Cannot reach PostgreSQL at ${where} (${code ?? message}). Check that the server runs, that host and port in the URL are right, and that a firewall or pg_hba.conf lets this machine in.`, { cause: error });
  }
  if (code === '28P01' || code === '28000') {
    // pg_hba.conf may admit this client only over TLS ("hostssl"): its refusal then ends in "no encryption".
    const tlsHint = /no encryption|SSL off/i.test(message) ? ' The server admits this client only over TLS: add sslmode=verify-full (or no-verify) to the URL.' : '';
    return new EntenteError('DB_AUTH_FAILED', `PostgreSQL at ${where} refused the login (${message}). Check the user name and password in the URL, or the role's LOGIN right and pg_hba.conf.${tlsHint}`, { cause: error });
  }
  if (code === '3D000') {
    return new EntenteError('DB_NOT_FOUND', `${message} at ${where}. Create it (createdb <name>) or fix the database name in the URL.`, { cause: error });
  }
  return error;
}

/** A missing privilege (SQLSTATE 42501) → DB_PRIVILEGE_MISSING naming the GRANT that fixes it. */
export function privilegeError(error: unknown, neededGrant: string): unknown {
  const { code, message = '' } = (error ?? {}) as DriverError;
  if (code === '42501') {
    return new EntenteError('DB_PRIVILEGE_MISSING', `PostgreSQL refused: ${message}. ${neededGrant.charAt(0).toUpperCase()}${neededGrant.slice(1)}.`, { cause: error });
  }
  return error;
}

/**
 * Data exceptions caused by a value the caller sent (SQLSTATE class 22: U+0000 in text or JSON, a number or
 * date out of the column's range, a LIKE pattern ending in a backslash) → USAGE. The message is fixed:
 * PostgreSQL's own text may quote a value, and only the code is needed to fix the request.
 */
const valueErrors: Readonly<Record<string, string>> = {
  '22021': 'text with a character the database encoding cannot store (such as U+0000)',
  '22P05': 'JSON with a character the database cannot store (such as \\u0000)',
  '22P02': 'text that is not a valid value of the column type',
  '22003': 'a number out of range for the column type',
  '22007': 'a date or time the database cannot read',
  '22008': 'a date or time out of the column type\'s range',
  '22001': 'text longer than the column allows',
  '22025': 'a LIKE pattern with an invalid escape (a pattern may not end in a backslash)',
  '22019': 'a LIKE pattern with an invalid escape character',
  '2201B': 'an invalid regular expression',
};

export function valueError(error: unknown): unknown {
  const code = ((error ?? {}) as DriverError).code;
  const what = code === undefined ? undefined : valueErrors[code];
  if (what === undefined) return error;
  return new EntenteError('USAGE', `PostgreSQL refused a value in this request: ${what} (SQLSTATE ${code}). Fix the value and retry.`, { cause: error, details: { sqlstate: code! } });
}

/** Constraint violations in writes → DB_CONFLICT naming the constraint. */
export function writeError(error: unknown): unknown {
  const { code, message = '' } = (error ?? {}) as DriverError & { constraint?: string };
  const constraint = (error as { constraint?: string } | undefined)?.constraint;
  if (code === '23505' || code === '23503' || code === '23514' || code === '23502' || code === '23P01') {
    return new EntenteError('DB_CONFLICT', `The write violates ${constraint === undefined ? 'a constraint' : `constraint ${constraint}`}: ${message}. Nothing of this write was applied.`, { cause: error });
  }
  return valueError(privilegeError(error, 'the role needs INSERT, UPDATE and DELETE on the table (GRANT INSERT, UPDATE, DELETE ON <table> TO <role>)'));
}
