// The explorer's browser code, bundled by esbuild when a gateway first serves it and then kept in memory.
// Why at run time rather than a build step: a clean clone works after `npm ci` alone, nothing built is
// committed or can go stale, and the output is the same code the CLI runs (ledger/proof.ts and the
// browser hasher are bundled straight from their sources). One bundling per process, shared by every
// gateway in it (the demo runs four): about a second of CPU, once, on the first page view.
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { EntenteError } from '../../common/errors.ts';

/** One file the explorer serves under /explorer/assets/. */
export interface ExplorerAsset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The entry points, by the name the pages load them under. */
const entries = {
  explorer: 'browser/explorer-app.ts',
  ide: 'browser/ide-app.ts',
} as const;

const browserDirectory = new URL('./', import.meta.url);

/** Assets larger than this mean a dependency pulled in something it should not (GraphiQL is ~2 MB). */
export const assetBytesMax = 8 * 1024 * 1024;

let bundling: Promise<ReadonlyMap<string, ExplorerAsset>> | null = null;

/** All assets, bundled on first use; a failed bundling is retried on the next request. */
export function explorerAssets(): Promise<ReadonlyMap<string, ExplorerAsset>> {
  bundling ??= bundleAll().catch((error: unknown) => {
    bundling = null;
    throw error;
  });
  return bundling;
}

async function bundleAll(): Promise<ReadonlyMap<string, ExplorerAsset>> {
  const options: BuildOptions = {
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, fileURLToPath(new URL(path, browserDirectory))])),
    bundle: true,
    write: false,
    // esbuild needs an output directory to name the files; nothing is written there (write: false).
    outdir: fileURLToPath(new URL('assets/', browserDirectory)),
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    legalComments: 'linked',
    // React and GraphiQL read NODE_ENV to drop their development-only checks.
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.css': 'css' },
    logLevel: 'silent',
  };
  let result;
  try {
    result = await build(options);
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `the explorer's browser code could not be bundled (${(error as Error).message.split('\n')[0]}); run \`npm ci\` to restore the installed packages.`, { cause: error });
  }
  const assets = new Map<string, ExplorerAsset>();
  for (const file of result.outputFiles ?? []) {
    const name = basename(file.path);
    if (file.contents.length > assetBytesMax) throw new EntenteError('CONFIG_INVALID', `the explorer asset ${name} is ${file.contents.length} bytes, over ${assetBytesMax}; a dependency grew unexpectedly.`);
    assets.set(name, { contentType: contentTypeOf(name), body: Buffer.from(file.contents) });
  }
  return assets;
}

function contentTypeOf(name: string): string {
  if (name.endsWith('.js')) return 'text/javascript; charset=utf-8';
  if (name.endsWith('.css')) return 'text/css; charset=utf-8';
  return 'text/plain; charset=utf-8';
}
