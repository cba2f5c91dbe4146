import type { Command } from 'commander';
import type { CliIo } from '../main.ts';
import { notImplemented } from '../not-implemented.ts';

export function registerNode(program: Command, _io: CliIo): void {
  program
    .command('node')
    .description('run one gateway: GraphQL API, consensus with the peers in the genesis file, capture and replicas')
    .option('--config <file>', 'gateway configuration file', 'entente.config.json')
    .action(() => notImplemented('node', 7));
}
