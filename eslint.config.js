// Lint rules for the whole project. The consensus core gets extra rules: it must stay a pure state
// machine (no I/O, clock, randomness or await), so a replay from a seed is exact.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'test/artifacts/', '**/*.generated.ts', 'gateway/explorer/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', fetch: 'readonly', performance: 'readonly', AggregateError: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Typed, for one rule: `return promise` inside try/finally lets finally run before the promise
    // settles (bench:reads closed its connection under a count that way). Needs the TypeScript program.
    files: ['{bench,common,connectors,gateway,ledger,schema,test}/**/*.ts'],
    ignores: ['gateway/explorer/**'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: { '@typescript-eslint/return-await': ['error', 'in-try-catch'] },
  },
  {
    files: ['ledger/consensus/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'net', 'http', 'crypto', 'ws', 'pg', 'mysql2', 'mysql2/*'], message: 'the consensus core is pure: no I/O modules' }] }],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'the consensus core emits timer outputs instead' }, { name: 'setInterval', message: 'the consensus core emits timer outputs instead' }, { name: 'process', message: 'the consensus core has no process access' }, { name: 'performance', message: 'no clock in the consensus core' }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'no clock in the consensus core' }, { object: 'Math', property: 'random', message: 'no randomness in the consensus core' }],
      'no-restricted-syntax': ['error', { selector: 'AwaitExpression', message: 'the consensus core is synchronous' }, { selector: 'FunctionDeclaration[async=true]', message: 'the consensus core is synchronous' }, { selector: 'ArrowFunctionExpression[async=true]', message: 'the consensus core is synchronous' }, { selector: "NewExpression[callee.name='Date']", message: 'no clock in the consensus core' }],
    },
  },
);
