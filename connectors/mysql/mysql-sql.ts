// Small SQL-building helpers for MySQL/MariaDB. Identifiers are always backtick-quoted (a backtick
// inside a name is doubled); values always travel as `?` parameters, never inside the SQL text.
import type { TableRef } from '../connector.ts';

/** A parameterized SQL fragment. */
export interface Sql {
  readonly text: string;
  readonly params: readonly unknown[];
}

export function quoteIdentifier(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export function quoteTable(table: TableRef): string {
  return `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;
}

/** A string literal for DDL, where MySQL does not accept parameters (COMMENT, trigger bodies). */
export function quoteString(value: string): string {
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/\0/g, '\\0') + "'";
}

export function sql(text: string, params: readonly unknown[] = []): Sql {
  return { text, params };
}

export function joinSql(parts: readonly Sql[], separator: string): Sql {
  return { text: parts.map((part) => part.text).join(separator), params: parts.flatMap((part) => part.params) };
}

/** `(?, ?, ?)` for a tuple of n values. */
export function placeholders(count: number): string {
  return `(${Array.from({ length: count }, () => '?').join(', ')})`;
}

export function tableKey(table: TableRef): string {
  return `${table.schema}\u0000${table.name}`;
}
