import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Failure bounds only: nothing waits on them, and a loaded 2-core machine can be several times slower.
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
