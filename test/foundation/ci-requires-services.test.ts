// Goal: with CI=true a missing database server fails the test run loudly; without CI the tests that need
// it are skipped and the reason is printed (so `npm test` passes on a bare laptop).
// Method: run vitest itself on the fresh-database test file, pointing PGPORT at a port nothing listens on.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function runSuite(env: Record<string, string>) {
  const childEnv = { ...process.env, ...env };
  delete childEnv['VITEST'];
  delete childEnv['VITEST_WORKER_ID'];
  delete childEnv['VITEST_POOL_ID'];
  const result = spawnSync(process.execPath, [vitest, 'run', 'test/foundation/fresh-database-twin.test.ts'], { cwd: root, env: childEnv, encoding: 'utf8', timeout: 170_000 });
  return { code: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('missing database server', () => {
  it('fails the run when CI=true', { timeout: 180_000 }, async () => {
    const { code, output } = runSuite({ CI: 'true', PGPORT: String(await closedPort()) });
    expect(code).not.toBe(0);
    expect(output).toContain('CI=true requires every database server the tests use');
    expect(output).toContain('PostgreSQL at 127.0.0.1');
  });

  it('skips the tests that need it, with the reason, when CI is not set', { timeout: 180_000 }, async () => {
    const { code, output } = runSuite({ CI: '', PGPORT: String(await closedPort()) });
    expect(code).toBe(0);
    expect(output).toContain('skipping tests that need it: PostgreSQL at 127.0.0.1');
    expect(output).toMatch(/skipped/);
  });
});
