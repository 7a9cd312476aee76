import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Failure bounds only: nothing waits on them, and a loaded 2-core machine can be several times slower.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // A worker runs its files in one module registry: each file no longer imports Fastify, pg, PGlite and the app
    // again (a quarter of the suite's time). Tests restore what they change (timers, spies) and close what they open.
    isolate: false,
    // Three files at a time on two cores: most tests wait on PostgreSQL, child processes or I/O, not the CPU.
    // Each waits on events with generous failure bounds, so a busier machine makes the suite slower, not red.
    maxWorkers: 3,
  },
});
