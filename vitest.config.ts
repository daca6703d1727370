import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end tests start real SDK clients against loopback fakes; give them room on 2 cores.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Tests must never read a developer's real .env or credentials.
    env: { RAG_DOTENV: 'off' },
    pool: 'forks',
    // The PostgreSQL server the tests create their own databases on (TEST_DATABASE_URL, or a
    // throwaway cluster started for the run).
    globalSetup: ['test/support/global-setup.ts'],
  },
});
