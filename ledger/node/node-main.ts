// Runs one consensus node from a JSON configuration (see NodeConfig in node-runner.ts):
//   node bin/run-ts.js ledger/node/node-main.ts --config node.json
// Prints one JSON line `{"ready":true,...}` once it listens, then runs until SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { NodeRunner, type NodeConfig } from './node-runner.ts';

const index = process.argv.indexOf('--config');
const path = index < 0 ? undefined : process.argv[index + 1];
if (path === undefined) {
  process.stderr.write('usage: node bin/run-ts.js ledger/node/node-main.ts --config node.json\n');
  process.exit(2);
}
const config = JSON.parse(readFileSync(path, 'utf8')) as NodeConfig;
const runner = new NodeRunner(config);
await runner.start();
process.stdout.write(`${JSON.stringify({ ready: true, index: runner.selfIndex, height: runner.height, clientPort: config.clientPort })}\n`);
const shutdown = (): void => {
  void runner.stop().then(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
