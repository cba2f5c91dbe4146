// Goal: `entente introspect` and `entente init` fail clearly on bad input, before touching anything.
// Method: run the CLI in-process with captured output; no database is needed for these paths.
import { expect, it } from 'vitest';
import { main } from '../../gateway/cli/main.ts';

async function entente(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await main(args, { stdout: () => undefined, stderr: (text) => { stderr += text; } });
  return { code, stderr };
}

it('introspect names the URL schemes it knows when given another, with the password hidden', async () => {
  const { code, stderr } = await entente('introspect', '--db', 'oracle://scott:tiger@db/orcl');
  expect(code).toBe(1);
  expect(stderr).toContain('Cannot open database URL "oracle://scott:***@db/orcl": unknown scheme. Use one of postgres:');
  expect(stderr).not.toContain('tiger');
});

it('init refuses a partner name that cannot name a file and a network member', async () => {
  const { code, stderr } = await entente('init', '--db', 'pglite:memory', '--partner', 'Acme Corp');
  expect(code).toBe(2);
  expect(stderr).toBe('entente: --partner "Acme Corp" must be lower-case letters, digits and dashes, starting with a letter (it names the partner in the network and its schema file).\n');
});
