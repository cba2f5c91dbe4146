// `entente node --config <file>`: run one gateway until SIGINT/SIGTERM, then drain and exit 0.
import type { Command } from 'commander';
import { loadGatewayConfig } from '../../config/gateway-config.ts';
import { startConfiguredNode } from '../../node/run-node.ts';
import type { CliIo } from '../main.ts';

export function registerNode(program: Command, io: CliIo): void {
  program
    .command('node')
    .description('run one gateway: GraphQL API, consensus with the peers in the genesis file, capture and replicas')
    .option('--config <file>', 'gateway configuration file', 'entente.config.json')
    .action(async (options: { readonly config: string }) => {
      const config = await loadGatewayConfig(options.config);
      const node = await startConfiguredNode(config);
      io.stdout(`Gateway for ${config.partner} listening on ${node.url}\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      io.stdout(`Received ${signal}; draining…\n`);
      await node.close();
      io.stdout('Stopped.\n');
    });
}
