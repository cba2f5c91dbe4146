// Goal: every test file gets its own database on each engine, created and dropped without touching any
// other file's. Method: this file and its twin (fresh-database-twin.test.ts) run concurrently in separate
// workers; each writes a marker row into a table of the same name and checks it sees only its own marker.
import { expect, it } from 'vitest';
import { exerciseIsolation } from './isolation.ts';

exerciseIsolation('primary');

it('names each test database uniquely', async () => {
  const { newTestDatabaseName } = await import('../support/services.ts');
  const names = new Set(Array.from({ length: 1000 }, () => newTestDatabaseName()));
  expect(names.size).toBe(1000);
});
