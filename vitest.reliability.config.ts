import { defineConfig } from 'vitest/config';

/**
 * The full reliability run (`npm run test:reliability`): every scenario at full size, fuzzing at 10,000 cases, and
 * the timing check of tokens. Files run one at a time so that scenarios do not compete for the CPU.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts', 'test/reliability/**/*.full.ts'],
    env: { BKT_RELIABILITY_FULL: '1' },
    testTimeout: 600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
