// Replica tables: shared types owned by other partners, stored in this database as tables named
// `entente_replica_<type>` (beside the partner's tables rather than in a separate `entente_replica`
// database, for the same reason as the capture tables: privileges on one database suffice). Applying
// a ledger height is one transaction that also moves the applied height, so a crash leaves either
// both or neither, and a re-delivered height is recognised and skipped. Its changes are folded per
// table and key (../replica-batch.ts) and written with multi-row DELETE and INSERT … ON DUPLICATE KEY
// UPDATE statements, a few per height instead of one per change.
//
// Column types: Decimal is stored as text (VARCHAR) so '12.50' comes back as '12.50' — the ledger's
// exact value — at the price of textual ordering; DateTime is DATETIME(6) (values come back with six
// fraction digits); lists, objects and JSON are JSON; enums are VARCHAR so new labels need no DDL.
// Columns added to an existing replica table are nullable: existing rows have no value for them.
import { EntenteError } from '../../common/errors.ts';
import type { ReplicaChange, ReplicaColumn, ReplicaStore, ReplicaTableDefinition, Row, TableRef, ValueType } from '../connector.ts';
import type { IntrospectedTable } from './mysql-introspector.ts';
import type { RunSql } from './mysql-reader.ts';
import { codecOf } from './mysql-reader.ts';
import type { SessionRun } from './mysql-writer.ts';
import { encodeParam, placeholderFor } from './mysql-values.ts';
import { joinSql, quoteIdentifier, sql, type Sql } from './mysql-sql.ts';
import { foldReplicaChanges, type ReplicaTableBatch } from '../replica-batch.ts';
import { lockWaitMsDefault } from '../lock-waits.ts';
import { runDdlWithoutWaiting, runDdlWithShortLockWaits } from './mysql-lock-waits.ts';

export const replicaTablePrefix = 'entente_replica_';
export const appliedHeightTable = 'entente_applied_height';
const identifierLengthMax = 64;
/** Rows per replica delete or upsert statement, and placeholders (MySQL allows 65,535 per statement). */
const replicaRowsPerStatementMax = 500;
const replicaParamsPerStatementMax = 30_000;

export interface ReplicaContext {
  readonly database: string;
  readonly isMariadb: boolean;
  readonly run: RunSql;
  readonly resolve: (table: TableRef, fresh?: boolean) => Promise<IntrospectedTable>;
  /** Runs `work` in one transaction on one connection; commits if it resolves, rolls back if it throws. */
  readonly transaction: <T>(work: (run: SessionRun) => Promise<T>) => Promise<T>;
}

export function createReplicaStore(context: ReplicaContext): ReplicaStore {
  const qualified = (name: string): string => `${quoteIdentifier(context.database)}.${quoteIdentifier(name)}`;
  const tableRef = (name: string): TableRef => {
    const physical = replicaTablePrefix + name;
    if (physical.length > identifierLengthMax) {
      throw new EntenteError('SCHEMA_INVALID', `the replica table for type '${name}' would be named '${physical}', longer than MySQL's ${identifierLengthMax}-character limit; give the type a shorter database name in the schema`);
    }
    return { schema: context.database, name: physical };
  };
  let heightTableReady = false;
  async function ensureHeightTable(): Promise<void> {
    if (heightTableReady) return;
    await context.run(sql(`CREATE TABLE IF NOT EXISTS ${qualified(appliedHeightTable)} (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, height BIGINT UNSIGNED NOT NULL) ENGINE=InnoDB COMMENT='Entente: ledger height applied to the replica tables'`));
    await context.run(sql(`INSERT IGNORE INTO ${qualified(appliedHeightTable)} (id, height) VALUES (1, 0)`));
    heightTableReady = true;
  }

  return {
    tableRef,
    async ensureTables(tables: readonly ReplicaTableDefinition[], options = {}) {
      await ensureHeightTable();
      for (const definition of tables) {
        const ref = tableRef(definition.name);
        const columns = definition.columns.map((column) => `${quoteIdentifier(column.name)} ${columnDdl(column, definition.primaryKey.includes(column.name))}`);
        const key = `PRIMARY KEY (${definition.primaryKey.map(quoteIdentifier).join(', ')})`;
        await context.run(sql(`CREATE TABLE IF NOT EXISTS ${qualified(ref.name)} (${[...columns, key].join(', ')}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin COMMENT=${quoteStringLiteral(`Entente replica of ${definition.name}`)}`));
        const existing = await context.run(sql('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [ref.schema, ref.name]));
        const present = new Set(existing.map((row) => String(row['c'])));
        for (const column of definition.columns) {
          if (present.has(column.name)) continue;
          const alter = `ALTER TABLE ${qualified(ref.name)} ADD COLUMN ${quoteIdentifier(column.name)} ${columnDdl({ ...column, nullable: true }, false)}`;
          // Applications may read the replica: the ALTER does not wait long for (and queue them behind) the
          // table's metadata lock; on MariaDB not at all, on MySQL a second at a time.
          const lockWaitMs = options.lockWaitMs ?? lockWaitMsDefault;
          if (context.isMariadb) await runDdlWithoutWaiting(context.run, lockWaitMs, 'Adding a column to the replica', qualified(ref.name), alter);
          else await runDdlWithShortLockWaits((work) => context.transaction(work), lockWaitMs, 'Adding a column to the replica', qualified(ref.name), [alter], { lockTable: false });
        }
        await context.resolve(ref, true);
      }
    },
    async apply(height: number, changes: readonly ReplicaChange[]) {
      if (!Number.isSafeInteger(height) || height < 1) throw new EntenteError('USAGE', `ledger height ${height} is not a positive integer`);
      await ensureHeightTable();
      const tables = new Map<string, IntrospectedTable>();
      for (const change of changes) if (!tables.has(change.table)) tables.set(change.table, await context.resolve(tableRef(change.table)));
      return context.transaction(async (run) => {
        const locked = await run(sql(`SELECT height FROM ${qualified(appliedHeightTable)} WHERE id = 1 FOR UPDATE`));
        if (Number(locked.rows[0]?.['height'] ?? 0) >= height) return 'already-applied' as const;
        const keyText = (table: string, row: Row): string => {
          const introspected = tables.get(table) as IntrospectedTable;
          return JSON.stringify((introspected.model.primaryKey ?? []).map((column) => encodeParam(codecOf(introspected, column), row[column] ?? null, column)));
        };
        for (const batch of foldReplicaChanges(changes, keyText)) await applyBatch(run, tables.get(batch.table) as IntrospectedTable, batch, qualified);
        await run(sql(`UPDATE ${qualified(appliedHeightTable)} SET height = ? WHERE id = 1`, [height]));
        return 'applied' as const;
      });
    },
    async appliedHeight() {
      await ensureHeightTable();
      const [row] = await context.run(sql(`SELECT height FROM ${qualified(appliedHeightTable)} WHERE id = 1`));
      return Number(row?.['height'] ?? 0);
    },
  };
}

/** Deletes, then upserts, a height's folded changes to one table: a few multi-row statements. */
async function applyBatch(run: SessionRun, table: IntrospectedTable, batch: ReplicaTableBatch, qualified: (name: string) => string): Promise<void> {
  const primaryKey = table.model.primaryKey ?? [];
  if (primaryKey.length === 0) throw new EntenteError('USAGE', `replica table ${table.model.name} has no primary key`);
  const name = qualified(table.model.name);
  const cell = (column: string, row: Row): Sql => sql(placeholderFor(codecOf(table, column)), [encodeParam(codecOf(table, column), row[column] ?? null, column)]);
  const keyMatch = (key: Row): Sql =>
    primaryKey.length === 1
      ? cell(primaryKey[0] as string, key)
      : joinSql(primaryKey.map((column) => { const value = cell(column, key); return sql(`${quoteIdentifier(column)} = ${value.text}`, value.params); }), ' AND ');
  for (const rows of chunks(batch.deletes, primaryKey.length)) {
    const matches = joinSql(rows.map(keyMatch), primaryKey.length === 1 ? ', ' : ') OR (');
    const where = primaryKey.length === 1 ? `${quoteIdentifier(primaryKey[0] as string)} IN (${matches.text})` : `(${matches.text})`;
    await run(sql(`DELETE FROM ${name} WHERE ${where}`, matches.params));
  }
  // Rows naming the same columns share a statement (after-images differ only across schema versions).
  const byColumns = new Map<string, { columns: string[]; rows: Row[] }>();
  for (const row of batch.upserts) {
    const columns = Object.keys(row).filter((column) => table.codecs.has(column));
    const group = byColumns.get(JSON.stringify(columns));
    if (group === undefined) byColumns.set(JSON.stringify(columns), { columns, rows: [row] });
    else group.rows.push(row);
  }
  for (const { columns, rows: all } of byColumns.values()) {
    const updates = columns.filter((column) => !primaryKey.includes(column)).map((column) => `${quoteIdentifier(column)} = VALUES(${quoteIdentifier(column)})`);
    if (updates.length === 0) updates.push(`${quoteIdentifier(primaryKey[0] as string)} = ${quoteIdentifier(primaryKey[0] as string)}`);
    for (const rows of chunks(all, columns.length)) {
      const values = joinSql(rows.map((row) => { const tuple = joinSql(columns.map((column) => cell(column, row)), ', '); return sql(`(${tuple.text})`, tuple.params); }), ', ');
      await run(sql(`INSERT INTO ${name} (${columns.map(quoteIdentifier).join(', ')}) VALUES ${values.text} ON DUPLICATE KEY UPDATE ${updates.join(', ')}`, values.params));
    }
  }
}

/** Slices rows so a statement holds at most replicaRowsPerStatementMax rows and replicaParamsPerStatementMax parameters. */
function chunks(rows: readonly Row[], paramsPerRow: number): Row[][] {
  const size = Math.max(1, Math.min(replicaRowsPerStatementMax, Math.floor(replicaParamsPerStatementMax / Math.max(1, paramsPerRow))));
  const out: Row[][] = [];
  for (let start = 0; start < rows.length; start += size) out.push(rows.slice(start, start + size));
  return out;
}

function quoteStringLiteral(value: string): string {
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "''") + "'";
}

function columnDdl(column: ReplicaColumn, isKey: boolean): string {
  return `${typeDdl(column.type, isKey)}${column.nullable && !isKey ? ' NULL' : ' NOT NULL'}`;
}

function typeDdl(type: ValueType, isKey: boolean): string {
  if (type.kind === 'enum') return 'VARCHAR(255)';
  if (type.kind !== 'scalar') return 'JSON';
  switch (type.scalar) {
    case 'Boolean':
      return 'TINYINT(1)';
    case 'Int':
      return 'INT';
    case 'Float':
      return 'DOUBLE';
    case 'BigInt':
      return 'DECIMAL(20,0)';
    case 'Decimal':
      return 'VARCHAR(100)';
    case 'DateTime':
      return 'DATETIME(6)';
    case 'Date':
      return 'DATE';
    case 'Time':
      return 'TIME(6)';
    case 'UUID':
      return 'CHAR(36)';
    case 'ObjectId':
      return 'CHAR(24)';
    case 'JSON':
      return 'JSON';
    case 'Bytes':
      return isKey ? 'VARBINARY(255)' : 'LONGBLOB';
    case 'String':
    case 'Other':
      return isKey ? 'VARCHAR(255)' : 'LONGTEXT';
  }
}
