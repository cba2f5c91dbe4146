import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerProof(program: Command, _io: CliIo): void {
  program
    .command('proof')
    .description('print a self-contained inclusion proof for a transaction, or check one offline')
    .argument('[txId]', 'transaction id (hex)')
    .option('--data <dir>', 'ledger directory')
    .option('--check <file>', 'verify a proof file offline (- for stdin)')
    .action(() => notImplemented('proof', 4));
}
