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
      // SIGHUP reloads the TLS files (certificate rotation without stopping the partners' commits), as
      // servers conventionally do; without a handler Node would exit on it.
      const onHangup = (): void => {
        node.reloadTls().then(
          (material) => node.logger.info({ event: 'tls.reloaded', certificateExpires: material.serve?.notAfter.toISOString() ?? null }, 'TLS files reloaded; new connections use them'),
          (error: unknown) => node.logger.error({ event: 'tls.reload_failed', err: error }, `TLS reload refused, still serving the previous certificate: ${(error as Error).message}`),
        );
      };
      process.on('SIGHUP', onHangup);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      process.off('SIGHUP', onHangup);
      io.stdout(`Received ${signal}; draining…\n`);
      await node.close();
      io.stdout('Stopped.\n');
    });
}
