import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // better-sqlite3 is a native addon: separate processes, not worker threads.
    pool: 'forks',
    // Two files at a time (vitest's default on 2 cores is one): much of the suite waits on servers,
    // JVMs, browsers and timers rather than computing, and CI's time also covers the engine check.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
