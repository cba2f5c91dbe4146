import type { Command } from 'commander';
import { openConnector } from '../../../connectors/index.ts';
import { sdlFromDatabase } from '../../../schema/sdl-from-database.ts';
import type { CliIo } from '../main.ts';

export function registerIntrospect(program: Command, io: CliIo): void {
  program
    .command('introspect')
    .description('print GraphQL SDL (with Entente directives) for the tables of a database')
    .requiredOption('--db <url>', 'database URL (postgres://…, mysql://…, mongodb://…, or pglite:<dir>)')
    .option('--partner <name>', 'partner that owns the introspected types')
    .option('--schema <names...>', 'database schemas to include (PostgreSQL); default: the connection\'s own')
    .action(async (options: { readonly db: string; readonly partner?: string; readonly schema?: readonly string[] }) => {
      io.stdout(await introspectToSdl(options.db, options.partner, options.schema));
    });
}

/** Introspects the database at `url` and returns its partner SDL; the connection is closed either way. */
export async function introspectToSdl(url: string, partner?: string, schemas?: readonly string[]): Promise<string> {
  const connector = await openConnector(url, schemas === undefined ? {} : { schemas });
  try {
    const model = await connector.introspect(schemas === undefined ? {} : { schemas });
    return sdlFromDatabase(model, partner === undefined ? {} : { partner });
  } finally {
    await connector.close();
  }
}
