// A MariaDB server of a test's own, for server settings the shared test server must not be given (TLS
// turned off, say): mariadb-install-db into a temporary folder, mariadbd on a free port with no option
// files read, stopped and deleted after the test file. The same binaries as the shared server (MARIADBD,
// or mariadbd and mariadb-install-db on the PATH or in /usr/sbin and /usr/bin). As root the server runs
// as the mysql user. About 2 s to start.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, chownSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './free-port.ts';

export interface ScratchMariadbOptions {
  /** Extra mariadbd options, e.g. `--skip-ssl`. */
  readonly serverOptions: readonly string[];
}

export interface ScratchMariadb {
  readonly port: number;
  stop(): Promise<void>;
}

const readyTimeoutMs = 30_000;

/** mariadbd and mariadb-install-db, or null when this machine has no MariaDB server binaries. */
export function findMariadbBinaries(env: NodeJS.ProcessEnv = process.env): { server: string; installDb: string } | null {
  const folders = [...(env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  const find = (name: string): string | null => {
    for (const folder of folders) {
      try {
        accessSync(join(folder, name), constants.X_OK);
        return join(folder, name);
      } catch {
        // not here
      }
    }
    return null;
  };
  const server = env['MARIADBD'] ?? find('mariadbd');
  const installDb = find('mariadb-install-db');
  return server === null || installDb === null ? null : { server, installDb };
}

export async function startScratchMariadb(options: ScratchMariadbOptions): Promise<ScratchMariadb> {
  const binaries = findMariadbBinaries();
  if (binaries === null) throw new Error('the MariaDB server binaries (mariadbd, mariadb-install-db) are not found: install mariadb-server, or set MARIADBD');
  const folder = mkdtempSync(join(tmpdir(), 'entente-scratch-mariadb-'));
  const asRoot = process.getuid?.() === 0;
  chmodSync(folder, 0o755);
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' }).trim());
    chownSync(folder, uid, gid);
  }
  const user = asRoot ? ['--user=mysql'] : [];
  const data = join(folder, 'data');
  let child: ChildProcess | null = null;
  try {
    execFileSync(binaries.installDb, ['--no-defaults', `--datadir=${data}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    const port = await freePort();
    child = spawn(binaries.server, [
      '--no-defaults', `--datadir=${data}`, ...user, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${join(folder, 'mysqld.sock')}`,
      '--skip-log-bin', '--innodb-buffer-pool-size=16M', `--log-error=${join(folder, 'error.log')}`, ...options.serverOptions,
    ], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    await waitUntilAnswering(port, child);
    const running = child;
    return {
      port,
      async stop() {
        running.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        if (running.exitCode === null) running.kill('SIGKILL');
        rmSync(folder, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill('SIGKILL');
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
}

async function waitUntilAnswering(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    try {
      const connection = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
      await connection.end();
      return;
    } catch (error) {
      if (child.exitCode !== null) throw new Error(`the scratch MariaDB server exited with ${child.exitCode} before answering`, { cause: error });
      if (Date.now() > deadline) throw new Error(`the scratch MariaDB server did not answer within ${readyTimeoutMs} ms: ${(error as Error).message}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
