import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerInit(program: Command, _io: CliIo): void {
  program
    .command('init')
    .description('point Entente at your database: write schema/<partner>.graphql, the gateway configuration and install capture')
    .requiredOption('--db <url>', 'database URL (postgres://…, mysql://…, mongodb://…, or pglite:<dir>)')
    .requiredOption('--partner <name>', 'your partner name in the network')
    .option('--dir <dir>', 'project directory to write into', '.')
    .action(() => notImplemented('init', 6));
}
