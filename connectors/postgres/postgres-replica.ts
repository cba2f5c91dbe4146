// The replica of shared types owned by other partners, in schema `entente_replica`, and the ledger
// height applied to it, in `entente.replica_state`. Applying a height is one transaction: claim the
// height on the state row (nothing to do if it is already applied), then per table one multi-row delete
// and one multi-row upsert of the height's changes folded per key (../replica-batch.ts). Rows travel as
// one JSON parameter of text values, each cast to its column's type as a parameter would be: a few
// statements per height instead of one per change (PGlite pays dearly per statement). The usual height
// (upserts only) is one statement: see singleStatement.
import { EntenteError } from '../../common/errors.ts';
import type { ReplicaChange, ReplicaStore, ReplicaTableDefinition, Row, TableRef, Value, ValueType } from '../connector.ts';
import { foldReplicaChanges, type ReplicaTableBatch } from '../replica-batch.ts';
import { columnOf, qualifiedName, quoteIdentifier, type TableCodecs } from './postgres-sql.ts';
import type { ColumnCodec } from './postgres-types.ts';
import { lockWaitMsDefault } from '../lock-waits.ts';
import { transactionWithShortLockWaits } from './lock-waits.ts';
import type { QueryOptions, SqlExecutor, SqlSession } from './sql-executor.ts';

/** Applying a height runs a small set of texts (per table and column set) again and again. */
const prepared: QueryOptions = { prepare: true };

export const replicaSchema = 'entente_replica';

/** Rows per delete or upsert statement: bounds the JSON parameter and the statement's work. */
const replicaRowsPerStatementMax = 500;

const stateScript = `
create schema if not exists entente;
create schema if not exists ${replicaSchema};
create table if not exists entente.replica_state (
  singleton boolean primary key default true check (singleton),
  applied_height bigint not null default 0
);
insert into entente.replica_state (singleton) values (true) on conflict do nothing;
`;

export function sqlTypeOf(type: ValueType): string {
  switch (type.kind) {
    case 'enum':
      return 'text';
    case 'object':
      return 'jsonb';
    case 'list':
      return type.of.kind === 'scalar' && type.of.scalar !== 'JSON' ? `${sqlTypeOf(type.of)}[]` : 'jsonb';
    case 'scalar':
      return {
        Boolean: 'boolean',
        Int: 'integer',
        Float: 'double precision',
        BigInt: 'bigint',
        Decimal: 'numeric',
        String: 'text',
        DateTime: 'timestamptz',
        Date: 'date',
        Time: 'time',
        UUID: 'uuid',
        JSON: 'jsonb',
        Bytes: 'bytea',
        ObjectId: 'text',
        Other: 'text',
      }[type.scalar];
  }
}

export interface ReplicaDependencies {
  readonly executor: SqlExecutor;
  readonly tables: (ref: TableRef) => Promise<TableCodecs>;
  readonly refreshTables: () => void;
}

export function createReplicaStore(dependencies: ReplicaDependencies): ReplicaStore {
  const { executor } = dependencies;
  const tableRef = (name: string): TableRef => ({ schema: replicaSchema, name });
  return {
    tableRef,

    async ensureTables(definitions: readonly ReplicaTableDefinition[], options = {}) {
      // Runs at every gateway start, and the partner's applications may read the replica: only missing
      // columns are added, because ALTER TABLE … ADD COLUMN IF NOT EXISTS takes an ACCESS EXCLUSIVE
      // lock before it looks (waiting for every open reader of the table, stopping all new ones).
      await transactionWithShortLockWaits(executor, options.lockWaitMs ?? lockWaitMsDefault, 'Adding columns to the replica', async (session, progress) => {
        await session.script(stateScript);
        for (const definition of definitions) {
          const target = qualifiedName(tableRef(definition.name));
          const columns = definition.columns.map((column) => `${quoteIdentifier(column.name)} ${sqlTypeOf(column.type)}${column.nullable ? '' : ' not null'}`);
          await session.script(`create table if not exists ${target} (${columns.join(', ')}, primary key (${definition.primaryKey.map(quoteIdentifier).join(', ')}))`);
          const existing = await session.query(
            'select attname from pg_catalog.pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped',
            [target],
          );
          const present = new Set(existing.map((row) => row['attname']));
          // Columns added later are nullable: existing rows have no value for them.
          for (const column of definition.columns) {
            if (present.has(column.name)) continue;
            progress.target = target;
            await session.script(`alter table ${target} add column if not exists ${quoteIdentifier(column.name)} ${sqlTypeOf(column.type)}`);
          }
        }
      });
      dependencies.refreshTables();
    },

    async apply(height: number, changes: readonly ReplicaChange[]) {
      if (!Number.isSafeInteger(height) || height < 1) throw new EntenteError('USAGE', `Ledger heights start at 1; got ${height}.`);
      const resolved = new Map<string, TableCodecs>();
      for (const change of changes) {
        if (!resolved.has(change.table)) resolved.set(change.table, await dependencies.tables(tableRef(change.table)));
      }
      const keyText = (table: string, row: Row): string => {
        const codecs = resolved.get(table) as TableCodecs;
        return JSON.stringify((codecs.model.primaryKey ?? []).map((name) => paramText(columnOf(codecs, name).codec, name, row[name] ?? null)));
      };
      const batches = foldReplicaChanges(changes, keyText);
      const single = singleStatement(height, batches, resolved, (name) => qualifiedName(tableRef(name)));
      if (single !== null) {
        const [row] = await executor.query(single.text, single.params, prepared);
        if (row?.['claimed'] === 't' || row?.['claimed'] === 'true') return 'applied' as const;
        if (row?.['present'] !== 't' && row?.['present'] !== 'true') throw new EntenteError('USAGE', 'The replica has no state yet; call ensureTables first.');
        return 'already-applied' as const;
      }
      return executor.transaction(async (session) => {
        // Claiming the height first takes the state row's lock, so two appliers of one database serialise here.
        const claimed = await session.query('update entente.replica_state set applied_height = $1::bigint where applied_height < $1::bigint returning true as claimed', [String(height)], prepared);
        if (claimed.length === 0) {
          const [state] = await session.query('select applied_height::text as height from entente.replica_state');
          if (state === undefined) throw new EntenteError('USAGE', 'The replica has no state yet; call ensureTables first.');
          return 'already-applied' as const;
        }
        for (const batch of batches) await applyBatch(session, resolved.get(batch.table) as TableCodecs, qualifiedName(tableRef(batch.table)), batch);
        return 'applied' as const;
      });
    },

    async appliedHeight() {
      const [exists] = await executor.query(`select to_regclass('entente.replica_state') is not null as present`);
      if (exists?.['present'] !== 't' && exists?.['present'] !== 'true') return 0;
      const [state] = await executor.query('select applied_height::text as height from entente.replica_state');
      return Number(state?.['height'] ?? 0);
    },
  };
}

/** Tables one single-statement apply may write (each adds a CTE, and a text to prepare). */
const singleStatementTablesMax = 4;

/**
 * The usual height — upserts only, one column set and one statement's worth of rows per table — as
 * one statement: the claim and every table's upsert in data-modifying CTEs, the upserts running only
 * when the claim did. One statement is atomic as the transaction is, and takes one round trip instead
 * of four (BEGIN, claim, upsert, COMMIT). Anything else (deletes, more rows or column sets) takes the
 * transaction, where a key deleted and written again is deleted before it is written.
 */
function singleStatement(height: number, batches: readonly ReplicaTableBatch[], resolved: ReadonlyMap<string, TableCodecs>, targetOf: (table: string) => string): { text: string; params: string[] } | null {
  if (batches.length > singleStatementTablesMax) return null;
  const ctes = ['claim as (update entente.replica_state set applied_height = $1::bigint where applied_height < $1::bigint returning true as claimed)'];
  const params = [String(height)];
  for (const batch of batches) {
    if (batch.deletes.length > 0 || batch.upserts.length > replicaRowsPerStatementMax) return null;
    if (batch.upserts.length === 0) continue;
    const columns = Object.keys(batch.upserts[0] as Row);
    const signature = JSON.stringify(columns);
    if (batch.upserts.some((row) => JSON.stringify(Object.keys(row)) !== signature)) return null;
    const table = resolved.get(batch.table) as TableCodecs;
    if ((table.model.primaryKey ?? []).length === 0) return null;
    params.push(rowsJson(table, columns, batch.upserts));
    ctes.push(`upsert_${ctes.length} as (${upsertStatement(table, targetOf(batch.table), columns, params.length, 'where exists (select 1 from claim)')})`);
  }
  const text = `with ${ctes.join(', ')} select exists (select 1 from claim) as claimed, exists (select 1 from entente.replica_state) as present`;
  return { text, params };
}

/** Inserts the rows of JSON parameter $n, updating the columns they name where the key exists. */
function upsertStatement(table: TableCodecs, target: string, columns: readonly string[], parameter: number, condition = ''): string {
  const primaryKey = table.model.primaryKey ?? [];
  const keys = primaryKey.map(quoteIdentifier).join(', ');
  const updates = columns.filter((name) => !primaryKey.includes(name)).map((name) => `${quoteIdentifier(name)} = excluded.${quoteIdentifier(name)}`);
  const onConflict = updates.length > 0 ? `do update set ${updates.join(', ')}` : 'do nothing';
  return `insert into ${target} (${columns.map(quoteIdentifier).join(', ')}) ${selectRows(table, columns, parameter)} ${condition} on conflict (${keys}) ${onConflict}`;
}

async function applyBatch(session: SqlSession, table: TableCodecs, target: string, batch: ReplicaTableBatch): Promise<void> {
  const primaryKey = table.model.primaryKey ?? [];
  if (primaryKey.length === 0) throw new EntenteError('USAGE', `Replica table ${target} has no primary key.`);
  const keys = primaryKey.map(quoteIdentifier).join(', ');
  for (let start = 0; start < batch.deletes.length; start += replicaRowsPerStatementMax) {
    const rows = batch.deletes.slice(start, start + replicaRowsPerStatementMax);
    await session.query(`delete from ${target} where (${keys}) in (${selectRows(table, primaryKey, 1)})`, [rowsJson(table, primaryKey, rows)], prepared);
  }
  // Rows naming the same columns share a statement (after-images differ only across schema versions).
  const byColumns = new Map<string, Row[]>();
  for (const row of batch.upserts) {
    const signature = JSON.stringify(Object.keys(row));
    const group = byColumns.get(signature);
    if (group === undefined) byColumns.set(signature, [row]);
    else group.push(row);
  }
  for (const group of byColumns.values()) {
    const columns = Object.keys(group[0] as Row);
    const statement = upsertStatement(table, target, columns, 1);
    for (let start = 0; start < group.length; start += replicaRowsPerStatementMax) {
      const rows = group.slice(start, start + replicaRowsPerStatementMax);
      await session.query(statement, [rowsJson(table, columns, rows)], prepared);
    }
  }
}

/** Selects the rows of parameter $n (rowsJson), each column cast from text to its type. */
function selectRows(table: TableCodecs, columns: readonly string[], parameter: number): string {
  const casts = columns.map((name, index) => `r.c${index}::${columnOf(table, name).column.nativeType}`);
  const record = columns.map((_, index) => `c${index} text`);
  return `select ${casts.join(', ')} from json_to_recordset($${parameter}::json) as r(${record.join(', ')})`;
}

/** The rows as a JSON array of objects c0, c1, … holding each column's parameter text. */
function rowsJson(table: TableCodecs, columns: readonly string[], rows: readonly Row[]): string {
  const codecs = columns.map((name) => columnOf(table, name).codec);
  return JSON.stringify(rows.map((row) => Object.fromEntries(columns.map((name, index) => [`c${index}`, paramText(codecs[index]!, name, row[name] ?? null)]))));
}

/**
 * A value's parameter text, a lone surrogate replaced by U+FFFD as the driver's UTF-8 encoding of a
 * parameter replaces it: in JSON it would stay an escape PostgreSQL refuses, and one such value from a
 * peer would stop the replica at that height. Keys are folded by this text too, so two keys the
 * database sees as one are one.
 */
function paramText(codec: ColumnCodec, column: string, value: Value): string | null {
  const text = codec.toParam(value, column);
  return text === null ? null : text.replace(/\p{Cs}/gu, '\uFFFD');
}
