// The replica of shared types owned by other partners, in schema `entente_replica`, and the ledger
// height applied to it, in `entente.replica_state`. Applying a height is one transaction: lock the
// state row, skip if the height is already applied, upsert/delete every change, record the height.
import { EntenteError } from '../../common/errors.ts';
import type { ReplicaChange, ReplicaStore, ReplicaTableDefinition, TableRef, ValueType } from '../connector.ts';
import { parameter, qualifiedName, quoteIdentifier, SqlParams, type TableCodecs } from './postgres-sql.ts';
import type { SqlExecutor } from './sql-executor.ts';

export const replicaSchema = 'entente_replica';

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

    async ensureTables(definitions: readonly ReplicaTableDefinition[]) {
      await executor.transaction(async (session) => {
        await session.script(stateScript);
        for (const definition of definitions) {
          const target = qualifiedName(tableRef(definition.name));
          const columns = definition.columns.map((column) => `${quoteIdentifier(column.name)} ${sqlTypeOf(column.type)}${column.nullable ? '' : ' not null'}`);
          await session.script(`create table if not exists ${target} (${columns.join(', ')}, primary key (${definition.primaryKey.map(quoteIdentifier).join(', ')}))`);
          // Columns added later are nullable: existing rows have no value for them.
          for (const column of definition.columns) {
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
      return executor.transaction(async (session) => {
        const [state] = await session.query('select applied_height::text as height from entente.replica_state for update');
        if (state === undefined) throw new EntenteError('USAGE', 'The replica has no state yet; call ensureTables first.');
        if (Number(state['height']) >= height) return 'already-applied' as const;
        for (const change of changes) {
          const table = resolved.get(change.table) as TableCodecs;
          const params = new SqlParams();
          const primaryKey = table.model.primaryKey ?? [];
          if (change.op === 'delete' || change.after === null) {
            const condition = primaryKey.map((name) => `${quoteIdentifier(name)} = ${parameter(table, params, name, change.key[name] ?? null)}`).join(' and ');
            await session.query(`delete from ${qualifiedName(tableRef(change.table))} where ${condition}`, params.values);
            continue;
          }
          const after = change.after;
          const columns = Object.keys(after);
          const values = columns.map((name) => parameter(table, params, name, after[name] ?? null));
          const updates = columns.filter((name) => !primaryKey.includes(name)).map((name) => `${quoteIdentifier(name)} = excluded.${quoteIdentifier(name)}`);
          const onConflict = updates.length > 0 ? `do update set ${updates.join(', ')}` : 'do nothing';
          await session.query(
            `insert into ${qualifiedName(tableRef(change.table))} (${columns.map(quoteIdentifier).join(', ')}) values (${values.join(', ')}) ` +
              `on conflict (${primaryKey.map(quoteIdentifier).join(', ')}) ${onConflict}`,
            params.values,
          );
        }
        await session.query('update entente.replica_state set applied_height = $1::bigint', [String(height)]);
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
