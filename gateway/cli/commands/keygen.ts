import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerKeygen(program: Command, _io: CliIo): void {
  program
    .command('keygen')
    .description('create an Ed25519 node key for this gateway')
    .option('--out <file>', 'where to write the private key', 'node.key')
    .action(() => notImplemented('keygen', 5));
}
