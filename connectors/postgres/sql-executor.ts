// The one seam between the PostgreSQL connector and its driver: text in, text out. Two executors
// implement it — a pg.Pool for servers and PGlite's own in-process API — so everything above
// (introspection, reads, writes, capture, replica) is one code path. Every value crosses as PostgreSQL
// text (no driver type parsing, no global pg.types), and every session runs with the settings below,
// so both executors produce byte-identical canonical values.
import pg from 'pg';
import type { PGlite, Transaction } from '@electric-sql/pglite';

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

export interface SqlSession {
  /** One statement with $1… parameters; values and results as PostgreSQL text. */
  query(text: string, params?: readonly SqlParam[]): Promise<readonly TextRow[]>;
  /** Several statements without parameters (DDL scripts). */
  script(text: string): Promise<void>;
}

export interface SqlExecutor extends SqlSession {
  readonly family: 'postgres' | 'pglite';
  /** Runs `work` in one transaction (BEGIN … COMMIT, ROLLBACK on error) on one session. */
  transaction<T>(work: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Calls `onNotify` for every NOTIFY on `channel`, and after reconnecting (notifications may have been missed). */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  /** Statements sent since opening (BEGIN and COMMIT included). */
  statementCount(): number;
  close(): Promise<void>;
}

const identity = (value: unknown): unknown => value;
/** Every type's parser returns the text itself: the codecs convert, per column, not per driver. */
const textTypes = { getTypeParser: () => identity } as unknown as pg.CustomTypesConfig;

export interface PgExecutorOptions {
  readonly connectionString: string;
  readonly poolSizeMax?: number;
  readonly connectTimeoutMs?: number;
}

export function createPgExecutor(options: PgExecutorOptions): SqlExecutor {
  const settingsOption = Object.entries(sessionSettings)
    .map(([name, value]) => `-c ${name}=${value.replace(/ /g, '\\ ')}`)
    .join(' ');
  const clientConfig: pg.ClientConfig = {
    connectionString: options.connectionString,
    types: textTypes,
    options: settingsOption,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    application_name: 'entente',
  };
  const pool = new pg.Pool({ ...clientConfig, max: options.poolSizeMax ?? 10, idleTimeoutMillis: 30_000 });
  // A backend that dies while idle (server restart, pg_terminate_backend) is reported here; the pool
  // discards it and opens a new one on the next query. Without a listener Node would crash.
  pool.on('error', () => undefined);
  let statements = 0;
  const listeners = new Set<ListenConnection>();

  const sessionOf = (client: pg.PoolClient | pg.Pool): SqlSession => ({
    async query(text, params = []) {
      statements += 1;
      const result = await client.query<TextRow>({ text, values: [...params] });
      return result.rows;
    },
    async script(text) {
      statements += 1;
      await client.query(text);
    },
  });
  const poolSession = sessionOf(pool);

  return {
    family: 'postgres',
    query: poolSession.query,
    script: poolSession.script,
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A backend terminated between two statements is reported as an 'error' event on the checked-out
      // client (the pool only listens on idle ones); the next statement then fails and rolls back.
      const onError = (error: Error): void => {
        broken = error;
      };
      client.on('error', onError);
      try {
        statements += 1;
        await client.query('begin');
        const result = await work(sessionOf(client));
        statements += 1;
        await client.query('commit');
        return result;
      } catch (error) {
        try {
          statements += 1;
          await client.query('rollback');
        } catch (rollbackError) {
          broken = rollbackError as Error;
        }
        throw error;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    async listen(channel, onNotify) {
      const connection = new ListenConnection(clientConfig, channel, onNotify);
      listeners.add(connection);
      await connection.start();
      return async () => {
        listeners.delete(connection);
        await connection.stop();
      };
    },
    statementCount: () => statements,
    async close() {
      await Promise.all([...listeners].map((connection) => connection.stop()));
      listeners.clear();
      await pool.end();
    },
  };
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
  return {
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
    async close() {
      if (options.ownsDatabase && !db.closed) await db.close();
    },
  };
}
