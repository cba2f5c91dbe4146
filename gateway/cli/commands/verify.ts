import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerVerify(program: Command, _io: CliIo): void {
  program
    .command('verify')
    .description('recompute and check a stored ledger from genesis; names the first bad block')
    .requiredOption('--data <dir>', 'ledger directory')
    .action(() => notImplemented('verify', 4));
}
