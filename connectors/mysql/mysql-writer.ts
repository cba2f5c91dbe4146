// Writes: every operation of a call in one transaction on one connection. MySQL has no RETURNING, so
// each operation re-reads its row inside the same transaction (reads see the transaction's own writes).
// The origin of the write goes into the session variable @entente_origin for the duration of the
// transaction; the capture triggers copy it into the outbox in the same transaction.
import { EntenteError } from '../../common/errors.ts';
import type { Row, TableRef, Value, WriteOperation, WriteResult } from '../connector.ts';
import type { IntrospectedTable } from './mysql-introspector.ts';
import { allColumns, codecOf, decodeRow, selectList } from './mysql-reader.ts';
import { encodeParam, placeholderFor } from './mysql-values.ts';
import { joinSql, quoteIdentifier, quoteTable, sql, type Sql } from './mysql-sql.ts';

export interface StatementResult {
  readonly rows: readonly Record<string, unknown>[];
  readonly affectedRows: number;
  readonly insertId: number | string;
}

export type SessionRun = (statement: Sql) => Promise<StatementResult>;

export type ResolveTable = (table: TableRef) => Promise<IntrospectedTable>;

export async function applyOperations(run: SessionRun, resolve: ResolveTable, operations: readonly WriteOperation[]): Promise<readonly WriteResult[]> {
  const results: WriteResult[] = [];
  for (const operation of operations) {
    const table = await resolve(operation.table);
    if (!table.model.writable || table.model.primaryKey === null) {
      const why = table.model.kind === 'view' ? 'it is a view; write to its base tables' : 'it has no primary key; add a PRIMARY KEY to make it writable';
      throw new EntenteError('DB_UNSUPPORTED', `${table.model.name} is read-only to Entente: ${why}`);
    }
    results.push(await applyOne(run, table, table.model.primaryKey, operation));
  }
  return results;
}

async function applyOne(run: SessionRun, table: IntrospectedTable, primaryKey: readonly string[], operation: WriteOperation): Promise<WriteResult> {
  switch (operation.op) {
    case 'insert':
    case 'upsert':
      return { row: await insert(run, table, primaryKey, operation.values, operation.op === 'upsert') };
    case 'update':
      return { row: await update(run, table, primaryKey, operation.key, operation.values, operation.expected) };
    case 'delete':
      return { row: await remove(run, table, primaryKey, operation.key, operation.expected) };
  }
}

function autoIncrementColumn(table: IntrospectedTable, primaryKey: readonly string[]): string | null {
  const generated = table.model.columns.filter((column) => column.generated && primaryKey.includes(column.name) && column.defaultExpression === null);
  return generated.length === 1 ? (generated[0]?.name ?? null) : null;
}

async function insert(run: SessionRun, table: IntrospectedTable, primaryKey: readonly string[], values: Row, upsert: boolean): Promise<Row> {
  const columns = Object.keys(values);
  const auto = autoIncrementColumn(table, primaryKey);
  const params = columns.map((column) => encodeParam(codecOf(table, column), values[column] ?? null, column));
  const valueList = columns.map((column) => placeholderFor(codecOf(table, column))).join(', ');
  let text = `INSERT INTO ${quoteTable(table.model)} (${columns.map(quoteIdentifier).join(', ')}) VALUES (${valueList})`;
  if (columns.length === 0) text = `INSERT INTO ${quoteTable(table.model)} () VALUES ()`;
  if (upsert) {
    const updates = columns.filter((column) => !primaryKey.includes(column)).map((column) => `${quoteIdentifier(column)} = VALUES(${quoteIdentifier(column)})`);
    // LAST_INSERT_ID(col) makes the driver report the existing row's id when the key already existed.
    if (auto !== null) updates.push(`${quoteIdentifier(auto)} = LAST_INSERT_ID(${quoteIdentifier(auto)})`);
    if (updates.length === 0) updates.push(`${quoteIdentifier(primaryKey[0] as string)} = ${quoteIdentifier(primaryKey[0] as string)}`);
    text += ` ON DUPLICATE KEY UPDATE ${updates.join(', ')}`;
  }
  const result = await run(sql(text, params));
  const key: Record<string, Value> = {};
  for (const column of primaryKey) {
    const given = values[column];
    if (given !== undefined && given !== null) key[column] = given;
    else if (column === auto) key[column] = String(result.insertId);
    else throw new EntenteError('USAGE', `an ${upsert ? 'upsert' : 'insert'} into ${table.model.name} must give primary key column '${column}'`);
  }
  const row = await readByKey(run, table, primaryKey, key, false);
  if (row === null) throw new EntenteError('DB_CONFLICT', `the row just written to ${table.model.name} is not visible in the same transaction (a trigger or default changed its key?)`);
  return row;
}

function keyCondition(table: IntrospectedTable, primaryKey: readonly string[], key: Row): Sql {
  return joinSql(
    primaryKey.map((column) => {
      const value = key[column];
      if (value === undefined || value === null) throw new EntenteError('USAGE', `the key for ${table.model.name} must give column '${column}' (primary key: ${primaryKey.join(', ')})`);
      const codec = codecOf(table, column);
      return sql(`${quoteIdentifier(column)} = ${placeholderFor(codec)}`, [encodeParam(codec, value, column)]);
    }),
    ' AND ',
  );
}

/** Null-safe equality (<=>) on the columns the caller read, for optimistic concurrency. */
function expectedCondition(table: IntrospectedTable, expected: Row | undefined): Sql {
  if (expected === undefined || Object.keys(expected).length === 0) return sql('TRUE');
  return joinSql(
    Object.entries(expected).map(([column, value]) => {
      const codec = codecOf(table, column);
      return sql(`${quoteIdentifier(column)} <=> ${placeholderFor(codec)}`, [encodeParam(codec, value, column)]);
    }),
    ' AND ',
  );
}

async function readByKey(run: SessionRun, table: IntrospectedTable, primaryKey: readonly string[], key: Row, lock: boolean): Promise<Row | null> {
  const columns = allColumns(table);
  const where = keyCondition(table, primaryKey, key);
  const result = await run(sql(`SELECT ${selectList(table, columns)} FROM ${quoteTable(table.model)} WHERE ${where.text}${lock ? ' FOR UPDATE' : ''}`, where.params));
  const raw = result.rows[0];
  return raw === undefined ? null : decodeRow(table, raw, columns);
}

function notFound(table: IntrospectedTable, key: Row): EntenteError {
  return new EntenteError('DB_NOT_FOUND', `no row in ${table.model.name} with key ${JSON.stringify(key)}`);
}

function conflict(table: IntrospectedTable, key: Row): EntenteError {
  return new EntenteError('DB_CONFLICT', `the row of ${table.model.name} with key ${JSON.stringify(key)} changed since it was read (optimistic concurrency): read it again and retry`);
}

async function update(run: SessionRun, table: IntrospectedTable, primaryKey: readonly string[], key: Row, values: Row, expected: Row | undefined): Promise<Row> {
  // Lock the row first: the existence and expected-value checks below then cannot race other writers.
  const current = await readByKey(run, table, primaryKey, key, true);
  if (current === null) throw notFound(table, key);
  const where = joinSql([keyCondition(table, primaryKey, key), expectedCondition(table, expected)], ' AND ');
  const columns = Object.keys(values);
  if (columns.length === 0) {
    const result = await run(sql(`SELECT 1 AS present FROM ${quoteTable(table.model)} WHERE ${where.text}`, where.params));
    if (result.rows.length === 0) throw conflict(table, key);
    return current;
  }
  const assignments = columns.map((column) => sql(`${quoteIdentifier(column)} = ${placeholderFor(codecOf(table, column))}`, [encodeParam(codecOf(table, column), values[column] ?? null, column)]));
  const set = joinSql(assignments, ', ');
  const result = await run(sql(`UPDATE ${quoteTable(table.model)} SET ${set.text} WHERE ${where.text}`, [...set.params, ...where.params]));
  if (result.affectedRows === 0) throw conflict(table, key);
  const newKey: Record<string, Value> = {};
  for (const column of primaryKey) newKey[column] = values[column] !== undefined ? (values[column] ?? null) : (key[column] ?? null);
  const row = await readByKey(run, table, primaryKey, newKey, false);
  if (row === null) throw notFound(table, newKey);
  return row;
}

async function remove(run: SessionRun, table: IntrospectedTable, primaryKey: readonly string[], key: Row, expected: Row | undefined): Promise<Row> {
  const before = await readByKey(run, table, primaryKey, key, true);
  if (before === null) throw notFound(table, key);
  const where = joinSql([keyCondition(table, primaryKey, key), expectedCondition(table, expected)], ' AND ');
  const result = await run(sql(`DELETE FROM ${quoteTable(table.model)} WHERE ${where.text}`, where.params));
  if (result.affectedRows === 0) throw conflict(table, key);
  return before;
}

/** Constraint and concurrency errors of a write, as EntenteErrors (others pass through). */
export function translateWriteError(error: unknown): unknown {
  if (!(error instanceof Error) || !('errno' in error)) return error;
  const errno = Number(error.errno);
  const message = 'sqlMessage' in error ? String(error.sqlMessage) : error.message;
  if (errno === 1062) return new EntenteError('DB_CONFLICT', `a row with the same unique key already exists: ${message}`, { cause: error });
  if (errno === 1451 || errno === 1452) return new EntenteError('DB_CONFLICT', `a foreign key forbids this write: ${message}`, { cause: error });
  if (errno === 1213 || errno === 1205) return new EntenteError('DB_CONFLICT', `the database aborted the transaction to resolve a lock conflict (${message}); nothing was written — retry it`, { cause: error });
  return error;
}
