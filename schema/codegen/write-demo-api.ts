// `npm run codegen`, step 1: writes schema/generated/demo-api.graphql (step 2 is graphql-codegen).
import { writeFile } from 'node:fs/promises';
import { demoApiFile, demoApiSdl } from './demo-api.ts';

await writeFile(demoApiFile, await demoApiSdl());
process.stdout.write(`wrote ${demoApiFile}\n`);
