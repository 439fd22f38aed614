import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/smoke/**', 'node_modules/**'],
    testTimeout: 30_000,
    // One PostgreSQL server for the run (or EDGE_HA_TEST_PG_URL): inject('postgresUrl').
    globalSetup: ['test/support/postgres-server.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
