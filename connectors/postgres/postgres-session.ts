// Opening the executor for a server URL, directly or through a pooling proxy (PgBouncer), with the session
// settings the codecs rely on checked, not assumed. A direct connection carries every setting in the
// startup packet's `options`. PgBouncer refuses that parameter (or, with ignore_startup_parameters, drops
// it silently, and bytea or intervals would be read in whatever form the server defaults to): either is detected on
// the first connection, and the connector goes on in pooled mode (sql-executor.ts), where only TimeZone
// and DateStyle can be chosen and the others must already be the server's defaults.
import pg from 'pg';
import { EntenteError } from '../../common/errors.ts';
import { connectionError } from './postgres-errors.ts';
import { createPgExecutor, pooledStartupSettings, sessionSettings, type SqlExecutor } from './sql-executor.ts';

export interface OpenedExecutor {
  readonly executor: SqlExecutor;
  /** The URL leads through a pooler: no session state, no replication connection. */
  readonly pooled: boolean;
}

const settingNames = Object.keys(sessionSettings);
const settingsQuery = `select ${settingNames.map((name, index) => `current_setting('${name}') as s${index}`).join(', ')}`;

interface SettingMismatch {
  readonly name: string;
  readonly expected: string;
  readonly actual: string;
}

export async function openPgExecutor(url: string, where: string): Promise<OpenedExecutor> {
  const direct = createPgExecutor({ connectionString: url });
  try {
    if ((await mismatchedSettings(direct)).length === 0) return { executor: direct, pooled: false };
    // Connected, yet the startup `options` were not applied: a pooler that ignores them.
  } catch (error) {
    if (!isStartupParameterRefusal(error)) {
      await direct.close().catch(() => undefined);
      throw connectionError(error, where);
    }
  }
  await direct.close().catch(() => undefined);
  const pooled = createPgExecutor({ connectionString: url, pooled: true });
  try {
    const mismatches = await mismatchedSettings(pooled);
    if (mismatches.length > 0) throw settingsError(mismatches, url, where);
    await requireTransactions(pooled, where);
    return { executor: pooled, pooled: true };
  } catch (error) {
    await pooled.close().catch(() => undefined);
    throw connectionError(error, where);
  }
}

/** PgBouncer's answer to a startup parameter it does not know (`options`, `IntervalStyle`, `replication`). */
export function isStartupParameterRefusal(error: unknown): boolean {
  return error instanceof pg.DatabaseError && error.code === '08P01' && /unsupported startup parameter/i.test(error.message);
}

/**
 * PgBouncer in statement pooling refuses every transaction block, and ends the client's connection when
 * one is tried anyway: each write (the change with its capture) is one transaction, so say so at open.
 */
async function requireTransactions(executor: SqlExecutor, where: string): Promise<void> {
  try {
    await executor.transaction((session) => session.query('select 1'));
  } catch (error) {
    if (!(error instanceof pg.DatabaseError && /statement pooling/i.test(error.message))) throw error;
    throw new EntenteError('DB_UNSUPPORTED', `The pooler at ${where} runs in statement pooling, which allows no transactions; Entente writes each change and its capture in one transaction. Give Entente's database user transaction or session pooling (PgBouncer: pool_mode = transaction for that user or database entry), or point the URL at PostgreSQL itself.`, {
      cause: error,
      details: { pooled: true },
    });
  }
}

async function mismatchedSettings(executor: SqlExecutor): Promise<readonly SettingMismatch[]> {
  const [row] = await executor.query(settingsQuery);
  const mismatches: SettingMismatch[] = [];
  settingNames.forEach((name, index) => {
    const expected = sessionSettings[name]!;
    const actual = row?.[`s${index}`] ?? '';
    // The server spells DateStyle back as "ISO, YMD".
    if (normalized(actual) !== normalized(expected)) mismatches.push({ name, expected, actual });
  });
  return mismatches;
}

function normalized(setting: string): string {
  return setting.replace(/\s+/g, '').toLowerCase();
}

function settingsError(mismatches: readonly SettingMismatch[], url: string, where: string): EntenteError {
  const database = databaseOf(url);
  const found = mismatches.map((m) => `${m.name} = ${m.actual} (needs ${m.expected})`).join(', ');
  const tracked = mismatches.filter((m) => pooledStartupSettings.includes(m.name));
  const fixes = mismatches.filter((m) => !pooledStartupSettings.includes(m.name)).map((m) => `ALTER DATABASE ${quoteName(database)} SET ${m.name} = '${m.expected}';`);
  const advice = [
    fixes.length > 0 ? `A pooler passes no session settings but TimeZone and DateStyle, so give the database these defaults: ${fixes.join(' ')}` : '',
    tracked.length > 0 ? 'The pooler did not apply TimeZone or DateStyle either; PgBouncer tracks both, other poolers may not.' : '',
    'Or point the URL at PostgreSQL itself.',
  ].filter((part) => part !== '');
  return new EntenteError('DB_UNSUPPORTED', `PostgreSQL behind the pooler at ${where} runs with ${found}; Entente reads values in the server's text form and relies on these settings. ${advice.join(' ')}`, {
    details: { pooled: true },
  });
}

function databaseOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
  } catch {
    return '<database>';
  }
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
