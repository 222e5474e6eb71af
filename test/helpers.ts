// Shared by the test files: a seeded PRNG, independent of the package's own instance generator so
// test data never comes from the code under test.

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
