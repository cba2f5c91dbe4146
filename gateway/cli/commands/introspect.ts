import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerIntrospect(program: Command, _io: CliIo): void {
  program
    .command('introspect')
    .description('print GraphQL SDL (with Entente directives) for the tables of a database')
    .requiredOption('--db <url>', 'database URL (postgres://…, mysql://…, mongodb://…, or pglite:<dir>)')
    .option('--partner <name>', 'partner that owns the introspected types')
    .action(() => notImplemented('introspect', 6));
}
