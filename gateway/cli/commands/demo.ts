import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerDemo(program: Command, _io: CliIo): void {
  program
    .command('demo')
    .description('run the demo network (npm start): four supply-chain partners on embedded databases')
    .option('--data <dir>', 'data directory, one folder per partner', '.entente/demo')
    .option('--fresh', 'delete the data directory first')
    .option('--db <url>', 'run the partners on a real PostgreSQL server instead of embedded PGlite')
    .action(() => notImplemented('demo', 8));
}
