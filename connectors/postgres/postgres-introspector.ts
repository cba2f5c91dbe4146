// Introspection as one catalog query plus one pure parse function (the PostGraphile pattern): the
// query returns a single JSON document whose every array is ordered in SQL; `parseIntrospection` turns
// it into the contract's DatabaseModel, sorted in code-unit order, with warnings instead of failures.
// Partitions are hidden (the partitioned parent stands for them); domains resolve to their base type.
import {
  introspectionVersion,
  type ColumnModel,
  type DatabaseModel,
  type EnumModel,
  type ForeignKeyModel,
  type IntrospectionWarning,
  type TableKind,
  type TableModel,
  type UniqueConstraintModel,
} from '../connector.ts';
import { isUnsupported, valueTypeOf, type PgTypeInfo } from './postgres-types.ts';

/** Resolves a type OID expression to the JSON of its PgTypeInfo (domains → base type; arrays → element). */
function typeJson(oidExpression: string, depth: number): string {
  const [t, b, n] = [`t${depth}`, `b${depth}`, `n${depth}`];
  const element = depth > 0 ? `case when ${b}.typcategory = 'A' and ${b}.typelem <> 0 then ${typeJson(`${b}.typelem`, depth - 1)} end` : 'null';
  return `(select json_build_object(
      'name', ${b}.typname, 'schema', ${n}.nspname, 'typtype', ${b}.typtype,
      'enumValues', case when ${b}.typtype = 'e' then (select json_agg(e.enumlabel order by e.enumsortorder) from pg_catalog.pg_enum e where e.enumtypid = ${b}.oid) end,
      'element', ${element})
    from pg_catalog.pg_type ${t}
    join pg_catalog.pg_type ${b} on ${b}.oid = case when ${t}.typtype = 'd' then ${t}.typbasetype else ${t}.oid end
    join pg_catalog.pg_namespace ${n} on ${n}.oid = ${b}.typnamespace
    where ${t}.oid = ${oidExpression})`;
}

/** $1: the schemas to introspect (text[]). */
export const introspectionQuery = `
with rels as (
  select c.oid, n.nspname as schema_name, c.relname, c.relkind
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'f') and not c.relispartition and n.nspname = any($1::text[])
),
-- Each distinct column type is described once (hundreds of tables share a handful of types).
type_info as materialized (
  select ct.oid, ${typeJson('ct.oid', 1)} as info
  from (select distinct a.atttypid as oid from pg_catalog.pg_attribute a join rels r on r.oid = a.attrelid
        where a.attnum > 0 and not a.attisdropped) ct
)
select json_build_object(
  'serverVersion', current_setting('server_version'),
  'database', current_database(),
  'user', current_user,
  'tables', coalesce((select json_agg(json_build_object(
      'schema', r.schema_name, 'name', r.relname, 'relkind', r.relkind,
      'comment', pg_catalog.obj_description(r.oid, 'pg_class'),
      'columns', (select coalesce(json_agg(json_build_object(
          'name', a.attname, 'ordinal', a.attnum, 'nativeType', pg_catalog.format_type(a.atttypid, a.atttypmod),
          'notNull', a.attnotnull, 'default', pg_catalog.pg_get_expr(d.adbin, d.adrelid),
          'identity', a.attidentity, 'generatedKind', a.attgenerated,
          'comment', pg_catalog.col_description(r.oid, a.attnum),
          'type', (select ti.info from type_info ti where ti.oid = a.atttypid)) order by a.attnum), '[]'::json)
        from pg_catalog.pg_attribute a
        left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped),
      'constraints', (select coalesce(json_agg(json_build_object(
          'name', k.conname, 'type', k.contype,
          'columns', (select json_agg(ka.attname order by u.ord) from unnest(k.conkey) with ordinality u(attnum, ord)
                      join pg_catalog.pg_attribute ka on ka.attrelid = k.conrelid and ka.attnum = u.attnum),
          'refSchema', rn.nspname, 'refName', rc.relname,
          'refColumns', (select json_agg(fa.attname order by u.ord) from unnest(k.confkey) with ordinality u(attnum, ord)
                         join pg_catalog.pg_attribute fa on fa.attrelid = k.confrelid and fa.attnum = u.attnum)
        ) order by k.conname), '[]'::json)
        from pg_catalog.pg_constraint k
        left join pg_catalog.pg_class rc on rc.oid = k.confrelid
        left join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
        where k.conrelid = r.oid and k.contype in ('p', 'u', 'f') and k.conparentid = 0)
    ) order by r.schema_name, r.relname) from rels r), '[]'::json),
  'enums', coalesce((select json_agg(json_build_object(
      'schema', n.nspname, 'name', t.typname,
      'values', (select json_agg(e.enumlabel order by e.enumsortorder) from pg_catalog.pg_enum e where e.enumtypid = t.oid)
    ) order by n.nspname, t.typname)
    from pg_catalog.pg_type t join pg_catalog.pg_namespace n on n.oid = t.typnamespace
    where t.typtype = 'e' and n.nspname = any($1::text[])), '[]'::json)
)::text as model`;

/** The schemas of `current_schemas(false)` minus system and Entente's own: the default selection. */
export const defaultSchemasQuery = `select coalesce(json_agg(s order by s), '[]'::json)::text as schemas from unnest(current_schemas(false)) s`;

export function isInternalSchema(schema: string): boolean {
  return schema === 'pg_catalog' || schema === 'information_schema' || schema.startsWith('pg_') || schema === 'entente' || schema === 'entente_replica';
}

// ─── Parsing ─────────────────────────────────────────────────────────────────────────────────

interface RawColumn {
  readonly name: string;
  readonly ordinal: number;
  readonly nativeType: string;
  readonly notNull: boolean;
  readonly default: string | null;
  readonly identity: string;
  readonly generatedKind: string;
  readonly comment: string | null;
  readonly type: PgTypeInfo;
}

interface RawConstraint {
  readonly name: string;
  readonly type: 'p' | 'u' | 'f';
  readonly columns: readonly string[] | null;
  readonly refSchema: string | null;
  readonly refName: string | null;
  readonly refColumns: readonly string[] | null;
}

interface RawTable {
  readonly schema: string;
  readonly name: string;
  readonly relkind: string;
  readonly comment: string | null;
  readonly columns: readonly RawColumn[];
  readonly constraints: readonly RawConstraint[];
}

interface RawModel {
  readonly serverVersion: string;
  readonly database: string;
  readonly user: string;
  readonly tables: readonly RawTable[];
  readonly enums: readonly EnumModel[];
}

export function parseIntrospection(json: string, family: 'postgres' | 'pglite'): DatabaseModel {
  const raw = JSON.parse(json) as RawModel;
  const warnings: IntrospectionWarning[] = [];
  const tables = raw.tables.map((table) => parseTable(table, warnings)).sort((a, b) => compareCodeUnits(`${a.schema}\u0000${a.name}`, `${b.schema}\u0000${b.name}`));
  const enums = [...raw.enums].map((entry) => ({ schema: entry.schema, name: entry.name, values: entry.values ?? [] })).sort((a, b) => compareCodeUnits(`${a.schema}\u0000${a.name}`, `${b.schema}\u0000${b.name}`));
  return {
    introspectionVersion,
    family,
    serverVersion: raw.serverVersion,
    database: raw.database,
    user: raw.user,
    tables,
    enums,
    warnings: warnings.sort((a, b) => compareCodeUnits(warningKey(a), warningKey(b))),
  };
}

const kindByRelkind: Readonly<Record<string, TableKind>> = { r: 'table', f: 'table', p: 'partitioned-table', v: 'view', m: 'view' };

function parseTable(raw: RawTable, warnings: IntrospectionWarning[]): TableModel {
  const kind = kindByRelkind[raw.relkind] ?? 'table';
  const ref = { schema: raw.schema, name: raw.name };
  const columns = raw.columns.map((column): ColumnModel => {
    const type = valueTypeOf(column.type);
    if (isUnsupported(type)) {
      warnings.push({
        code: 'UNSUPPORTED_TYPE',
        table: ref,
        column: column.name,
        message: `${raw.schema}.${raw.name}.${column.name} has type ${column.nativeType}, which has no faithful GraphQL scalar: it is served as its PostgreSQL text form (a String).`,
      });
    }
    return {
      name: column.name,
      ordinal: column.ordinal,
      nativeType: column.nativeType,
      type,
      nullable: !column.notNull,
      defaultExpression: column.default,
      generated: column.identity !== '' || column.generatedKind !== '' || (column.default ?? '').startsWith('nextval('),
      comment: column.comment,
    };
  });
  const primary = raw.constraints.find((constraint) => constraint.type === 'p');
  const primaryKey = primary?.columns ?? null;
  const uniqueConstraints: UniqueConstraintModel[] = raw.constraints
    .filter((constraint) => constraint.type === 'u')
    .map((constraint) => ({ name: constraint.name, columns: constraint.columns ?? [] }));
  const foreignKeys: ForeignKeyModel[] = raw.constraints
    .filter((constraint) => constraint.type === 'f')
    .map((constraint) => ({
      name: constraint.name,
      columns: constraint.columns ?? [],
      references: { schema: constraint.refSchema ?? '', name: constraint.refName ?? '' },
      referencedColumns: constraint.refColumns ?? [],
    }));
  const isView = kind === 'view';
  if (!isView && primaryKey === null) {
    warnings.push({
      code: 'NO_PRIMARY_KEY',
      table: ref,
      column: null,
      message: `${raw.schema}.${raw.name} has no primary key: it is served read-only and its changes cannot be shared. Add one (ALTER TABLE ... ADD PRIMARY KEY (...)) to make it writable.`,
    });
  }
  return {
    schema: raw.schema,
    name: raw.name,
    kind,
    comment: raw.comment,
    columns,
    primaryKey,
    uniqueConstraints: uniqueConstraints.sort((a, b) => compareCodeUnits(a.name, b.name)),
    foreignKeys: foreignKeys.sort((a, b) => compareCodeUnits(a.name, b.name)),
    writable: !isView && primaryKey !== null,
  };
}

function warningKey(warning: IntrospectionWarning): string {
  return `${warning.table?.schema ?? ''}\u0000${warning.table?.name ?? ''}\u0000${warning.column ?? ''}\u0000${warning.code}`;
}

export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
