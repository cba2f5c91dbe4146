import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerGenesis(program: Command, _io: CliIo): void {
  program
    .command('genesis')
    .description('write a network genesis file from the partners\' public node keys')
    .option('--out <file>', 'genesis file to write', 'genesis.json')
    .action(() => notImplemented('genesis', 5));
}
