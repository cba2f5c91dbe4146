// Goal (acceptance 5): the generated files never drift from their sources. The demo API SDL must equal
// what the demo partner files generate today, and graphql-codegen must produce exactly the committed
// TypeScript (resolver types and operation types); a stale file fails here with the command to run.
// Method: regenerate everything in memory (codegen's programmatic API, no files written) and compare.
import { readFile } from 'node:fs/promises';
import { expect, it } from 'vitest';
import { generate } from '@graphql-codegen/cli';
import config from '../../codegen.ts';
import { demoApiFile, demoApiSdl } from '../../schema/codegen/demo-api.ts';

const fix = 'the generated files are stale: run `npm run codegen` and commit the result';

it('schema/generated/demo-api.graphql matches the demo partner files', async () => {
  expect(await readFile(demoApiFile, 'utf8'), fix).toBe(await demoApiSdl());
});

it('graphql-codegen output matches the committed files', async () => {
  const outputs = await generate({ ...config, silent: true, verbose: false }, false) as { filename: string; content: string }[];
  expect(outputs.map((output) => output.filename).sort()).toEqual(Object.keys(config.generates).sort());
  for (const output of outputs) {
    expect(await readFile(output.filename, 'utf8'), `${output.filename}: ${fix}`).toBe(output.content);
  }
}, 60_000);
