// The MySQL/MariaDB connector: two mysql2 pools (the clients' and the ledger lane's), sessions pinned to
// UTC, utf8mb4 and a strict sql_mode, and the contract's five parts (introspect, read, write, capture,
// replica) wired to them.
//
//   const connector = await openMysqlConnector('mysql://user:password@host:3306/shop');
//
// Capture is trigger + outbox (see mysql-capture.ts). Binary-log capture (ROW format, via
// @vlasky/zongji) is not offered: asking for it fails with DB_UNSUPPORTED naming what the server lacks.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mysql, { type SslOptions } from 'mysql2';
import type { Pool as PromisePool, PoolConnection as PromisePoolConnection } from 'mysql2/promise';
import { EntenteError } from '../../common/errors.ts';
import { LEDGER_LANE_CONNECTIONS } from '../ledger-lane.ts';
import type { Connector, ConnectorCapabilities, ConnectorLimits, TableRef } from '../connector.ts';
import { createTriggerCapture } from './mysql-capture.ts';
import { ententeSqlMode, translateConnectError, translateQueryError, type ConnectionTarget } from './mysql-errors.ts';
import { introspectMysql, type IntrospectedTable } from './mysql-introspector.ts';
import { count, list, listGrouped, loadByKeys } from './mysql-reader.ts';
import { createReplicaStore } from './mysql-replica.ts';
import { quoteString, tableKey, type Sql } from './mysql-sql.ts';
import { applyOperations, translateWriteError, type SessionRun, type StatementResult } from './mysql-writer.ts';

export interface MysqlConnectorOptions {
  /** Pool size; default 8. */
  readonly connectionsMax?: number;
  /** How often waitForChanges polls the outbox; default 25 ms. */
  readonly pollIntervalMs?: number;
  readonly connectTimeoutMs?: number;
  /** How long a capture read lets an open outside transaction at the tail be closed by others before sealing it; default 10 ms. */
  readonly sealDelayMs?: number;
  /** 'outbox-trigger' (default) or 'binlog' (refused, see capabilities). */
  readonly captureMethod?: 'outbox-trigger' | 'binlog';
}

export const mysqlLimits: ConnectorLimits = { pageSizeMax: 1_000, keysPerLoadMax: 1_000, operationsPerWriteMax: 1_000 };

/** Errors that mean the connection died (server restart, KILL): a read may be retried once on a new connection. */
const connectionLostCodes = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN', 'ER_QUERY_INTERRUPTED']);

/**
 * TLS, asked for in the URL with the MySQL client's own option names: `ssl-mode` = DISABLED (the
 * default), REQUIRED (encrypted, certificate not checked), VERIFY_CA (issued by a trusted authority) or
 * VERIFY_IDENTITY (that, and for this host name); `ssl-ca` = a PEM file of the authorities to trust
 * instead of the system's.
 */
export interface MysqlTls {
  readonly mode: 'REQUIRED' | 'VERIFY_CA' | 'VERIFY_IDENTITY';
  readonly caFile: string | null;
}

export type MysqlTarget = ConnectionTarget & { readonly password: string; readonly tls: MysqlTls | null };

const sslModes = ['DISABLED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'] as const;
const urlOptions = ['ssl-mode', 'ssl-ca'];

export function parseMysqlUrl(url: string): MysqlTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new EntenteError('CONFIG_INVALID', `'${url.replace(/\/\/[^@]*@/, '//…@')}' is not a URL; use mysql://user:password@host:3306/database`);
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw new EntenteError('CONFIG_INVALID', `the MySQL connector takes mysql:// or mariadb:// URLs, not ${parsed.protocol}//`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '') throw new EntenteError('CONFIG_INVALID', 'the MySQL URL names no database: use mysql://user:password@host:3306/database');
  const unknown = [...parsed.searchParams.keys()].filter((key) => !urlOptions.includes(key));
  if (unknown.length > 0) throw new EntenteError('CONFIG_INVALID', `the MySQL URL has options the connector does not know: ${unknown.join(', ')}; it reads ${urlOptions.join(' and ')} (e.g. ?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ssl/mysql-ca.pem)`);
  const mode = (parsed.searchParams.get('ssl-mode') ?? 'DISABLED').toUpperCase();
  if (!(sslModes as readonly string[]).includes(mode)) throw new EntenteError('CONFIG_INVALID', `ssl-mode=${mode} is not one the connector takes: use ${sslModes.join(', ')} (PREFERRED's silent fallback to plain text is not offered)`);
  const caFile = parsed.searchParams.get('ssl-ca');
  if (caFile !== null && (mode === 'DISABLED' || mode === 'REQUIRED')) throw new EntenteError('CONFIG_INVALID', `ssl-ca is used only to check the server's certificate: add ssl-mode=VERIFY_CA or VERIFY_IDENTITY (ssl-mode is ${mode})`);
  return {
    host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 3306), user: decodeURIComponent(parsed.username || 'root'), password: decodeURIComponent(parsed.password), database,
    tls: mode === 'DISABLED' ? null : { mode: mode as MysqlTls['mode'], caFile },
  };
}

/** mysql2's `ssl` option for a target's TLS settings (the CA file is read here, with an error naming it). */
function sslOption(tls: MysqlTls | null): SslOptions | undefined {
  if (tls === null) return undefined;
  let ca: string | undefined;
  if (tls.caFile !== null) {
    try {
      ca = readFileSync(tls.caFile, 'utf8');
    } catch (error) {
      throw new EntenteError('CONFIG_INVALID', `ssl-ca ${tls.caFile} in the MySQL URL cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)}): give the path of a PEM file of the authorities to trust`, { cause: error });
    }
  }
  // mysql2 checks the host name only when asked (verifyIdentity); VERIFY_CA checks only the issuer.
  return { rejectUnauthorized: tls.mode !== 'REQUIRED', verifyIdentity: tls.mode === 'VERIFY_IDENTITY', ...(ca === undefined ? {} : { ca }) };
}

/** One mysql2 pool with its session setup: auto-committed statements and transactions on it. */
interface Lane {
  /** Auto-committed statement on any of the lane's connections; a read is retried once if its connection had died. */
  readonly execute: SessionRun;
  readonly run: (statement: Sql) => Promise<readonly Record<string, unknown>[]>;
  /** One transaction on one connection (commit on success), its changes marked with `origin` for capture. */
  transaction<T>(work: (run: SessionRun) => Promise<T>, origin?: string): Promise<T>;
  /** The server's version string, with the driver's error untranslated (the caller knows it is connecting). */
  version(): Promise<string>;
  end(): Promise<void>;
}

function openLane(target: MysqlTarget, connectionLimit: number, connectTimeoutMs: number, countStatement: () => void): Lane {
  const ssl = sslOption(target.tls);
  const core = mysql.createPool({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    charset: 'UTF8MB4_BIN',
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    jsonStrings: true,
    connectionLimit,
    connectTimeout: connectTimeoutMs,
    multipleStatements: false,
    ...(ssl === undefined ? {} : { ssl }),
  });
  // Every session: UTC (TIMESTAMP values are instants), strict values, READ COMMITTED (fresh snapshot
  // per statement for the capture reader; no gap locks when pruning the outbox).
  const sessionSetup = `SET time_zone = '+00:00', SESSION sql_mode = ${quoteString(ententeSqlMode)}`;
  core.on('connection', (connection) => {
    connection.query(sessionSetup, () => undefined);
    connection.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', () => undefined);
  });
  const pool: PromisePool = core.promise();

  const onConnection = (connection: PromisePoolConnection): SessionRun => async (statement: Sql) => {
    countStatement();
    const [raw] = await connection.query(statement.text, statement.params as unknown[]);
    return toResult(raw);
  };
  const execute: SessionRun = async (statement) => {
    for (let attempt = 1; ; attempt += 1) {
      countStatement();
      try {
        const [raw] = await pool.query(statement.text, statement.params as unknown[]);
        return toResult(raw);
      } catch (error) {
        const code = (error as { code?: string }).code;
        const retriable = attempt === 1 && code !== undefined && connectionLostCodes.has(code) && /^\s*(SELECT|SHOW)\b/i.test(statement.text);
        if (!retriable) throw translateQueryError(error, target);
      }
    }
  };

  async function transaction<T>(work: (run: SessionRun) => Promise<T>, origin?: string): Promise<T> {
    let connection: PromisePoolConnection;
    try {
      connection = await pool.getConnection();
    } catch (error) {
      throw translateConnectError(error, target);
    }
    const session = onConnection(connection);
    let healthy = true;
    try {
      // Marks the changes of this transaction for the capture triggers: who asked (origin) and which
      // transaction (token), so that back-to-back writes on one pooled connection stay separate.
      await session({ text: 'SET @entente_origin = ?, @entente_tx = ?', params: [origin ?? null, randomUUID()] });
      await session({ text: 'START TRANSACTION', params: [] });
      const result = await work(session);
      await session({ text: 'COMMIT', params: [] });
      return result;
    } catch (error) {
      await session({ text: 'ROLLBACK', params: [] }).catch(() => {
        healthy = false;
      });
      throw translateQueryError(translateWriteError(error), target);
    } finally {
      if (healthy) {
        await session({ text: 'SET @entente_origin = NULL, @entente_tx = NULL', params: [] }).catch(() => {
          healthy = false;
        });
      }
      // A connection whose origin could not be cleared must not carry it into someone else's writes.
      if (healthy) connection.release();
      else connection.destroy();
    }
  }

  return {
    execute,
    run: async (statement) => (await execute(statement)).rows,
    transaction,
    async version() {
      const [rows] = await pool.query('SELECT VERSION() AS version');
      return String((rows as Record<string, unknown>[])[0]?.['version'] ?? '');
    },
    end: () => pool.end(),
  };
}

function toResult(raw: unknown): StatementResult {
  if (Array.isArray(raw)) return { rows: raw as Record<string, unknown>[], affectedRows: 0, insertId: 0 };
  const header = raw as { affectedRows?: number; insertId?: number | string };
  return { rows: [], affectedRows: header.affectedRows ?? 0, insertId: header.insertId ?? 0 };
}

export async function openMysqlConnector(url: string, options: MysqlConnectorOptions = {}): Promise<Connector> {
  const target = parseMysqlUrl(url);
  let statements = 0;
  const countStatement = (): void => {
    statements += 1;
  };
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const main = openLane(target, options.connectionsMax ?? 8, connectTimeoutMs, countStatement);
  // Capture and replica apply run on the ledger lane, never queueing behind the clients' statements
  // (see ../ledger-lane.ts). mysql2 opens a pool's connections on first use.
  const ledgerLane = openLane(target, LEDGER_LANE_CONNECTIONS, connectTimeoutMs, countStatement);
  const endLanes = (): Promise<unknown> => Promise.all([main.end(), ledgerLane.end()]);
  const { run, transaction } = main;
  let info: { version: string; isMariadb: boolean };
  try {
    const version = await main.version();
    info = { version, isMariadb: /mariadb/i.test(version) };
  } catch (error) {
    await endLanes().catch(() => undefined);
    throw translateConnectError(error, target);
  }

  const tables = new Map<string, IntrospectedTable>();
  /** Table models, cached; a miss is introspected on the lane of whoever asks. */
  const resolverOn = (lane: Lane) => async (table: TableRef, fresh = false): Promise<IntrospectedTable> => {
    const key = tableKey(table);
    const cached = tables.get(key);
    if (cached !== undefined && !fresh) return cached;
    const introspection = await introspectMysql(lane.run, { schemas: [table.schema], tableNames: [table.name] });
    const found = introspection.tables.get(key);
    if (found === undefined) throw new EntenteError('DB_NOT_FOUND', `table ${table.schema}.${table.name} does not exist (or user '${target.user}' may not see it)`);
    tables.set(key, found);
    return found;
  };
  const resolve = resolverOn(main);

  if (options.captureMethod === 'binlog') {
    const refusal = await binlogUnavailable(run, target).catch((error: unknown) => error);
    await endLanes();
    throw refusal;
  }

  const capabilities: ConnectorCapabilities = {
    transactionalDdl: false,
    returning: false,
    // Emulated (LOWER(…) LIKE LOWER(…) under a binary collation), but case-insensitive as promised.
    ilike: true,
    arrays: false,
    changeNotifications: false,
    multiStatementTransactions: true,
    captureMethods: ['outbox-trigger'],
    durableCommits: true,
  };
  const pollIntervalMs = options.pollIntervalMs ?? 25;
  const capture = createTriggerCapture({ database: target.database, user: target.user, isMariadb: info.isMariadb, pollIntervalMs, sealDelayMs: options.sealDelayMs ?? 10, run: ledgerLane.run, execute: ledgerLane.execute, resolve: resolverOn(ledgerLane), transaction: (work) => ledgerLane.transaction(work) });
  const replica = createReplicaStore({ database: target.database, isMariadb: info.isMariadb, run: ledgerLane.run, resolve: resolverOn(ledgerLane), transaction: (work) => ledgerLane.transaction(work) });
  let closed = false;

  return {
    family: 'mysql',
    capabilities,
    limits: mysqlLimits,
    async introspect(introspectOptions) {
      const introspection = await introspectMysql(run, { schemas: introspectOptions?.schemas ?? [target.database] });
      for (const [key, table] of introspection.tables) tables.set(key, table);
      return introspection.model;
    },
    async loadByKeys(table, keyColumns, keys) {
      return loadByKeys(run, await resolve(table), keyColumns, keys, mysqlLimits);
    },
    async list(query) {
      return list(run, await resolve(query.table), query, mysqlLimits);
    },
    async count(table, where) {
      return count(run, await resolve(table), where);
    },
    async listGrouped(query) {
      return listGrouped(run, await resolve(query.table), query, mysqlLimits);
    },
    async write(operations, writeOptions) {
      if (operations.length > mysqlLimits.operationsPerWriteMax) {
        throw new EntenteError('LIMIT_EXCEEDED', `a write of ${operations.length} operations exceeds ${mysqlLimits.operationsPerWriteMax}; split it into several transactions`);
      }
      for (const operation of operations) await resolve(operation.table);
      return transaction((session) => applyOperations(session, resolve, operations), writeOptions?.origin);
    },
    capture,
    replica,
    statementCount: () => statements,
    async close() {
      if (closed) return;
      closed = true;
      await endLanes();
    },
  };
}

/** Why binlog capture cannot be used here, as an error naming the fix. */
async function binlogUnavailable(run: (statement: Sql) => Promise<readonly Record<string, unknown>[]>, target: ConnectionTarget): Promise<EntenteError> {
  const rows = await run({ text: "SHOW VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image')", params: [] });
  const settings = new Map(rows.map((row) => [String(row['Variable_name']), String(row['Value'])]));
  if (settings.get('log_bin') !== 'ON') {
    return new EntenteError('DB_UNSUPPORTED', `binlog capture needs the binary log, which is off on ${target.host}:${target.port}: set log_bin=ON, binlog_format=ROW and binlog_row_image=FULL in the server configuration and restart it, then GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '${target.user}'@'%'. Until then use the default trigger capture (captureMethod 'outbox-trigger'), which needs none of this`);
  }
  return new EntenteError('DB_UNSUPPORTED', `binlog capture is not available in this build of Entente (the server's binlog_format is ${settings.get('binlog_format') ?? '?'}); use the default trigger capture (captureMethod 'outbox-trigger')`);
}
