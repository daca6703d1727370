import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests start real processes (tsx, parser processes, PostgreSQL) and SDK clients
    // against loopback fakes. A timeout here only catches a hang: it must stay above what a test
    // legitimately waits for on 2 cores with the other one busy (a CLI run, a start-up), or the
    // suite flakes under load; no test asserts a duration.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests must never read a developer's real .env or credentials.
    env: { RAG_DOTENV: 'off' },
    pool: 'forks',
    // The PostgreSQL server the tests create their own databases on (TEST_DATABASE_URL, or a
    // throwaway cluster started for the run).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
