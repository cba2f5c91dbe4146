import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerSchema(program: Command, _io: CliIo): void {
  const schema = program.command('schema').description('schema evolution through the ledger');
  schema
    .command('diff')
    .description('classify every change between two schemas as safe, dangerous or breaking')
    .argument('<old>', 'old SDL file')
    .argument('<new>', 'new SDL file')
    .action(() => notImplemented('schema diff', 11));
  schema
    .command('propose')
    .description('propose a schema change to the network as a ledger transaction')
    .argument('<file>', 'new SDL file')
    .action(() => notImplemented('schema propose', 11));
}
