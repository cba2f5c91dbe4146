// `entente install-capture` and `entente uninstall-capture`: the explicit, idempotent, removable step
// that lets Entente see every committed change to the shared tables (triggers + outbox for PostgreSQL
// and PGlite; each connector decides what capture means for its database).
import type { Command } from 'commander';
import { EntenteError } from '../../../common/errors.ts';
import type { Connector, TableRef } from '../../../connectors/connector.ts';
import { openConnector } from '../../../connectors/index.ts';
import type { CliIo } from '../main.ts';

interface InstallOptions {
  readonly db: string;
  readonly table?: readonly string[];
  readonly all?: boolean;
  readonly schema?: readonly string[];
  readonly capture?: string;
}

export function registerCapture(program: Command, io: CliIo): void {
  program
    .command('install-capture')
    .description('install change capture (outbox triggers) on the shared tables of a database; run again to change the set')
    .requiredOption('--db <url>', 'database URL (postgres://…, pglite:<dir>, mysql://…, mongodb://…)')
    .option('--table <schema.table...>', 'a table to capture (repeat or separate with commas); the installed set becomes exactly these')
    .option('--all', 'capture every table with a primary key in the introspected schemas')
    .option('--schema <name...>', 'schemas to introspect with --all (default: the connection search path)')
    .option('--capture <method>', 'PostgreSQL: outbox-trigger (default) or logical-decoding (needs wal_level = logical; set database.capture in the gateway config too)')
    .action(async (options: InstallOptions) => {
      await withConnector(options.db, options.schema, options.capture, async (connector) => {
        const tables = await chooseTables(connector, options);
        await connector.capture.install(tables);
        const installed = await connector.capture.installedTables();
        io.stdout(`capture (${connector.capture.method}) installed on ${installed.length} table(s):\n${installed.map((ref) => `  ${ref.schema}.${ref.name}\n`).join('')}`);
      });
    });
  program
    .command('uninstall-capture')
    .description("remove Entente's change capture (triggers, outbox and functions) from a database")
    .requiredOption('--db <url>', 'database URL')
    .option('--capture <method>', 'PostgreSQL: the method installed, outbox-trigger (default) or logical-decoding')
    .action(async (options: { readonly db: string; readonly capture?: string }) => {
      await withConnector(options.db, undefined, options.capture, async (connector) => {
        const before = await connector.capture.installedTables();
        await connector.capture.uninstall();
        io.stdout(`capture removed from ${before.length} table(s); positions not yet acknowledged are gone with the outbox.\n`);
      });
    });
}

async function withConnector(url: string, schemas: readonly string[] | undefined, capture: string | undefined, work: (connector: Connector) => Promise<void>): Promise<void> {
  if (capture !== undefined && capture !== 'outbox-trigger' && capture !== 'logical-decoding') {
    throw new EntenteError('USAGE', `--capture is outbox-trigger (the default) or logical-decoding, not "${capture}".`);
  }
  const connector = await openConnector(url, { ...(schemas === undefined ? {} : { schemas }), ...(capture === undefined ? {} : { capture }) });
  try {
    await work(connector);
  } finally {
    await connector.close();
  }
}

async function chooseTables(connector: Connector, options: InstallOptions): Promise<readonly TableRef[]> {
  const named = (options.table ?? []).flatMap((entry) => entry.split(',')).map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (named.length > 0 && options.all === true) throw new EntenteError('USAGE', 'Use either --table or --all, not both.');
  if (options.all === true) {
    const model = await connector.introspect(options.schema === undefined ? {} : { schemas: options.schema });
    return model.tables.filter((table) => table.writable && table.kind !== 'view').map((table) => ({ schema: table.schema, name: table.name }));
  }
  if (named.length === 0) throw new EntenteError('USAGE', 'Name the shared tables with --table schema.table (repeatable), or pass --all for every table with a primary key.');
  return named.map((entry) => {
    const dot = entry.indexOf('.');
    if (dot <= 0 || dot === entry.length - 1) throw new EntenteError('USAGE', `"${entry}" is not schema.table (for example public.orders).`);
    return { schema: entry.slice(0, dot), name: entry.slice(dot + 1) };
  });
}
