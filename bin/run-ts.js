#!/usr/bin/env node
// Runs one TypeScript entry point (a benchmark, the simulator soak) through tsx: `node bin/run-ts.js file.ts args…`.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node bin/run-ts.js <file.ts> [args…]\n');
  process.exit(2);
}
register();
process.argv = [process.argv[0] ?? 'node', resolve(entry), ...rest];
await import(pathToFileURL(resolve(entry)).href);
