import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Native work already uses both cores; running test files in parallel only adds contention.
    fileParallelism: false,
  },
});
