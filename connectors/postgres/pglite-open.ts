// Opening a PGlite database: its settings, and new ones from a cached copy of an empty one.
//
// Settings: PostgreSQL's default shared_buffers (128 MB) is memory PGlite sets up inside WebAssembly at
// every start. With 32 MB an existing database opened in 0.31 s instead of 0.67 s on a 2-vCPU VM
// (bench:pglite-open), and bench:gateway's PGlite gateway held 351 MiB idle instead of 429. 32 MB still
// holds the working set of the demo's and the tests' databases; a larger embedded database reads the rest
// through the file system, which is where PGlite keeps it anyway.
//
// The template: a new database otherwise runs initdb inside WebAssembly: 2.6-5.3 s on that VM, most of
// the first start of a gateway on the embedded default, of `npm start` (four partners) and of many tests.
// What initdb leaves behind is the same for every database of one PGlite version, so the first one
// created is dumped (PGlite's own dumpDataDir, a gzip tarball of ~4.5 MB) into this user's cache
// directory, and later new databases load that copy instead. Existing databases open as before. The
// cache only saves time: when it is missing, unreadable or refused (see cacheDirectoryUsable), a database
// is created the slow way.
import { randomBytes } from 'node:crypto';
import { existsSync, openAsBlob, readdirSync, readFileSync } from 'node:fs';
import { lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/** PostgreSQL's shared buffers in each PGlite database (see above). */
export const PGLITE_SHARED_BUFFERS = '32MB';

export interface PgliteOpenOptions {
  /**
   * Where the template is kept; null turns the cache off. Default: ENTENTE_CACHE_DIR ("off" turns it
   * off), else `$XDG_CACHE_HOME/entente`, else `~/.cache/entente`.
   */
  readonly cacheDirectory?: string | null;
}

/** How the database was opened (the tests and bench:pglite-open check it). */
export type PgliteOrigin = 'existing' | 'template' | 'initdb';

export interface OpenedPglite {
  readonly db: PGlite;
  readonly origin: PgliteOrigin;
}

/**
 * Opens the PGlite database at `directory` (null: a new in-memory one), creating it when the directory
 * holds none: from the cached template when there is one, else by initdb (and the result becomes the
 * template). A template that fails to load is deleted and the database made by initdb instead.
 */
export async function openPglite(directory: string | null, options: PgliteOpenOptions = {}): Promise<OpenedPglite> {
  if (directory !== null && holdsDatabase(directory)) return { db: await PGlite.create(directory, startOptions()), origin: 'existing' };
  // Without a known version a template could be another version's: no cache then. A directory with
  // other files in it is left to PGlite, which says what is wrong with it.
  const configured = options.cacheDirectory === undefined ? defaultCacheDirectory() : options.cacheDirectory;
  const cache = pgliteVersion() !== null && (directory === null || isEmptyOrMissing(directory)) ? configured : null;
  if (cache !== null) {
    const fromTemplate = await openFromTemplate(directory, cache);
    if (fromTemplate !== null) return { db: fromTemplate, origin: 'template' };
  }
  // This database becomes the template, unless another one of this process is already making it.
  const makesTemplate = cache !== null && !templatesBeingMade.has(cache);
  let made = (): void => undefined;
  if (makesTemplate) templatesBeingMade.set(cache, new Promise<void>((resolve) => (made = resolve)));
  try {
    const db = directory === null ? await PGlite.create(startOptions()) : await PGlite.create(directory, startOptions());
    if (makesTemplate) await saveTemplate(db, cache).catch(() => undefined);
    return { db, origin: 'initdb' };
  } finally {
    if (makesTemplate) {
      templatesBeingMade.delete(cache);
      made();
    }
  }
}

/** A new database loaded from the template; null when there is none or it failed to load. */
async function openFromTemplate(directory: string | null, cache: string): Promise<PGlite | null> {
  let template = await readTemplate(cache);
  const beingMade = templatesBeingMade.get(cache);
  if (template === null && beingMade !== undefined) {
    // Another database of this process is making the template (the demo opens four at once): wait for it.
    await beingMade;
    template = await readTemplate(cache);
  }
  if (template === null) return null;
  const created = directory === null || !existsSync(directory);
  try {
    const options = { ...startOptions(), loadDataDir: template.blob };
    return directory === null ? await PGlite.create(options) : await PGlite.create(directory, options);
  } catch {
    // A damaged template (it is only a cache): forget it, and undo what loading it left on disk.
    await rm(template.path, { force: true });
    if (directory !== null) await clearDirectory(directory, created);
    return null;
  }
}

function startOptions(): { startParams: string[] } {
  return { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`] };
}

/** Cache directories whose template a database of this process is being created for right now. */
const templatesBeingMade = new Map<string, Promise<void>>();

/** The template's file: one per PGlite version, since the data directory's format is that version's. */
export function templatePath(cacheDirectory: string): string {
  return join(cacheDirectory, `pglite-${pgliteVersion() ?? 'unknown'}-empty.tgz`);
}

function defaultCacheDirectory(): string | null {
  const configured = process.env['ENTENTE_CACHE_DIR'];
  if (configured === 'off') return null;
  if (configured !== undefined && configured !== '') return configured;
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'entente');
}

function holdsDatabase(directory: string): boolean {
  return existsSync(join(directory, 'PG_VERSION'));
}

function isEmptyOrMissing(directory: string): boolean {
  try {
    return readdirSync(directory).length === 0;
  } catch {
    return !existsSync(directory);
  }
}

async function clearDirectory(directory: string, created: boolean): Promise<void> {
  if (created) {
    await rm(directory, { recursive: true, force: true });
    return;
  }
  for (const name of readdirSync(directory)) await rm(join(directory, name), { recursive: true, force: true });
}

async function readTemplate(cacheDirectory: string): Promise<{ path: string; blob: Blob } | null> {
  if (!(await cacheDirectoryUsable(cacheDirectory))) return null;
  const path = templatePath(cacheDirectory);
  try {
    return { path, blob: await openAsBlob(path) };
  } catch {
    return null;
  }
}

/**
 * Every database created from the template starts as a copy of it, so only this user may have written
 * it: the directory must be this user's and writable by no one else (on systems with user ids).
 */
async function cacheDirectoryUsable(cacheDirectory: string): Promise<boolean> {
  try {
    const stats = await lstat(cacheDirectory);
    if (!stats.isDirectory()) return false;
    if (typeof process.getuid !== 'function') return true;
    return stats.uid === process.getuid() && (stats.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Written beside its final name and renamed: a reader sees the whole template or none. */
async function saveTemplate(db: PGlite, cacheDirectory: string): Promise<void> {
  await mkdir(cacheDirectory, { recursive: true, mode: 0o700 });
  if (!(await cacheDirectoryUsable(cacheDirectory))) return;
  const dump = await db.dumpDataDir('gzip');
  const path = templatePath(cacheDirectory);
  const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
  try {
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()), { mode: 0o600 });
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
}

let cachedVersion: string | null | undefined;

function pgliteVersion(): string | null {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = null;
  // The package's exports do not include package.json: find it above the resolved entry point.
  try {
    let folder = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    for (; dirname(folder) !== folder; folder = dirname(folder)) {
      const manifestPath = join(folder, 'package.json');
      if (!existsSync(manifestPath)) continue;
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { name?: string; version?: string };
      if (manifest.name !== '@electric-sql/pglite') continue;
      cachedVersion = typeof manifest.version === 'string' ? manifest.version : null;
      break;
    }
  } catch {
    cachedVersion = null;
  }
  return cachedVersion;
}
