// Goal: the `entente` command is usable from the first install: help lists every command, each command
// has its own help, and an unknown command is a usage error (exit 2) with a clear message.
// Method: run the real bin script as a child process, exactly as `npx entente` does.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/entente.js', import.meta.url));

function entente(...args: string[]) {
  const result = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('entente CLI', () => {
  it('lists the commands with --help', () => {
    const { code, stdout } = entente('--help');
    expect(code).toBe(0);
    for (const command of ['demo', 'node', 'init', 'introspect', 'keygen', 'genesis', 'verify', 'proof', 'install-capture', 'uninstall-capture', 'schema']) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('shows help for one command', () => {
    const { code, stdout } = entente('verify', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: entente verify');
    expect(stdout).toContain('--data <dir>');
  });

  it('rejects an unknown command with exit code 2 and a clear message', () => {
    const { code, stderr, stdout } = entente('nosuch');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain("unknown command 'nosuch'");
    expect(stderr).toContain('entente --help');
  });

  it('rejects a missing required option with exit code 2', () => {
    const { code, stderr } = entente('introspect');
    expect(code).toBe(2);
    expect(stderr).toContain("required option '--db <url>' not specified");
  });
});
