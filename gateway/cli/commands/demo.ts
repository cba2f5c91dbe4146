// `entente demo` (what `npm start` runs): starts the supply-chain demo network, prints each partner's
// GraphQL URL and sample operations, and runs until Ctrl-C (SIGINT) or SIGTERM, then stops cleanly
// with exit code 0. Data persists in --data between runs; --fresh starts over.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EntenteError, isEntenteError } from '../../../common/errors.ts';
import { WRITTEN_BY_AN_EARLIER_ENTENTE } from '../../../ledger/block.ts';
import { defaultBasePort, startDemoNetwork, type DemoNetwork } from '../../demo/demo-network.ts';
import type { CliIo } from '../main.ts';

interface DemoCommandOptions {
  readonly data: string;
  readonly fresh?: boolean;
  readonly db?: string;
  readonly port: string;
  readonly host: string;
}

export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('run the demo network (npm start): four supply-chain partners on embedded databases')
    .option('--data <dir>', 'data directory, one folder per partner', '.entente/demo')
    .option('--fresh', 'delete the data directory first')
    .option('--db <url>', 'run the partners on a real PostgreSQL server instead of embedded PGlite')
    .option('--port <n>', `base port: partner i listens on <n>+i (0: any free ports)`, String(defaultBasePort))
    .option('--host <address>', 'interface to listen on', '127.0.0.1')
    .action((options: DemoCommandOptions) => runDemo(options, io));
}

async function runDemo(options: DemoCommandOptions, io: CliIo): Promise<void> {
  const basePort = Number(options.port);
  if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65_000) throw new EntenteError('USAGE', `--port must be a whole number from 0 to 65000, not "${options.port}".`);
  if (options.db !== undefined && !/^postgres(ql)?:\/\//.test(options.db)) {
    throw new EntenteError('USAGE', `--db takes a PostgreSQL URL (postgres://user@host:5432/base); each partner gets the database <base>_<partner> there.`);
  }
  const started = performance.now();
  const stop = waitForStopSignal();
  io.stdout('Entente demo: a car maker\'s supply chain, four partners, one shared ledger.\n');
  const network = await startDemoNetwork({
    dataDir: resolve(options.data),
    fresh: options.fresh === true,
    basePort,
    host: options.host,
    ...(options.db === undefined ? {} : { postgresUrl: options.db }),
    progress: (line) => io.stdout(`  ${line}\n`),
  }).catch((error: unknown) => {
    // A data directory kept from a build with an older ledger format: say how the demo starts over.
    if (options.fresh !== true && isEntenteError(error) && error.message.includes(WRITTEN_BY_AN_EARLIER_ENTENTE)) {
      throw new EntenteError(error.code, `${error.message}. The demo's data in ${options.data} is from that build: npm start -- --fresh (entente demo --fresh) starts the demo over.`);
    }
    throw error;
  });
  io.stdout(readyMessage(network, options.data, (performance.now() - started) / 1000));
  const signal = await stop.promise;
  io.stdout(`\nReceived ${signal}; stopping the network…\n`);
  await network.close();
  stop.dispose();
  io.stdout('Stopped. Data kept in ' + options.data + '.\n');
}

function readyMessage(network: DemoNetwork, dataDir: string, seconds: number): string {
  const width = Math.max(...network.partners.map((running) => running.partner.name.length));
  const lines = [`\nReady in ${seconds.toFixed(1)} s.\n`, 'GraphQL endpoints (one gateway per partner):'];
  for (const running of network.partners) lines.push(`  ${running.partner.name.padEnd(width)}  ${running.graphqlUrl}   (${running.partner.title}: ${running.partner.role})`);
  lines.push('', 'Ledger explorer (status, blocks, proofs, a GraphQL IDE) — open in a browser:');
  for (const running of network.partners) lines.push(`  ${running.partner.name.padEnd(width)}  ${running.graphqlUrl.replace(/\/graphql$/, '/explorer')}`);
  const url = (partner: string): string => network.partners.find((running) => running.partner.name === partner)?.graphqlUrl ?? '';
  const post = (endpoint: string, query: string): string => `  curl -s ${endpoint} -H 'content-type: application/json' -d '${JSON.stringify({ query })}'`;
  lines.push(
    '',
    'Try (each partner sees the shared types its grants allow; its own data lives in its own database):',
    '  1. A query across types — the manufacturer\'s part orders with the parts and shipments they refer to:',
    post(url('manufacturer'), '{ partOrders(first: 3) { totalCount nodes { id sku quantity status part { name } shipments { trackingCode status } } } }'),
    '  2. A mutation — the manufacturer orders brake discs:',
    post(url('manufacturer'), 'mutation { createPartOrder(input: { sku: "BRK-3310", quantity: 80, status: PLACED, plant: "Graz", needBy: "2026-12-15" }) { partOrder { id status } transactionId } }'),
    '  3. A subscription (graphql-ws on the same URL, e.g. from GraphiQL or `npx wscat`):',
    `     subscription { partOrderChanged { operation node { id sku quantity status } } }   on ${url('manufacturer').replace('http://', 'ws://')}`,
    '',
    'Every change — through the API or written straight into a partner\'s database — is ordered by consensus into',
    'the shared ledger and applied to the replicas of the partners allowed to read it (watch /explorer).',
    `Verify a partner's ledger: npx entente verify --data ${dataDir}/manufacturer/ledger`,
    `Health: ${url('manufacturer').replace('/graphql', '/ready')}   Metrics: ${url('manufacturer').replace('/graphql', '/metrics')}`,
    `Logs: <data>/<partner>/gateway.log. Data is kept in ${dataDir} (--fresh starts over).`,
    'Press Ctrl-C to stop.\n',
  );
  return lines.join('\n') + '\n';
}

function waitForStopSignal(): { readonly promise: Promise<NodeJS.Signals>; dispose(): void } {
  let resolveSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<NodeJS.Signals>((resolvePromise) => (resolveSignal = resolvePromise));
  const onSignal = (signal: NodeJS.Signals): void => resolveSignal(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
