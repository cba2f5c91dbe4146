import type { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { EntenteError } from '../../../common/errors.ts';
import { redactUrl } from '../../../connectors/index.ts';
import { composeSchemas } from '../../../schema/compose.ts';
import { parseGatewayConfig } from '../../config/gateway-config.ts';
import type { CliIo } from '../main.ts';
import { introspectToSdl } from './introspect.ts';

export const configFileName = 'entente.config.json';
const partnerNamePattern = /^[a-z][a-z0-9-]{0,62}$/;

interface InitOptions {
  readonly db: string;
  readonly partner: string;
  readonly dir: string;
  readonly force?: boolean;
}

export function registerInit(program: Command, io: CliIo): void {
  program
    .command('init')
    .description('point Entente at your database: write schema/<partner>.graphql and the gateway configuration')
    .requiredOption('--db <url>', 'database URL (postgres://…, mysql://…, mongodb://…, or pglite:<dir>)')
    .requiredOption('--partner <name>', 'your partner name in the network')
    .option('--dir <dir>', 'project directory to write into', '.')
    .option('--force', 'overwrite existing files')
    .action(async (options: InitOptions) => {
      for (const line of await initProject(options)) io.stdout(`${line}\n`);
    });
}

/** Writes the partner's schema file and a gateway configuration; returns what it did, one line each. */
export async function initProject(options: InitOptions): Promise<string[]> {
  if (!partnerNamePattern.test(options.partner)) {
    throw new EntenteError('USAGE', `--partner "${options.partner}" must be lower-case letters, digits and dashes, starting with a letter (it names the partner in the network and its schema file).`);
  }
  const sdl = await introspectToSdl(options.db, options.partner);
  // The generated file must compose on its own; a failure here is a bug in introspection, shown as is.
  const schemaPath = join(options.dir, 'schema', `${options.partner}.graphql`);
  composeSchemas([{ path: relative(options.dir, schemaPath), partner: options.partner, source: sdl }]);
  const configPath = join(options.dir, configFileName);
  const config = {
    partner: options.partner,
    database: { url: options.db },
    listen: { host: '127.0.0.1', port: 4000 },
    node: { keyFile: `.entente/${options.partner}/node.key` },
    genesisFile: 'genesis.json',
    dataDir: `.entente/${options.partner}`,
    peers: [],
    auth: { apiKeysFile: 'api-keys.json' },
  };
  // What `entente node` will read must be valid now, not at first start.
  parseGatewayConfig(config, options.dir, configFileName);
  await mkdir(join(options.dir, 'schema'), { recursive: true });
  await writeNew(schemaPath, sdl, options.force === true);
  await writeNew(configPath, `${JSON.stringify(config, null, 2)}\n`, options.force === true);
  return [
    `wrote ${schemaPath} (from ${redactUrl(options.db)}): add @grant directives to share types (schema/README.md)`,
    `wrote ${configPath}: create the node key with \`entente keygen\`, the network's genesis with \`entente genesis\`, and app API keys in api-keys.json`,
  ];
}

async function writeNew(path: string, text: string, force: boolean): Promise<void> {
  try {
    await writeFile(path, text, { flag: force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new EntenteError('USAGE', `${path} already exists; pass --force to overwrite it (your annotations in it would be lost).`, { cause: error });
    }
    throw error;
  }
}
