// Which code a benchmark measured, for its result file: this checkout's commit, marked when the working
// tree differs from it (uncommitted changes are what an A/B against HEAD measures; without the mark both
// columns would name one commit).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function checkoutLabel(): string {
  const checkout = fileURLToPath(new URL('../..', import.meta.url));
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: checkout, encoding: 'utf8' }).trim();
  const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: checkout, encoding: 'utf8' }).trim() !== '';
  return changed ? `${head} + uncommitted changes` : head;
}
