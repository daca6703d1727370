/**
 * Before the suite: the PostgreSQL server the tests create their databases on. TEST_DATABASE_URL
 * names one (`.ci/run` starts a throwaway cluster and exports it); without it a throwaway
 * cluster is started here and stopped after the run. Where PostgreSQL is not installed the
 * PostgreSQL tests are skipped, saying so, except in CI, where that is a failure.
 */
import type { TestProject } from 'vitest/node';
import { postgresBinaries, startCluster, stopCluster } from './postgres-cluster.js';
import { requireServices } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL for creating test databases; empty when PostgreSQL is not available. */
    databaseURL: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  const given = process.env.TEST_DATABASE_URL?.trim();
  if (given) {
    project.provide('databaseURL', given);
    return undefined;
  }
  if (!postgresBinaries()) {
    if (requireServices()) {
      throw new Error(
        'PostgreSQL is not installed and CI must run the PostgreSQL tests: install it (apt-get install postgresql) or set TEST_DATABASE_URL',
      );
    }
    console.warn('PostgreSQL is not installed: the PostgreSQL tests are skipped (.ci/run installs it).');
    project.provide('databaseURL', '');
    return undefined;
  }
  const cluster = await startCluster();
  project.provide('databaseURL', cluster.url);
  return () => stopCluster(cluster.dir);
}
