// Shared by the test files: a seeded PRNG, independent of the package's own instance generator so
// test data never comes from the code under test.
import { spawnSync } from 'node:child_process';

/** mulberry32: a small, fixed, well-mixed 32-bit PRNG; uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Whether the tests that hand files to numpy run: where python3 has numpy, and always under CI
 * (`CI` set, as .ci/run does), so a CI machine without numpy fails those tests instead of skipping
 * them silently. Elsewhere a missing numpy skips them with a note on stderr.
 */
export function numpyTestsRun(): boolean {
  const has = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
  if (!has && !process.env.CI) process.stderr.write('sae-match tests: python3 with numpy not found; the numpy cross-checks are skipped (they run, and fail, under CI)\n');
  return has || !!process.env.CI;
}
