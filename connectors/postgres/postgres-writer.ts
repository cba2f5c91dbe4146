// Writes: every operation of a call in one transaction, each returning its row. The origin is set as a
// transaction-local setting first, so the capture triggers record it with the changes it causes.
// Optimistic concurrency is a condition on the UPDATE/DELETE itself; when it matches no row, one more
// statement tells a stale version (DB_CONFLICT) from a missing row (DB_NOT_FOUND).
import { EntenteError } from '../../common/errors.ts';
import type { ConnectorLimits, Row, Value, WriteOperation, WriteOptions, WriteResult } from '../connector.ts';
import { decodeRow, parameter, qualifiedName, quoteIdentifier, SqlParams, type TableCodecs } from './postgres-sql.ts';
import type { TableLookup } from './postgres-reader.ts';
import type { SqlExecutor, SqlSession } from './sql-executor.ts';

export async function write(
  executor: SqlExecutor,
  tables: TableLookup,
  limits: ConnectorLimits,
  operations: readonly WriteOperation[],
  options: WriteOptions,
): Promise<readonly WriteResult[]> {
  if (operations.length === 0) return [];
  if (operations.length > limits.operationsPerWriteMax) {
    throw new EntenteError('LIMIT_EXCEEDED', `A write may hold at most ${limits.operationsPerWriteMax} operations; this one has ${operations.length}. Split it into several writes.`);
  }
  const resolved = await Promise.all(operations.map(async (operation) => writableTable(await tables(operation.table))));
  return executor.transaction(async (session) => {
    if (options.origin !== undefined) await session.query(`select set_config('entente.origin', $1, true)`, [options.origin]);
    const results: WriteResult[] = [];
    for (const [index, operation] of operations.entries()) {
      results.push({ row: await writeOne(session, resolved[index] as TableCodecs, operation) });
    }
    return results;
  });
}

function writableTable(table: TableCodecs): TableCodecs {
  const { model } = table;
  if (model.kind === 'view') {
    throw new EntenteError('DB_UNSUPPORTED', `${model.schema}.${model.name} is a view and read-only through Entente; write to the table(s) it selects from.`);
  }
  if (model.primaryKey === null) {
    throw new EntenteError('DB_UNSUPPORTED', `${model.schema}.${model.name} has no primary key, so it is read-only; add one (ALTER TABLE ${qualifiedName(model)} ADD PRIMARY KEY (...)) to write to it.`);
  }
  return table;
}

async function writeOne(session: SqlSession, table: TableCodecs, operation: WriteOperation): Promise<Row> {
  const target = qualifiedName(operation.table);
  const primaryKey = table.model.primaryKey ?? [];
  const params = new SqlParams();
  switch (operation.op) {
    case 'insert':
    case 'upsert': {
      const columns = Object.keys(operation.values);
      const insert =
        columns.length === 0
          ? `insert into ${target} as t default values`
          : `insert into ${target} as t (${columns.map(quoteIdentifier).join(', ')}) values (${columns.map((name) => parameter(table, params, name, operation.values[name] ?? null)).join(', ')})`;
      let conflict = '';
      if (operation.op === 'upsert') {
        const updated = columns.filter((name) => !primaryKey.includes(name));
        const assignments = (updated.length > 0 ? updated : primaryKey.slice(0, 1)).map((name) => `${quoteIdentifier(name)} = excluded.${quoteIdentifier(name)}`);
        conflict = ` on conflict (${primaryKey.map(quoteIdentifier).join(', ')}) do update set ${assignments.join(', ')}`;
      }
      const [row] = await session.query(`${insert}${conflict} returning t.*`, params.values);
      return decodeRow(table, row ?? {});
    }
    case 'update': {
      const columns = Object.keys(operation.values);
      const assignments = columns.length === 0
        ? [`${quoteIdentifier(primaryKey[0] as string)} = t.${quoteIdentifier(primaryKey[0] as string)}`]
        : columns.map((name) => `${quoteIdentifier(name)} = ${parameter(table, params, name, operation.values[name] ?? null)}`);
      const condition = keyCondition(table, operation.key, operation.expected, params);
      const [row] = await session.query(`update ${target} as t set ${assignments.join(', ')} where ${condition} returning t.*`, params.values);
      if (row === undefined) return missingRow(session, table, operation.key, operation.expected);
      return decodeRow(table, row);
    }
    case 'delete': {
      const condition = keyCondition(table, operation.key, operation.expected, params);
      const [row] = await session.query(`delete from ${target} as t where ${condition} returning t.*`, params.values);
      if (row === undefined) return missingRow(session, table, operation.key, operation.expected);
      return decodeRow(table, row);
    }
  }
}

function keyCondition(table: TableCodecs, key: Row, expected: Row | undefined, params: SqlParams): string {
  const primaryKey = table.model.primaryKey ?? [];
  const missing = primaryKey.filter((name) => !(name in key) || key[name] === null);
  if (missing.length > 0) {
    throw new EntenteError('USAGE', `The key of ${table.model.schema}.${table.model.name} needs every primary key column (${primaryKey.join(', ')}); missing: ${missing.join(', ')}.`);
  }
  const parts = primaryKey.map((name) => `t.${quoteIdentifier(name)} = ${parameter(table, params, name, key[name] ?? null)}`);
  for (const [name, value] of Object.entries(expected ?? {})) {
    parts.push(expectedCondition(table, params, name, value));
  }
  return parts.join(' and ');
}

function expectedCondition(table: TableCodecs, params: SqlParams, name: string, value: Value): string {
  return value === null ? `t.${quoteIdentifier(name)} is null` : `t.${quoteIdentifier(name)} = ${parameter(table, params, name, value)}`;
}

async function missingRow(session: SqlSession, table: TableCodecs, key: Row, expected: Row | undefined): Promise<never> {
  const describe = `${table.model.schema}.${table.model.name} ${JSON.stringify(key)}`;
  if (expected !== undefined && Object.keys(expected).length > 0) {
    const params = new SqlParams();
    const rows = await session.query(`select 1 from ${qualifiedName(table.model)} t where ${keyCondition(table, key, undefined, params)}`, params.values);
    if (rows.length > 0) {
      throw new EntenteError('DB_CONFLICT', `The row ${describe} changed since it was read (expected ${Object.keys(expected).join(', ')} no longer match); read it again and retry.`, {
        details: { table: `${table.model.schema}.${table.model.name}` },
      });
    }
  }
  throw new EntenteError('DB_NOT_FOUND', `No row ${describe}; it may have been deleted.`, { details: { table: `${table.model.schema}.${table.model.name}` } });
}
