// A baseline commit for benches that compare it with this checkout in one run (BENCH_BASELINE=<ref>): a
// detached git worktree whose gateways run with this checkout's node_modules.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A detached worktree of `ref` beside this checkout's node_modules; removed by the returned function. */
export function baselineTree(ref: string): { root: string; commit: string; remove(): void } {
  const repo = fileURLToPath(new URL('../..', import.meta.url));
  const commit = execFileSync('git', ['rev-parse', '--short', ref], { cwd: repo, encoding: 'utf8' }).trim();
  const root = join(mkdtempSync(join(tmpdir(), 'entente-baseline-')), 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', '--quiet', root, commit], { cwd: repo });
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
  return {
    root,
    commit,
    remove() {
      execFileSync('git', ['worktree', 'remove', '--force', root], { cwd: repo });
      rmSync(join(root, '..'), { recursive: true, force: true });
    },
  };
}

