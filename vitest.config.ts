import { defineConfig } from 'vitest/config';

export default defineConfig({
  // graphql 16 ships both index.js (CommonJS, what Node resolves for Apollo Server and graphql-ws) and
  // index.mjs (what Vite's "module" field would pick for our code): two copies break `instanceof`
  // checks ("Cannot use GraphQLSchema from another module or realm"). Resolve ours the way Node does.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests share two cores with real database servers; a failure must never hang CI.
    teardownTimeout: 30_000,
  },
});
