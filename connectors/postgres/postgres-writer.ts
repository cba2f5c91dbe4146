// Writes: every operation of a call atomic, each returning its row. A single operation — what a mutation
// sends — is one statement in its own implicit transaction: one round trip instead of four (BEGIN, the
// origin, the change, COMMIT), which was most of the gateway's and the server's CPU per mutation. Several
// operations share one explicit transaction. Every statement sets the write origin itself (originSetting),
// so the capture triggers record it with the changes it causes. The statements are prepared once per
// connection: their text depends only on the table, the operation and its column names.
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
  /** Logical-decoding capture reads the origin from a logical message in the transaction, not a setting. */
  originAsLogicalMessage = false,
): Promise<readonly WriteResult[]> {
  if (operations.length === 0) return [];
  if (operations.length > limits.operationsPerWriteMax) {
    throw new EntenteError('LIMIT_EXCEEDED', `A write may hold at most ${limits.operationsPerWriteMax} operations; this one has ${operations.length}. Split it into several writes.`);
  }
  const resolved = await Promise.all(operations.map(async (operation) => writableTable(await tables(operation.table))));
  const origin = options.origin === undefined ? undefined : { value: options.origin, asLogicalMessage: originAsLogicalMessage };
  const statements = operations.map((operation, index) => writeStatement(resolved[index] as TableCodecs, operation, origin));
  if (statements.length === 1) return [{ row: await runStatement(executor, statements[0] as WriteStatement) }];
  return executor.transaction(async (session) => {
    const results: WriteResult[] = [];
    for (const statement of statements) results.push({ row: await runStatement(session, statement) });
    return results;
  });
}

interface WriteOrigin {
  readonly value: string;
  readonly asLogicalMessage: boolean;
}

/**
 * The one place the write origin is set: a CTE every write statement joins, so the setting is made inside
 * the statement before its row reaches the table's triggers (the capture trigger, AFTER ROW, reads it with
 * current_setting), and ends with the transaction (is_local), implicit or explicit. With logical-decoding
 * capture the same CTE also writes the origin as a transactional logical message, which the decoder
 * attaches to the transaction's changes. MATERIALIZED: evaluated once per statement, and never dropped as
 * unused. The origin is always the statement's first parameter.
 */
function originSetting(params: SqlParams, origin: WriteOrigin | undefined): { readonly with: string; readonly from: string } {
  if (origin === undefined) return { with: '', from: '' };
  const value = params.add(origin.value);
  const message = origin.asLogicalMessage ? `, pg_catalog.pg_logical_emit_message(true, 'entente.origin', ${value})` : '';
  return { with: `with entente_origin as materialized (select set_config('entente.origin', ${value}, true)${message}) `, from: ' from entente_origin' };
}

interface WriteStatement {
  readonly text: string;
  readonly params: SqlParams;
  readonly table: TableCodecs;
  readonly operation: WriteOperation;
}

function writeStatement(table: TableCodecs, operation: WriteOperation, origin: WriteOrigin | undefined): WriteStatement {
  const target = qualifiedName(operation.table);
  const primaryKey = table.model.primaryKey ?? [];
  const params = new SqlParams();
  const source = originSetting(params, origin);
  // The model's columns by name, not t.*: a column added to the table later must not change the result
  // type of a statement prepared before (PostgreSQL refuses to run such a prepared statement).
  const returning = ` returning ${table.model.columns.map((column) => `t.${quoteIdentifier(column.name)}`).join(', ')}`;
  switch (operation.op) {
    case 'insert':
    case 'upsert': {
      const columns = Object.keys(operation.values);
      // INSERT … SELECT, not VALUES, so the row can come from the origin CTE; the target columns still
      // type the parameters. No columns: every column takes its default.
      const values = columns.map((name) => parameter(table, params, name, operation.values[name] ?? null));
      const insert = columns.length === 0 && source.from === ''
        ? `insert into ${target} as t default values`
        : `insert into ${target} as t${columns.length === 0 ? '' : ` (${columns.map(quoteIdentifier).join(', ')})`} select ${values.join(', ')}${source.from}`;
      let conflict = '';
      if (operation.op === 'upsert') {
        const updated = columns.filter((name) => !primaryKey.includes(name));
        const assignments = (updated.length > 0 ? updated : primaryKey.slice(0, 1)).map((name) => `${quoteIdentifier(name)} = excluded.${quoteIdentifier(name)}`);
        conflict = ` on conflict (${primaryKey.map(quoteIdentifier).join(', ')}) do update set ${assignments.join(', ')}`;
      }
      return { text: `${source.with}${insert}${conflict}${returning}`, params, table, operation };
    }
    case 'update': {
      const columns = Object.keys(operation.values);
      const assignments = columns.length === 0
        ? [`${quoteIdentifier(primaryKey[0] as string)} = t.${quoteIdentifier(primaryKey[0] as string)}`]
        : columns.map((name) => `${quoteIdentifier(name)} = ${parameter(table, params, name, operation.values[name] ?? null)}`);
      const condition = keyCondition(table, operation.key, operation.expected, params);
      return { text: `${source.with}update ${target} as t set ${assignments.join(', ')}${source.from} where ${condition}${returning}`, params, table, operation };
    }
    case 'delete': {
      const condition = keyCondition(table, operation.key, operation.expected, params);
      const using = source.from === '' ? '' : ' using entente_origin';
      return { text: `${source.with}delete from ${target} as t${using} where ${condition}${returning}`, params, table, operation };
    }
  }
}

async function runStatement(session: SqlSession, statement: WriteStatement): Promise<Row> {
  const { table, operation } = statement;
  const [row] = await session.query(statement.text, statement.params.values, { prepare: true });
  if (row !== undefined) return decodeRow(table, row);
  if (operation.op === 'update' || operation.op === 'delete') return missingRow(session, table, operation.key, operation.expected);
  return {}; // a BEFORE INSERT trigger skipped the row
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
