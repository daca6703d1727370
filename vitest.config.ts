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
  },
});
