#!/usr/bin/env node
// The `entente` command. Entente is written in TypeScript; tsx (a runtime dependency) loads it directly,
// so `npx entente` works right after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../gateway/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
