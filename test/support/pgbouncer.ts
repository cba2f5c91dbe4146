// A real PgBouncer in front of the test PostgreSQL server, for the connector's pooled mode: started per
// test file on a free port (foreground process, config in a temporary directory), stopped after it.
// PgBouncer refuses to run as root, so under root it switches to the postgres user (-u).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.ts';
import type { ServerSettings } from './services.ts';

export interface RunningPgbouncer {
  readonly port: number;
  /** A URL to `database` on the target server, through this PgBouncer. */
  url(database: string): string;
  stop(): Promise<void>;
}

export interface PgbouncerOptions {
  readonly poolMode: 'session' | 'transaction' | 'statement';
  /** Server connections per database and user: fewer than the connector's pool, so sessions are shared. */
  readonly poolSize: number;
  /** Startup parameters PgBouncer accepts and drops (by default it refuses unknown ones, `options` included). */
  readonly ignoreStartupParameters?: readonly string[];
}

/** PGBOUNCER_PATH, or pgbouncer on the PATH or in /usr/sbin (where Debian's package puts it); null when absent. */
export function findPgbouncer(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = env['PGBOUNCER_PATH'] !== undefined ? [env['PGBOUNCER_PATH']] : [...(env['PATH'] ?? '').split(delimiter), '/usr/sbin'].map((dir) => join(dir, 'pgbouncer'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

const readyTimeoutMs = 10_000;

export async function startPgbouncer(target: ServerSettings, options: PgbouncerOptions): Promise<RunningPgbouncer> {
  const binary = findPgbouncer();
  if (binary === null) throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer, or set PGBOUNCER_PATH)');
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), 'entente-pgbouncer-'));
  chmodSync(directory, 0o755);
  const quoted = (value: string): string => `"${value.replace(/"/g, '""')}"`;
  writeFileSync(join(directory, 'users.txt'), `${quoted(target.user)} ${quoted(target.password)}\n`, { mode: 0o644 });
  writeFileSync(
    join(directory, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.host} port=${target.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(directory, 'users.txt')}`,
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 200',
      ...(options.ignoreStartupParameters === undefined ? [] : [`ignore_startup_parameters = ${options.ignoreStartupParameters.join(',')}`]),
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), join(directory, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = (database: string): string => {
    const auth = target.password === '' ? encodeURIComponent(target.user) : `${encodeURIComponent(target.user)}:${encodeURIComponent(target.password)}`;
    return `postgres://${auth}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // immediate shutdown: clients are cut off
      await exited;
    }
    rmSync(directory, { recursive: true, force: true });
  };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url('postgres'), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('select 1');
      return { port, url, stop };
    } catch (error) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`PgBouncer did not start on port ${port}: ${(error as Error).message}\n${output}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
