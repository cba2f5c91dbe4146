// Turns mysql2 driver errors into EntenteErrors whose messages name the fix. Anything not recognised is
// rethrown unchanged: it is either a bug or something we have not seen, and hiding it would not help.
import { EntenteError } from '../../common/errors.ts';
import { certificateRefusalReason } from '../../common/tls-refusal.ts';

interface DriverError {
  readonly code?: string;
  readonly errno?: number;
  readonly sqlMessage?: string;
  readonly message: string;
}

function isDriverError(error: unknown): error is DriverError {
  return error instanceof Error && ('code' in error || 'errno' in error);
}

export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
}

const networkCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'PROTOCOL_CONNECTION_LOST']);

/** Errors of opening a connection: unreachable host, bad credentials, unknown database. */
export function translateConnectError(error: unknown, target: ConnectionTarget): unknown {
  if (!isDriverError(error)) return error;
  const where = `${target.host}:${target.port}`;
  if (error.code !== undefined && networkCodes.has(error.code)) {
    return new EntenteError('DB_UNREACHABLE', `cannot reach the MySQL/MariaDB server at ${where} (${error.code}): check the host and port in the connection URL, that the server is running, and that no firewall blocks the port`, { cause: error, details: { host: target.host, port: target.port } });
  }
  if (error.code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return new EntenteError('DB_UNREACHABLE', `the MySQL/MariaDB server at ${where} offers no TLS, and the connection URL asks for it (ssl-mode): turn TLS on in the server (ssl_cert and ssl_key, then restart it), or remove ssl-mode from the URL only if the network between you is private`, { cause: error });
  }
  // mysql2 replaces the TLS error's own code with HANDSHAKE_SSL_ERROR; its message keeps the reason.
  if (error.code === 'HANDSHAKE_SSL_ERROR') {
    return new EntenteError('DB_UNREACHABLE', `the TLS certificate of the MySQL/MariaDB server at ${where} was refused (${certificateRefusalReason(error) ?? error.message}): give the authority that issued it with ssl-ca=<PEM file> in the URL, connect by the host name the certificate names (VERIFY_IDENTITY), or use ssl-mode=VERIFY_CA to check the issuer only`, { cause: error });
  }
  if (error.code === 'ER_ACCESS_DENIED_ERROR' || error.errno === 1045 || error.errno === 1698) {
    return new EntenteError('DB_AUTH_FAILED', `the MySQL/MariaDB server at ${where} rejected user '${target.user}': check the user name and password in the connection URL, and that the user may connect from this host (CREATE USER '${target.user}'@'<this host>' …)${'tls' in target && target.tls === null ? `. An account created REQUIRE SSL also needs TLS: add ssl-mode=VERIFY_IDENTITY (or REQUIRED) to the URL` : ''}`, { cause: error, details: { user: target.user } });
  }
  if (error.code === 'ER_DBACCESS_DENIED_ERROR' || error.errno === 1044) {
    return new EntenteError('DB_PRIVILEGE_MISSING', `user '${target.user}' may not use database '${target.database}': run GRANT SELECT, INSERT, UPDATE, DELETE ON \`${target.database}\`.* TO '${target.user}'@'%'`, { cause: error });
  }
  if (error.code === 'ER_BAD_DB_ERROR' || error.errno === 1049) {
    return new EntenteError('DB_NOT_FOUND', `database '${target.database}' does not exist on ${where}: check the database name in the connection URL (or CREATE DATABASE \`${target.database}\` CHARACTER SET utf8mb4)`, { cause: error });
  }
  return translateQueryError(error, target);
}

/** Sql modes Entente's own sessions run in; legacy writers may use laxer ones (see README). */
export const ententeSqlMode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE';

const strictModeErrnos = new Set([1048, 1101, 1264, 1265, 1292, 1366, 1367, 1406]);

/** Errors of statements: missing privileges, strict-mode rejections, connection loss mid-query. */
export function translateQueryError(error: unknown, target: ConnectionTarget): unknown {
  if (!isDriverError(error)) return error;
  const message = error.sqlMessage ?? error.message;
  if (error.code !== undefined && networkCodes.has(error.code)) {
    return new EntenteError('DB_UNREACHABLE', `lost the connection to the MySQL/MariaDB server at ${target.host}:${target.port} (${error.code}): the statement may or may not have been applied; retry once the server is reachable`, { cause: error });
  }
  if (error.errno === 1142 || error.errno === 1143 || error.errno === 1227 || error.errno === 1044) {
    return new EntenteError('DB_PRIVILEGE_MISSING', `user '${target.user}' lacks a privilege: ${message}. Grant it, e.g. GRANT SELECT, INSERT, UPDATE, DELETE ON \`${target.database}\`.* TO '${target.user}'@'%'`, { cause: error });
  }
  if (error.errno !== undefined && strictModeErrnos.has(error.errno)) {
    return new EntenteError('CONFIG_INVALID', `the server rejected a value: ${message}. Entente runs its sessions with sql_mode='${ententeSqlMode}' so values are never silently truncated or zeroed, even when the server's default sql_mode is laxer; fix the value (or the column type) rather than the mode`, { cause: error, details: { errno: error.errno } });
  }
  return error;
}

export function triggerPrivilegeError(user: string, database: string, cause: unknown): EntenteError {
  return new EntenteError('DB_PRIVILEGE_MISSING', `user '${user}' cannot install change capture in database '${database}': capture uses triggers and its own tables. Run GRANT TRIGGER, CREATE, ALTER, INDEX, SELECT, INSERT, UPDATE, DELETE, LOCK TABLES ON \`${database}\`.* TO '${user}'@'%'; (LOCK TABLES: MySQL replaces a changed trigger under the table's lock). When binary logging is on, also SET GLOBAL log_bin_trust_function_creators = 1 or grant SUPER.`, { cause });
}
