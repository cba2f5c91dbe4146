import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerCapture(program: Command, _io: CliIo): void {
  program
    .command('install-capture')
    .description('install change capture (outbox triggers) on the shared tables of a database')
    .requiredOption('--db <url>', 'database URL')
    .action(() => notImplemented('install-capture', 3));
  program
    .command('uninstall-capture')
    .description('remove Entente\'s change capture (triggers and outbox) from a database')
    .requiredOption('--db <url>', 'database URL')
    .action(() => notImplemented('uninstall-capture', 3));
}
