// The one seam between the PostgreSQL connector and its driver: text in, text out. Two executors
// implement it — a pg.Pool for servers and PGlite's own in-process API — so everything above
// (introspection, reads, writes, capture, replica) is one code path. Every value crosses as PostgreSQL
// text (no driver type parsing, no global pg.types), and every session runs with the settings below,
// so both executors produce byte-identical canonical values.
import pg from 'pg';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import { EntenteError } from '../../common/errors.ts';
import { LEDGER_LANE_CONNECTIONS } from '../ledger-lane.ts';

/** Session settings the codecs rely on (timestamps in UTC, ISO dates, hex bytea, exact floats). */
export const sessionSettings: Readonly<Record<string, string>> = {
  TimeZone: 'UTC',
  DateStyle: 'ISO,YMD',
  IntervalStyle: 'postgres',
  bytea_output: 'hex',
  extra_float_digits: '1',
};

export type SqlParam = string | null;
export type TextRow = { readonly [column: string]: string | null };

export interface QueryOptions {
  /**
   * The caller runs this exact text again and again (the write statements): the server parses and plans
   * it once per connection and keeps the plan. Only for texts drawn from a small set — each distinct text
   * holds a prepared statement on every pooled connection (at most PREPARED_STATEMENTS_MAX texts).
   */
  readonly prepare?: boolean;
}

export interface SqlSession {
  /** One statement with $1… parameters; values and results as PostgreSQL text. */
  query(text: string, params?: readonly SqlParam[], options?: QueryOptions): Promise<readonly TextRow[]>;
  /** Several statements without parameters (DDL scripts). */
  script(text: string): Promise<void>;
}

export interface SqlExecutor extends SqlSession {
  readonly family: 'postgres' | 'pglite';
  /**
   * Runs `work` in one transaction (BEGIN … COMMIT, ROLLBACK on error) on one session; once more when a
   * prepared statement in it went stale (the first attempt rolled back).
   */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Calls `onNotify` for every NOTIFY on `channel`, and after reconnecting (notifications may have been missed). */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** Statements sent since opening (BEGIN and COMMIT included), the ledger lane's too. */
  statementCount(): number;
  /**
   * The executor for the ledger's own work on this database (capture reads and acknowledgements, replica
   * apply): on a server, connections of its own (at most LEDGER_LANE_CONNECTIONS, opened on first use,
   * closed with this executor), so that work never queues behind the clients' statements for one of the
   * pool's connections; PGlite, one session anyway, answers itself.
   */
  ledgerLane(): SqlExecutor;
  close(): Promise<void>;
}

const identity = (value: unknown): unknown => value;
/** Every type's parser returns the text itself: the codecs convert, per column, not per driver. */
const textTypes = { getTypeParser: () => identity } as unknown as pg.CustomTypesConfig;

export interface PgExecutorOptions {
  readonly connectionString: string;
  readonly poolSizeMax?: number;
  readonly connectTimeoutMs?: number;
  /**
   * The URL leads to a pooling proxy (PgBouncer) that may hand each transaction a different server
   * session: no session state is relied on (see pooledStartupSettings), and statements are not prepared
   * by name (a named statement lives in one server session; PgBouncer before 1.21 does not carry it).
   */
  readonly pooled?: boolean;
}

/**
 * The session settings a pooler keeps per client across server sessions, given as startup parameters:
 * PgBouncer tracks TimeZone and DateStyle (with client_encoding, standard_conforming_strings and
 * application_name) and sets them on whichever server session serves the client. It refuses any other
 * startup parameter, `options` included, so the remaining settings cannot be chosen through it: the
 * connector checks that the server's defaults already match them (postgres-session.ts).
 */
export const pooledStartupSettings: readonly string[] = ['TimeZone', 'DateStyle'];

/** node-pg sends only a fixed set of startup parameters; this client adds the tracked settings. */
class PooledClient extends pg.Client {
  getStartupConf(): Record<string, string> {
    const conf = (pg.Client.prototype as unknown as { getStartupConf(this: pg.Client): Record<string, string> }).getStartupConf.call(this);
    for (const name of pooledStartupSettings) conf[name] = sessionSettings[name]!;
    return conf;
  }
}

export function createPgExecutor(options: PgExecutorOptions): SqlExecutor {
  const pooled = options.pooled === true;
  const settingsOption = Object.entries(sessionSettings)
    .map(([name, value]) => `-c ${name}=${value.replace(/ /g, '\\ ')}`)
    .join(' ');
  const clientConfig: pg.ClientConfig = {
    connectionString: options.connectionString,
    types: textTypes,
    ...(pooled ? {} : { options: settingsOption }),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: 'entente',
  };
  const pool = new pg.Pool({ ...clientConfig, ...(pooled ? { Client: PooledClient } : {}), max: options.poolSizeMax ?? 10, idleTimeoutMillis: 30_000 });
  // A backend that dies while idle (server restart, pg_terminate_backend) is reported here; the pool
  // discards it and opens a new one on the next query. Without a listener Node would crash.
  pool.on('error', () => undefined);
  let statements = 0;
  let lane: SqlExecutor | null = null;
  const listeners = new Set<ListenConnection>();
  const prepared = new PreparedNames(PREPARED_STATEMENTS_MAX);
  /** The generation of prepared names current when each pooled connection was first checked out. */
  const generationOf = new WeakMap<pg.PoolClient, number>();

  const run = async (client: pg.PoolClient, text: string, params: readonly SqlParam[], queryOptions: QueryOptions | undefined): Promise<readonly TextRow[]> => {
    statements += 1;
    const name = queryOptions?.prepare === true && !pooled ? prepared.nameFor(text) : undefined;
    try {
      const result = await client.query<TextRow>(name === undefined ? { text, values: [...params] } : { name, text, values: [...params] });
      return result.rows;
    } catch (error) {
      if (name !== undefined && isStalePlan(error)) prepared.renew();
      throw error;
    }
  };
  const sessionOf = (client: pg.PoolClient): SqlSession => ({
    query: (text, params = [], queryOptions) => run(client, text, params, queryOptions),
    async script(text) {
      statements += 1;
      await client.query(text);
    },
  });
  /**
   * Checks out a connection for `work` and returns it unless the connection itself broke. Unlike
   * pool.query, an SQL error (a constraint, a conflict) keeps the connection and its prepared statements.
   */
  const withClient = async <T>(work: (client: pg.PoolClient, markBroken: (error: Error) => void) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    if (!generationOf.has(client)) generationOf.set(client, prepared.generation);
    let broken: Error | undefined;
    // A backend terminated while checked out is reported as an 'error' event on the client (the pool only
    // listens on idle ones); its statement fails, and the pool must not hand the connection out again.
    // (A connection that ended is never handed out again either: the pool checks on release.)
    const markBroken = (error: Error): void => {
      broken = error;
    };
    client.on('error', markBroken);
    try {
      return await work(client, markBroken);
    } finally {
      client.off('error', markBroken);
      // A connection from before a renewal holds the old generation's statements: it is closed, not kept.
      if (broken === undefined && (generationOf.get(client) ?? 0) < prepared.generation) broken = new Error('prepared statements of an older generation');
      client.release(broken);
    }
  };

  const transactionOnce = <T>(work: (session: SqlSession) => Promise<T>): Promise<T> =>
    withClient(async (client, markBroken) => {
      statements += 1;
      await client.query('begin');
      try {
        const result = await work(sessionOf(client));
        statements += 1;
        await client.query('commit');
        return result;
      } catch (error) {
        statements += 1;
        // A connection that cannot even roll back is in an unknown state: it is not handed out again.
        await client.query('rollback').catch(markBroken);
        throw error;
      }
    });

  return {
    family: 'postgres',
    async query(text, params = [], queryOptions) {
      const once = (): Promise<readonly TextRow[]> =>
        withClient((client, markBroken) =>
          run(client, text, params, queryOptions).catch((error: unknown) => {
            // The server ended the session, or the socket failed: the connection may still look idle for
            // a moment (its 'end' comes after the error), so it is marked now and not handed out again.
            if (!(error instanceof pg.DatabaseError) || error.severity === 'FATAL' || error.severity === 'PANIC') markBroken(error as Error);
            throw error;
          }),
        );
      try {
        return await once();
      } catch (error) {
        // Outside a transaction a stale plan failed before running: once more, prepared afresh.
        if (queryOptions?.prepare !== true || !isStalePlan(error)) throw error;
        return once();
      }
    },
    async script(text) {
      statements += 1;
      // A script may open a transaction and fail inside it: that connection is not handed out again.
      await pool.query(text);
    },
    async transaction(work) {
      try {
        return await transactionOnce(work);
      } catch (error) {
        // Only prepared statements go stale; the failed attempt rolled back, so it runs once more afresh.
        if (!isStalePlan(error)) throw error;
        return transactionOnce(work);
      }
    },
    async listen(channel, onNotify) {
      // LISTEN belongs to a server session, which a transaction pooler takes back after each transaction.
      if (pooled) throw new EntenteError('CONFIG_INVALID', 'LISTEN needs a direct connection to PostgreSQL; this URL leads through a pooler (PgBouncer).');
      const connection = new ListenConnection(clientConfig, channel, onNotify);
      listeners.add(connection);
      await connection.start();
      return async () => {
        listeners.delete(connection);
        await connection.stop();
      };
    },
    statementCount: () => statements + (lane?.statementCount() ?? 0),
    ledgerLane() {
      lane ??= createPgExecutor({ ...options, poolSizeMax: LEDGER_LANE_CONNECTIONS });
      return lane;
    },
    async close() {
      await Promise.all([...listeners].map((connection) => connection.stop()));
      listeners.clear();
      await Promise.all([pool.end(), lane?.close()]);
    },
  };
}

/** Distinct statement texts prepared (named) per generation; texts beyond it run unnamed, parsed each time. */
export const PREPARED_STATEMENTS_MAX = 256;

/**
 * Names for prepared statement texts. A schema change can make any of them stale at once, so a stale one
 * renews them all: the next generation's names are new on every connection, and connections holding the
 * old generation's statements are closed as they come back to the pool (so each holds at most two
 * generations' worth, briefly).
 */
class PreparedNames {
  private names = new Map<string, string>();
  generation = 0;
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  nameFor(text: string): string | undefined {
    const known = this.names.get(text);
    if (known !== undefined || this.names.size >= this.max) return known;
    const name = `entente_${this.generation}_${this.names.size + 1}`;
    this.names.set(text, name);
    return name;
  }

  renew(): void {
    this.generation += 1;
    this.names = new Map();
  }
}

/**
 * A prepared statement whose result columns changed type since it was prepared (ALTER TABLE … TYPE):
 * the server refuses it before running it, so it changed nothing.
 */
function isStalePlan(error: unknown): boolean {
  return error instanceof pg.DatabaseError && error.code === '0A000' && /cached plan must not change result type/.test(error.message);
}

const reconnectDelayMs = 250;

/** A dedicated connection holding LISTEN, reconnecting after a server restart or termination. */
class ListenConnection {
  private client: pg.Client | undefined;
  private stopped = false;
  private readonly config: pg.ClientConfig;
  private readonly channel: string;
  private readonly onNotify: () => void;

  constructor(config: pg.ClientConfig, channel: string, onNotify: () => void) {
    this.config = config;
    this.channel = channel;
    this.onNotify = onNotify;
  }

  async start(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.onNotify();
    });
    client.on('error', () => this.reconnectSoon(client));
    client.on('end', () => this.reconnectSoon(client));
    await client.connect();
    await client.query(`listen "${this.channel.replace(/"/g, '""')}"`);
    this.client = client;
  }

  private reconnectSoon(client: pg.Client): void {
    if (this.stopped || this.client !== client) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    const attempt = (): void => {
      if (this.stopped) return;
      this.start().then(
        () => this.onNotify(),
        () => setTimeout(attempt, reconnectDelayMs),
      );
    };
    setTimeout(attempt, reconnectDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/**
 * Parsers and serializers that pass text through untouched. PGlite merges per-query parsers into its
 * defaults by spreading them, so they must be own properties: one per type OID known at start. Types
 * created later have no PGlite parser, so their text passes through anyway.
 */
async function passThroughForAllTypes(db: PGlite): Promise<Record<number, (value: string) => string>> {
  const result = await db.query<{ oid: number }>('select oid::int as oid from pg_catalog.pg_type');
  const map: Record<number, (value: string) => string> = {};
  for (const row of result.rows) map[Number(row.oid)] = identity as (value: string) => string;
  return map;
}

export interface PgliteExecutorOptions {
  /** Close the PGlite instance with the executor (true when the connector opened it). */
  readonly ownsDatabase: boolean;
}

export async function createPgliteExecutor(db: PGlite, options: PgliteExecutorOptions): Promise<SqlExecutor> {
  let statements = 0;
  const passThrough = await passThroughForAllTypes(db);
  // PGlite merges per-query parsers into its defaults by spreading both maps (some 900 entries) on every
  // statement, which costs more than a small statement itself. A database only this executor uses gets
  // the pass-through maps as its defaults instead, once; a caller's database keeps its own defaults.
  let queryOptions: { parsers: typeof passThrough; serializers: typeof passThrough } | undefined = { parsers: passThrough, serializers: passThrough };
  if (options.ownsDatabase) {
    db.parsers = passThrough;
    db.serializers = passThrough;
    queryOptions = undefined;
  }
  const settingsScript = Object.entries(sessionSettings)
    .map(([name, value]) => `set ${name} = '${value}';`)
    .join('\n');
  await db.exec(settingsScript);
  const sessionOf = (target: PGlite | Transaction): SqlSession => ({
    async query(text, params = []) {
      statements += 1;
      const result = await target.query<TextRow>(text, [...params], queryOptions);
      return result.rows;
    },
    async script(text) {
      statements += 1;
      await target.exec(text, queryOptions);
    },
  });
  const root = sessionOf(db);
  const executor: SqlExecutor = {
    family: 'pglite',
    query: root.query,
    script: root.script,
    async transaction(work) {
      statements += 2;
      // PGlite is one session: its transaction() holds a mutex that queues every other query meanwhile.
      return db.transaction((tx) => work(sessionOf(tx)));
    },
    async listen(channel, onNotify) {
      const unlisten = await db.listen(channel, () => onNotify());
      return async () => {
        if (!db.closed) await unlisten();
      };
    },
    statementCount: () => statements,
    ledgerLane: () => executor,
    async close() {
      if (options.ownsDatabase && !db.closed) await db.close();
    },
  };
  return executor;
}
