// The PostgreSQL connector, for servers (through a pg.Pool) and for PGlite (in-process): the same
// introspection, reads, writes, capture and replica over the SqlExecutor seam. Table models are
// introspected once per schema and cached; codecs per column come from them.
import type { PGlite } from '@electric-sql/pglite';
import { EntenteError } from '../../common/errors.ts';
import type {
  Connector,
  ConnectorCapabilities,
  ConnectorLimits,
  DatabaseModel,
  IntrospectOptions,
  TableRef,
} from '../connector.ts';
import { redactUrl, type OpenConnectorOptions } from '../index.ts';
import { createOutboxCapture } from './postgres-capture.ts';
import { createLogicalCapture } from './postgres-logical-capture.ts';
import { privilegeError, valueError, writeError } from './postgres-errors.ts';
import { defaultSchemasQuery, introspectionQuery, isInternalSchema, parseIntrospection } from './postgres-introspector.ts';
import { listNested } from './postgres-nested-reader.ts';
import { count, list, listGrouped, loadByKeys, type ReaderContext } from './postgres-reader.ts';
import { createReplicaStore } from './postgres-replica.ts';
import { tableCodecs, type TableCodecs } from './postgres-sql.ts';
import { write } from './postgres-writer.ts';
import { openPgExecutor } from './postgres-session.ts';
import { createPgliteExecutor, type SqlExecutor } from './sql-executor.ts';
import { openPglite } from './pglite-open.ts';

export const postgresLimits: ConnectorLimits = {
  pageSizeMax: 1000,
  keysPerLoadMax: 1000,
  operationsPerWriteMax: 1000,
};

function capabilitiesFor(family: 'postgres' | 'pglite'): ConnectorCapabilities {
  return {
    transactionalDdl: true,
    returning: true,
    ilike: true,
    arrays: true,
    // The capture reader polls: a NOTIFY from the writers would serialise their commits.
    changeNotifications: false,
    // On PGlite (one session) transactions are serialised, never concurrent; still atomic.
    multiStatementTransactions: true,
    // Triggers work on both; logical decoding needs a server (wal_level = logical) and is chosen by option.
    captureMethods: family === 'postgres' ? ['outbox-trigger', 'logical-decoding'] : ['outbox-trigger'],
    // PGlite never syncs its files (see ConnectorCapabilities.durableCommits).
    durableCommits: family === 'postgres',
    // listNested: a list with its nested relations in one statement (correlated json subqueries).
    nestedReads: true,
  };
}

export async function openPostgresConnector(url: string, options: OpenConnectorOptions = {}): Promise<Connector> {
  const { executor, pooled } = await openPgExecutor(url, describeServer(url));
  if (pooled && options.capture === 'logical-decoding') {
    await executor.close().catch(() => undefined);
    throw new EntenteError('CONFIG_INVALID', 'Logical-decoding capture opens a replication connection, which a pooler (PgBouncer) does not pass on. Point the URL at PostgreSQL itself, or leave capture at its default (triggers), which works through the pooler.');
  }
  return createPostgresConnector(executor, options, url);
}

/** `pglite:memory` (a fresh in-memory database) or `pglite:<directory>` (kept on disk). */
export async function openPgliteConnector(url: string, options: OpenConnectorOptions = {}): Promise<Connector> {
  // Refused before the database is created: it would be left open by the refusal.
  if (options.capture === 'logical-decoding') throw logicalOnPglite();
  const location = url.replace(/^pglite:(\/\/)?/i, '');
  if (location === '') throw new EntenteError('CONFIG_INVALID', 'A PGlite URL names a directory or "memory": pglite:memory or pglite:./data/entente.');
  const { db } = await openPglite(location === 'memory' ? null : location);
  return createPostgresConnector(await createPgliteExecutor(db, { ownsDatabase: true }), options);
}

/** A connector on a PGlite instance the caller owns (and closes). */
export async function createPgliteConnector(db: PGlite, options: OpenConnectorOptions = {}): Promise<Connector> {
  return createPostgresConnector(await createPgliteExecutor(db, { ownsDatabase: false }), options);
}

/** `connectionString`: the server's URL, needed for logical-decoding capture's replication connection. */
export function createPostgresConnector(executor: SqlExecutor, options: OpenConnectorOptions = {}, connectionString?: string): Connector {
  const family = executor.family;
  const logical = options.capture === 'logical-decoding';
  if (logical && (family !== 'postgres' || connectionString === undefined)) {
    throw logicalOnPglite();
  }
  if (options.capture !== undefined && !capabilitiesFor(family).captureMethods.includes(options.capture)) {
    throw new EntenteError('CONFIG_INVALID', `PostgreSQL capture is 'outbox-trigger' (the default) or 'logical-decoding', not '${options.capture}'.`);
  }
  const capabilities = capabilitiesFor(family);
  const schemaModels = new Map<string, Promise<DatabaseModel>>();

  const introspect = async (introspectOptions: IntrospectOptions = {}): Promise<DatabaseModel> => {
    const schemas = introspectOptions.schemas ?? options.schemas ?? (await defaultSchemas(executor));
    const [row] = await executor.query(introspectionQuery, [formatTextArray(schemas.filter((schema) => !isInternalSchema(schema) || introspectOptions.schemas !== undefined))]);
    return parseIntrospection(row?.['model'] ?? '{}', family);
  };

  const tables = async (ref: TableRef): Promise<TableCodecs> => {
    const find = async (): Promise<TableCodecs | undefined> => {
      let model = schemaModels.get(ref.schema);
      if (model === undefined) {
        model = introspect({ schemas: [ref.schema] });
        schemaModels.set(ref.schema, model);
        model.catch(() => schemaModels.delete(ref.schema));
      }
      const table = (await model).tables.find((candidate) => candidate.name === ref.name);
      return table === undefined ? undefined : cachedCodecs(table);
    };
    const found = await find();
    if (found !== undefined) return found;
    schemaModels.delete(ref.schema);
    const refreshed = await find();
    if (refreshed !== undefined) return refreshed;
    throw new EntenteError('DB_NOT_FOUND', `No table or view ${ref.schema}.${ref.name} is visible to this role; check the name, or GRANT USAGE ON SCHEMA ${ref.schema} and SELECT on the table.`);
  };
  const codecCache = new WeakMap<object, TableCodecs>();
  const cachedCodecs = (table: Parameters<typeof tableCodecs>[0]): TableCodecs => {
    let codecs = codecCache.get(table);
    if (codecs === undefined) {
      codecs = tableCodecs(table);
      codecCache.set(table, codecs);
    }
    return codecs;
  };
  const refreshTables = (): void => schemaModels.clear();

  const reader: ReaderContext = { session: executor, tables, limits: postgresLimits };
  const readHint = 'the role needs SELECT on the table (GRANT SELECT ON <table> TO <role>) and USAGE on its schema';
  const reading = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw valueError(privilegeError(error, readHint));
    }
  };
  // Capture and replica apply run on the ledger lane: under load, the clients' writes fill the pool's
  // queue, and a capture read waiting there held every change behind them (bench:gateway at 500/s: the
  // read stage's p50 was ~30 ms, of a few ms of work).
  const ledgerLane = executor.ledgerLane();
  const capture = logical && connectionString !== undefined
    ? createLogicalCapture({ executor: ledgerLane, tables, refreshTables, connectionString })
    : createOutboxCapture({ executor: ledgerLane, tables, refreshTables });
  const replica = createReplicaStore({ executor: ledgerLane, tables, refreshTables });

  return {
    family,
    capabilities,
    limits: postgresLimits,
    introspect,
    loadByKeys: (table, keyColumns, keys) => reading(() => loadByKeys(reader, table, keyColumns, keys)),
    list: (query) => reading(() => list(reader, query, capabilities.ilike)),
    count: (table, where) => reading(() => count(reader, table, where, capabilities.ilike)),
    listGrouped: (query) => reading(() => listGrouped(reader, query, capabilities.ilike)),
    listNested: (query) => reading(() => listNested(reader, query, capabilities.ilike)),
    async write(operations, writeOptions = {}) {
      try {
        return await write(executor, tables, postgresLimits, operations, writeOptions, logical);
      } catch (error) {
        throw writeError(error);
      }
    },
    capture,
    replica,
    statementCount: () => executor.statementCount(),
    async close() {
      await capture.stop();
      await executor.close();
    },
  };
}

function logicalOnPglite(): EntenteError {
  return new EntenteError('CONFIG_INVALID', 'Logical-decoding capture needs a PostgreSQL server opened by URL; PGlite has no replication connections. Leave capture at its default (triggers) here.');
}

async function defaultSchemas(executor: SqlExecutor): Promise<readonly string[]> {
  const [row] = await executor.query(defaultSchemasQuery);
  return (JSON.parse(row?.['schemas'] ?? '[]') as string[]).filter((schema) => !isInternalSchema(schema));
}

function formatTextArray(values: readonly string[]): string {
  return `{${values.map((value) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

function describeServer(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return redactUrl(url);
  }
}
