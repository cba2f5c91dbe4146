// The connector contract: everything Entente needs from a partner's database, and the only place
// that knows which database it is. Layers above (schema, gateway, ledger) speak this contract and ask
// `capabilities` instead of testing the family. All data crossing this seam is plain, serializable and
// `readonly`: rows are `Row`s of `Value`s in the canonical forms documented on `Value`.
//
// A connector is opened from a URL by `openConnector` (connectors/index.ts) and owns its connections.

/** A table (or view, or MongoDB collection) as the database names it. For MongoDB, `schema` is the database. */
export interface TableRef {
  readonly schema: string;
  readonly name: string;
}

/**
 * A value as it crosses the seam, identical for every database family so the ledger hashes the same
 * bytes whoever captured the change:
 * - Boolean → boolean; Int (≤ 32 bits) and Float → number (Float NaN/±Infinity → the strings 'NaN', 'Infinity', '-Infinity');
 * - BigInt (64-bit) and Decimal (numeric/decimal) → decimal string, exact ('-12.50' keeps its scale);
 * - DateTime → ISO-8601 UTC with offset 'Z' and microseconds where the source has them ('2024-05-01T10:00:00.123456Z');
 *   Date → 'YYYY-MM-DD'; Time → 'HH:MM:SS[.ffffff]'; UUID → lowercase string; ObjectId → 24 hex chars;
 * - Bytes → base64 string; JSON → the parsed JSON value; enum → its label; arrays → arrays;
 * - anything else (ranges, geometry, intervals, …) → the database's own text form, as a string.
 */
export type Value = null | boolean | number | string | readonly Value[] | { readonly [key: string]: Value };

export type Row = { readonly [column: string]: Value };

// ─── Introspection ──────────────────────────────────────────────────────────────────────────────

/** Bumped whenever the shape of DatabaseModel changes, so stored models can be recognised. */
export const introspectionVersion = 1;

export type ScalarKind =
  | 'Boolean'
  | 'Int'
  | 'Float'
  | 'BigInt'
  | 'Decimal'
  | 'String'
  | 'DateTime'
  | 'Date'
  | 'Time'
  | 'UUID'
  | 'JSON'
  | 'Bytes'
  | 'ObjectId'
  /** Values kept as the database's text form (ranges, geometry, …); introspection adds a warning. */
  | 'Other';

export type ValueType =
  | { readonly kind: 'scalar'; readonly scalar: ScalarKind }
  | { readonly kind: 'enum'; readonly name: string; readonly values: readonly string[] }
  | { readonly kind: 'list'; readonly of: ValueType }
  /** Nested documents (MongoDB); fields sorted by name. */
  | { readonly kind: 'object'; readonly fields: readonly FieldModel[] };

export interface FieldModel {
  readonly name: string;
  readonly type: ValueType;
  readonly nullable: boolean;
}

export interface ColumnModel {
  readonly name: string;
  /** 1-based position in the table, as the database reports it. */
  readonly ordinal: number;
  /** The database's own type name, e.g. 'numeric(12,2)', 'timestamptz', 'int unsigned', 'objectId'. */
  readonly nativeType: string;
  readonly type: ValueType;
  readonly nullable: boolean;
  /** The default expression as the database prints it, or null. */
  readonly defaultExpression: string | null;
  /** Identity, serial/auto-increment or generated columns: the database fills them in. */
  readonly generated: boolean;
  readonly comment: string | null;
}

export interface UniqueConstraintModel {
  readonly name: string;
  readonly columns: readonly string[];
}

export interface ForeignKeyModel {
  readonly name: string;
  readonly columns: readonly string[];
  readonly references: TableRef;
  readonly referencedColumns: readonly string[];
}

export type TableKind = 'table' | 'partitioned-table' | 'view' | 'collection';

export interface TableModel {
  readonly schema: string;
  readonly name: string;
  readonly kind: TableKind;
  readonly comment: string | null;
  /** Columns in ordinal order. */
  readonly columns: readonly ColumnModel[];
  /** Primary key columns in key order; null when the table has none (then it is read-only, with a warning). */
  readonly primaryKey: readonly string[] | null;
  readonly uniqueConstraints: readonly UniqueConstraintModel[];
  readonly foreignKeys: readonly ForeignKeyModel[];
  /** False for views and tables without a primary key. */
  readonly writable: boolean;
}

export interface EnumModel {
  readonly schema: string;
  readonly name: string;
  readonly values: readonly string[];
}

export interface IntrospectionWarning {
  readonly code: 'NO_PRIMARY_KEY' | 'UNSUPPORTED_TYPE' | 'MIXED_TYPES' | 'SAMPLED' | 'OTHER';
  readonly table: TableRef | null;
  readonly column: string | null;
  readonly message: string;
}

/** Plain, sorted (tables by schema then name, in code-unit order), versioned data; no methods. */
export interface DatabaseModel {
  readonly introspectionVersion: typeof introspectionVersion;
  readonly family: ConnectorFamily;
  readonly serverVersion: string;
  readonly database: string;
  readonly user: string;
  readonly tables: readonly TableModel[];
  readonly enums: readonly EnumModel[];
  readonly warnings: readonly IntrospectionWarning[];
}

export interface IntrospectOptions {
  /** Schemas (PostgreSQL), databases (MySQL) to include; default: the connection's own. Never system schemas or Entente's. */
  readonly schemas?: readonly string[];
}

// ─── Reading ───────────────────────────────────────────────────────────────────────────────────

export type ComparisonOperator = 'eq' | 'ne' | 'lt' | 'lte' | 'gt' | 'gte' | 'like' | 'ilike';

/**
 * Two-valued logic, identical in every family (the contract suite checks it): a comparison never
 * matches a null (or missing) value, nor a null operand (`eq null` matches nothing: use `isNull`);
 * `ne` therefore excludes nulls; `in` ignores null members and `in []` matches nothing; `and []` matches
 * everything and `or []` nothing; `not x` matches exactly the rows `x` does not match (nulls included).
 */
export type Filter =
  | { readonly and: readonly Filter[] }
  | { readonly or: readonly Filter[] }
  | { readonly not: Filter }
  | { readonly column: string; readonly op: ComparisonOperator; readonly value: Value }
  | { readonly column: string; readonly op: 'in'; readonly values: readonly Value[] }
  | { readonly column: string; readonly op: 'isNull'; readonly value: boolean };

/** Nulls sort as larger than every value: last ascending, first descending. */
export interface OrderTerm {
  readonly column: string;
  readonly direction: 'asc' | 'desc';
}

/**
 * A page of rows in keyset order. The effective order is `orderBy` followed by the primary key columns
 * not already in it (ascending), so it is total; `after` holds the effective-order values of the last
 * row of the previous page.
 */
export interface ListQuery {
  readonly table: TableRef;
  readonly where?: Filter;
  readonly orderBy?: readonly OrderTerm[];
  /** Page size; connectors clamp it to `limits.pageSizeMax`. */
  readonly first: number;
  readonly after?: readonly Value[];
  readonly includeTotalCount?: boolean;
  /** Columns to return; default all. Key and order columns are always returned. */
  readonly columns?: readonly string[];
}

export interface ListPage {
  readonly rows: readonly Row[];
  readonly hasNextPage: boolean;
  /** The effective order columns, so the caller can build cursors from any returned row. */
  readonly orderColumns: readonly OrderTerm[];
  /** Rows matching `where` regardless of paging; present when asked for. */
  readonly totalCount?: number;
}

/** Children of many parents in one statement: each group is the rows whose `columns` equal one tuple. */
export interface GroupedListQuery {
  readonly table: TableRef;
  readonly columns: readonly string[];
  readonly groups: readonly (readonly Value[])[];
  readonly where?: Filter;
  readonly orderBy?: readonly OrderTerm[];
  /** Rows per group. */
  readonly first: number;
}

/**
 * A relation followed from every row of a nested read, answered inside the same statement as its
 * parent: `many` collects the rows of `table` whose `columns` equal the parent's `parentColumns`
 * (filtered, in the effective order of `orderBy`, at most `first` per parent, exactly as `listGrouped`
 * would); `one` is the row they match (the first in primary key order) or null. A null in the parent's
 * columns matches nothing.
 */
export type RelationQuery =
  | {
    readonly kind: 'many';
    readonly table: TableRef;
    readonly parentColumns: readonly string[];
    readonly columns: readonly string[];
    readonly where?: Filter;
    readonly orderBy?: readonly OrderTerm[];
    /** Rows per parent; clamped to `limits.pageSizeMax`. */
    readonly first: number;
    readonly relations?: readonly RelationQuery[];
    readonly select?: RelationSelect;
  }
  | {
    readonly kind: 'one';
    readonly table: TableRef;
    readonly parentColumns: readonly string[];
    readonly columns: readonly string[];
    readonly relations?: readonly RelationQuery[];
    readonly select?: RelationSelect;
  };

/**
 * The target's columns the caller reads from the related rows; absent: every column. The connector
 * adds the columns it needs itself (the join columns, the order, its relations' parent columns) and
 * leaves out names the table lacks (a row of `list` would lack them too); the rows it returns then
 * hold only those columns.
 */
export type RelationSelect = readonly string[];

/** A page of `list` together with relations of its rows, all in one statement (plus the total when asked). */
export interface NestedListQuery extends ListQuery {
  readonly relations: readonly RelationQuery[];
}

/** A row with what its relations found, aligned with the query's `relations`: rows for `many`, a row or null for `one`. */
export interface NestedRow {
  readonly row: Row;
  readonly related: readonly (readonly NestedRow[] | NestedRow | null)[];
}

export interface NestedListPage extends Omit<ListPage, 'rows'> {
  readonly rows: readonly NestedRow[];
}

// ─── Writing ───────────────────────────────────────────────────────────────────────────────────

export type WriteOperation =
  | { readonly op: 'insert'; readonly table: TableRef; readonly values: Row }
  | { readonly op: 'upsert'; readonly table: TableRef; readonly values: Row }
  /** `expected`: optimistic concurrency; the update applies only if these columns still hold these values. */
  | { readonly op: 'update'; readonly table: TableRef; readonly key: Row; readonly values: Row; readonly expected?: Row }
  | { readonly op: 'delete'; readonly table: TableRef; readonly key: Row; readonly expected?: Row };

export interface WriteOptions {
  /** Recorded with the captured changes of this transaction, e.g. an Entente mutation id. */
  readonly origin?: string;
}

export interface WriteResult {
  /** The row after the operation (insert, upsert, update) or before it (delete). */
  readonly row: Row;
}

// ─── Capture ───────────────────────────────────────────────────────────────────────────────────

export type ChangeOperation = 'insert' | 'update' | 'delete';

export interface CapturedChange {
  readonly table: TableRef;
  readonly op: ChangeOperation;
  /** Primary key values of the changed row (before the change, for updates that move the key). */
  readonly key: Row;
  readonly after: Row | null;
  readonly before: Row | null;
}

/** One committed source transaction. Positions are opaque strings, totally ordered by `comparePositions`. */
export interface CapturedTransaction {
  readonly position: string;
  readonly sourceTransactionId: string;
  readonly origin: string | null;
  readonly committedAt: string | null;
  readonly changes: readonly CapturedChange[];
}

export interface CaptureReadLimits {
  readonly transactionsMax: number;
  readonly changesMax: number;
}

export interface CaptureInstallOptions {
  /** How long to keep trying for the table locks a change needs before failing with DB_CONFLICT; default 60 s. */
  readonly lockWaitMs?: number;
}

export interface ChangeCapture {
  readonly method: CaptureMethod;
  /**
   * Idempotent: installs what capture needs on these tables (and only these: the installed set becomes
   * exactly `tables`). It runs at every gateway start beside the partner's applications, so what is
   * already in place is left untouched (no lock on a captured table), and what must change waits for
   * the table's writers only briefly at a time, never holding them up or deadlocking them.
   */
  install(tables: readonly TableRef[], options?: CaptureInstallOptions): Promise<void>;
  /**
   * Removes every trigger, outbox and function Entente installed, with install's lock discipline: beside
   * the partner's applications, it waits for a table's lock only briefly at a time, retried for
   * `lockWaitMs`, then DB_CONFLICT naming the table. PostgreSQL's trigger capture is removed in one
   * transaction; elsewhere part may be gone (MySQL's DDL commits statement by statement, a replication
   * slot is dropped first), and running it again finishes what a failed run left.
   */
  uninstall(options?: CaptureInstallOptions): Promise<void>;
  installedTables(): Promise<readonly TableRef[]>;
  /** Committed transactions strictly after `after` (null: from the start), in commit order. */
  read(after: string | null, limits: CaptureReadLimits): Promise<readonly CapturedTransaction[]>;
  /**
   * Resolves when new changes may be available (or after `timeoutMs`); never rejects on timeout. Resolves
   * at once when the last read stopped at its limits with more committed behind it, so a reader may wait
   * after any read, not only after an empty one.
   */
  waitForChanges(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** The ledger has everything up to and including `position`: the connector may prune it. */
  acknowledge(position: string): Promise<void>;
  /** The last acknowledged position, stored in the database; null before the first acknowledgement. */
  acknowledgedPosition(): Promise<string | null>;
  comparePositions(a: string, b: string): number;
}

// ─── Replica ───────────────────────────────────────────────────────────────────────────────────

export interface ReplicaColumn {
  readonly name: string;
  readonly type: ValueType;
  readonly nullable: boolean;
}

/** A shared type owned by another partner, stored in this database (schema/namespace `entente_replica`). */
export interface ReplicaTablesOptions {
  /** How long to keep trying for the table locks a new column needs before failing with DB_CONFLICT; default 60 s. */
  readonly lockWaitMs?: number;
}

export interface ReplicaTableDefinition {
  readonly name: string;
  readonly columns: readonly ReplicaColumn[];
  readonly primaryKey: readonly string[];
}

/** insert and update both store the full after-image (an upsert), so re-applying is harmless. */
export interface ReplicaChange {
  readonly table: string;
  readonly op: ChangeOperation;
  readonly key: Row;
  /** Full after-image for insert/update; null for delete. */
  readonly after: Row | null;
}

export interface ReplicaStore {
  /**
   * Creates missing tables and adds missing columns; never drops data. Runs at every gateway start while
   * applications may read the replica: a table with every column is not altered (no lock taken).
   */
  ensureTables(tables: readonly ReplicaTableDefinition[], options?: ReplicaTablesOptions): Promise<void>;
  /**
   * Applies the changes of ledger height `height` in one database transaction that also records the
   * height. Idempotent: a height at or below the applied height is skipped and reported as such.
   */
  apply(height: number, changes: readonly ReplicaChange[]): Promise<'applied' | 'already-applied'>;
  appliedHeight(): Promise<number>;
  tableRef(name: string): TableRef;
}

// ─── The connector ──────────────────────────────────────────────────────────────────────────────

export type ConnectorFamily = 'postgres' | 'pglite' | 'mysql' | 'mongodb';

export type CaptureMethod = 'outbox-trigger' | 'logical-decoding' | 'binlog' | 'change-stream';

/** What differs between databases, asked by the layers above (documented defaults in connectors/README.md). */
export interface ConnectorCapabilities {
  readonly transactionalDdl: boolean;
  readonly returning: boolean;
  readonly ilike: boolean;
  readonly arrays: boolean;
  /** The database can wake the capture reader (LISTEN/NOTIFY, change streams); otherwise it polls. */
  readonly changeNotifications: boolean;
  readonly multiStatementTransactions: boolean;
  readonly captureMethods: readonly CaptureMethod[];
  /**
   * A committed write survives an operating-system crash or a power loss: the database syncs its log to
   * disk before it answers. False for PGlite, which writes through the operating system but never syncs
   * (measured with strace: no fsync or fdatasync, even with PostgreSQL's fsync = on); a process crash
   * loses nothing there, a machine crash can lose or damage recent commits.
   */
  readonly durableCommits: boolean;
  /**
   * `listNested` answers a list with nested relation lists and single relations in one statement.
   * Default (absent): false, and the layers above read one level at a time (`list`, then `listGrouped`
   * and `loadByKeys` per level).
   */
  readonly nestedReads?: boolean;
}

export interface ConnectorLimits {
  readonly pageSizeMax: number;
  readonly keysPerLoadMax: number;
  readonly operationsPerWriteMax: number;
}

export interface Connector {
  readonly family: ConnectorFamily;
  readonly capabilities: ConnectorCapabilities;
  readonly limits: ConnectorLimits;
  introspect(options?: IntrospectOptions): Promise<DatabaseModel>;
  /** Rows for many keys in one round trip, aligned with `keys` (null where absent): DataLoader-ready. */
  loadByKeys(table: TableRef, keyColumns: readonly string[], keys: readonly (readonly Value[])[]): Promise<readonly (Row | null)[]>;
  list(query: ListQuery): Promise<ListPage>;
  count(table: TableRef, where?: Filter): Promise<number>;
  /** One statement for all groups; result aligned with `query.groups`. */
  listGrouped(query: GroupedListQuery): Promise<readonly (readonly Row[])[]>;
  /** Present when `capabilities.nestedReads`: a page of rows with their relations, in one statement. */
  listNested?(query: NestedListQuery): Promise<NestedListPage>;
  /** All operations in one database transaction; results aligned with `operations`. */
  write(operations: readonly WriteOperation[], options?: WriteOptions): Promise<readonly WriteResult[]>;
  readonly capture: ChangeCapture;
  readonly replica: ReplicaStore;
  /** Statements sent to the database since opening; tests assert bounded round trips with it. */
  statementCount(): number;
  close(): Promise<void>;
}
