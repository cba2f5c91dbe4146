// Runs once before the whole suite: finds out which database servers answer. With CI=true a missing
// server fails the run here, loudly, before any test starts; without it the tests that need the server
// are skipped and print the reason.
import type { TestProject } from 'vitest/node';
import { probeMariadb, probeMariadbBinaries, probeMariadbTls, probePgbouncer, probePostgres, probePostgresBinaries, probePostgresLogical, probePostgresTls, type Availability } from './probe.ts';
import { servicesRequired } from './services.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: Availability;
    postgresLogical: Availability;
    postgresTls: Availability;
    pgbouncer: Availability;
    postgresBinaries: Availability;
    mariadb: Availability;
    mariadbTls: Availability;
    mariadbBinaries: Availability;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const [postgres, postgresLogical, postgresTls, mariadb, mariadbTls] = await Promise.all([probePostgres(), probePostgresLogical(), probePostgresTls(), probeMariadb(), probeMariadbTls()]);
  const pgbouncer = probePgbouncer(postgres);
  const postgresBinaries = probePostgresBinaries();
  const mariadbBinaries = probeMariadbBinaries();
  const missing = [postgres, postgresLogical, postgresTls, pgbouncer, postgresBinaries, mariadb, mariadbTls, mariadbBinaries].filter((service) => !service.available);
  if (missing.length > 0 && servicesRequired()) {
    throw new Error(`CI=true requires every database server the tests use:\n${missing.map((service) => `  - ${service.reason}`).join('\n')}`);
  }
  for (const service of missing) process.stderr.write(`[entente tests] skipping tests that need it: ${service.reason}\n`);
  project.provide('postgres', postgres);
  project.provide('postgresLogical', postgresLogical);
  project.provide('postgresTls', postgresTls);
  project.provide('pgbouncer', pgbouncer);
  project.provide('postgresBinaries', postgresBinaries);
  project.provide('mariadb', mariadb);
  project.provide('mariadbTls', mariadbTls);
  project.provide('mariadbBinaries', mariadbBinaries);
}
