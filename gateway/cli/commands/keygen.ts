// `entente keygen`: creates this gateway's Ed25519 node key (its consensus identity) and prints the public
// half as `partner:publickey`, the form `entente genesis --member` takes.
import type { Command } from 'commander';
import { createNodeKey, publicKeyLine, writeNodeKeyFile } from '../../../ledger/node/node-key.ts';
import type { CliIo } from '../main.ts';

export function registerKeygen(program: Command, io: CliIo): void {
  program
    .command('keygen')
    .description('create an Ed25519 node key for this gateway')
    .requiredOption('--partner <name>', 'the partner this gateway speaks for (as it will appear in the genesis file)')
    .option('--out <file>', 'where to write the private key (never overwritten; mode 0600)', 'node.key')
    .action((options: { partner: string; out: string }) => {
      const key = createNodeKey(options.partner);
      writeNodeKeyFile(options.out, key);
      io.stdout(`wrote ${options.out}\n${publicKeyLine(key)}\n`);
    });
}
