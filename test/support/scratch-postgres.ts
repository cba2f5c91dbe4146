// A PostgreSQL server of a test's own, for server settings the shared test server must not be given
// (a pg_hba.conf that admits clients only over TLS, say): initdb into a temporary folder, started with
// pg_ctl on a free port, stopped and deleted after the test file. The same PostgreSQL binaries as the
// shared server (PGBINDIR, `pg_config --bindir`, or Debian's /usr/lib/postgresql/<version>/bin). initdb
// refuses to run as root, so under root the server runs as the postgres user. About 1.5 s to start.
import { execFileSync } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export interface ScratchPostgresOptions {
  /** The lines of pg_hba.conf (local socket connections are always trusted, for stopping the server). */
  readonly hba: readonly string[];
  /** Serve TLS with this PEM certificate and key (files copied into the data folder). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

export interface ScratchPostgres {
  readonly port: number;
  stop(): void;
}

/** The folder holding initdb and pg_ctl, or null when this machine has no PostgreSQL server binaries. */
export function findPostgresBinaries(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates: string[] = [];
  if (env['PGBINDIR'] !== undefined) candidates.push(env['PGBINDIR']);
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config on the PATH
  }
  try {
    for (const version of readdirSync('/usr/lib/postgresql').sort().reverse()) candidates.push(join('/usr/lib/postgresql', version, 'bin'));
  } catch {
    // not Debian's layout
  }
  for (const candidate of candidates) {
    try {
      accessSync(join(candidate, 'initdb'), constants.X_OK);
      accessSync(join(candidate, 'pg_ctl'), constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export async function startScratchPostgres(options: ScratchPostgresOptions): Promise<ScratchPostgres> {
  const bin = findPostgresBinaries();
  if (bin === null) throw new Error('the PostgreSQL server binaries (initdb, pg_ctl) are not found: install postgresql, or set PGBINDIR');
  const folder = mkdtempSync(join(tmpdir(), 'entente-scratch-pg-'));
  const data = join(folder, 'data');
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresUser() : null;
  chmodSync(folder, 0o755);
  if (owner !== null) chownSync(folder, owner.uid, owner.gid);
  // As root, the postgres user runs the server's programs (runuser, from util-linux).
  const run = (program: string, args: readonly string[]): void => {
    const command = asRoot ? 'runuser' : join(bin, program);
    const commandArgs = asRoot ? ['-u', 'postgres', '--', join(bin, program), ...args] : [...args];
    execFileSync(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  };
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    writeFileSync(join(data, 'pg_hba.conf'), ['local all all trust', ...options.hba, ''].join('\n'));
    const settings = ['-c listen_addresses=127.0.0.1', `-k ${folder}`, '-c fsync=off'];
    if (options.tls !== undefined) {
      copyFileSync(options.tls.certFile, join(data, 'server.crt'));
      copyFileSync(options.tls.keyFile, join(data, 'server.key'));
      chmodSync(join(data, 'server.key'), 0o600);
      if (owner !== null) for (const file of ['server.crt', 'server.key']) chownSync(join(data, file), owner.uid, owner.gid);
      settings.push('-c ssl=on');
    }
    const port = await freePort();
    run('pg_ctl', ['-D', data, '-l', join(folder, 'server.log'), '-o', `-p ${port} ${settings.join(' ')}`, '-w', '-t', '30', 'start']);
    return {
      port,
      stop() {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(folder, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}
