// A test file's temporary folder, made on first use and removed after the file's tests. Made lazily
// because with every test of a file filtered out (`-t`), its afterAll hooks do not run, and a folder
// made when the file was collected would stay behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Call at the top of a test file or in a describe body, before the hooks that use the folder: after-hooks
 * run in reverse order of registration, so the folder goes after them. The returned function gives its path.
 */
export function tempFolder(prefix: string): () => string {
  let path: string | null = null;
  afterAll(() => {
    if (path !== null) rmSync(path, { recursive: true, force: true });
  });
  return () => (path ??= mkdtempSync(join(tmpdir(), prefix)));
}
