// The CUDA backend. Everywhere: backend selection, the clear error for --device cuda without a
// usable device, and the fallback under auto when a CUDA call fails (on a machine without a GPU the
// CUDA op itself fails, which exercises exactly that path). With a GPU (scripts/gpu/gpu-check.sh): the
// cost kernel against a float64 reference, and the GPU solver's optimum and certificate against the
// CPU solver on every benchmark family up to n = 4096.
import { describe, expect, test } from 'vitest';
import { nativeCudaBackend, selectBackend, solveAssignmentCuda, spotCheck } from '../src/solve/backend.js';
import { costMatrix } from '../src/solve/cost.js';
import { SaeMatchDeviceError, SaeMatchInputError } from '../src/errors.js';
import { prng } from './helpers.js';
import { saeLikeFeatures, TEST_FAMILIES as FAMILIES, testInstance } from './instances.js';
import { checkCertificate, solveAssignment } from '../src/solve/lap.js';
import { nativeInfo } from '../src/binding/addon.js';

const cuda = nativeInfo().cuda;
const haveGpu = cuda.compiled && cuda.devices.length > 0;

describe('without a usable GPU', () => {
  test.skipIf(haveGpu)('auto uses the CPU and says why; cuda is a clear input error', () => {
    const auto = selectBackend('auto');
    expect(auto.backend.device).toBe('cpu');
    expect(auto.reason).toMatch(/CUDA not used: (no usable CUDA device|this build has no CUDA)/);
    expect(() => selectBackend('cuda')).toThrow(SaeMatchInputError);
    expect(() => selectBackend('cuda')).toThrow(/--device cuda: /);
  });

  test.skipIf(haveGpu)('a failing CUDA call: under auto one warning and the CPU result; otherwise a device error', async () => {
    const { a, b } = saeLikeFeatures(64, 32, 4);
    const warnings: string[] = [];
    const be = nativeCudaBackend({ fallback: true, warn: (m) => warnings.push(m) });
    const got = await be.costMatrix(a, b, 'sqeuclidean');
    const want = await costMatrix(a, b);
    expect(got.data).toEqual(want.data);
    await be.costMatrix(a, b, 'sqeuclidean');
    expect(warnings).toHaveLength(1); // warned once, then stays on the CPU
    expect(warnings[0]).toMatch(/CUDA failed .*continuing on the CPU/);
    const sol = await be.solveAssignment(got);
    const ref = await solveAssignment(want);
    expect(sol.totalCost).toBe(ref.totalCost);
    expect((await be.checkCertificate(got, sol)).ok).toBe(true);
    const strict = nativeCudaBackend({ fallback: false });
    await expect(strict.costMatrix(a, b, 'sqeuclidean')).rejects.toBeInstanceOf(SaeMatchDeviceError);
    await expect(solveAssignmentCuda(want)).rejects.toBeInstanceOf(SaeMatchDeviceError);
    await expect(solveAssignmentCuda({ data: new Float64Array(4), nRows: 2, nCols: 2 })).rejects.toBeInstanceOf(SaeMatchInputError);
  });
});

describe('the spot check of a device matrix', () => {
  test('passes a correct matrix (both metrics); catches a shifted, a transposed and a NaN-poisoned one', async () => {
    const { a, b } = saeLikeFeatures(300, 64, 8);
    for (const metric of ['sqeuclidean', 'cosine'] as const) {
      const c = (await costMatrix(a, b, { metric })).data;
      expect(spotCheck(a, b, metric, c)).toBeUndefined();
      const shifted = new Float32Array(c.length);
      shifted.set(c.subarray(1));
      expect(spotCheck(a, b, metric, shifted)).toMatch(/float64 gives/);
      const t = new Float32Array(c.length);
      for (let i = 0; i < 300; i++) for (let j = 0; j < 300; j++) t[j * 300 + i] = c[i * 300 + j]!;
      expect(spotCheck(a, b, metric, t)).toMatch(/float64 gives/);
      const nan = c.slice();
      nan[0] = NaN; // the first entry is always checked
      expect(spotCheck(a, b, metric, nan)).toMatch(/C\[0, 0\] = NaN/);
    }
  });
});

describe.skipIf(!haveGpu)('on a GPU', () => {
  test('cost kernel: relative error against a float64 reference <= 1e-5 of the typical cost, both metrics', async () => {
    for (const [n, k] of [[300, 100], [1000, 2304], [129, 4608]] as const) {
      const { a, b } = saeLikeFeatures(n, k, 9 + n);
      const pick = prng(n);
      for (const metric of ['sqeuclidean', 'cosine'] as const) {
        const be = nativeCudaBackend({ fallback: false });
        const got = await be.costMatrix(a, b, metric);
        let worst = 0, typical = 0;
        const samples = 20000;
        const ref: number[] = [], idx: number[] = [];
        for (let s = 0; s < samples; s++) {
          const i = Math.floor(pick() * n), j = Math.floor(pick() * n);
          let dot = 0, na = 0, nb = 0;
          for (let p = 0; p < k; p++) {
            const x = a.data[i * k + p]!, y = b.data[j * k + p]!;
            dot += x * y; na += x * x; nb += y * y;
          }
          ref.push(metric === 'cosine' ? 1 - (na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0) : Math.max(0, na + nb - 2 * dot));
          idx.push(i * n + j);
        }
        typical = ref.slice().sort((x, y) => x - y)[samples >> 1]!;
        for (let s = 0; s < samples; s++) worst = Math.max(worst, Math.abs(got.data[idx[s]!]! - ref[s]!));
        expect(worst / typical, `${metric} n=${n} k=${k}`).toBeLessThanOrEqual(1e-5);
      }
    }
  }, 120_000);

  test('GPU solver: same optimum as the CPU solver and a passing certificate on every family, n up to 4096', async () => {
    for (const family of FAMILIES)
      for (const n of [100, 1000, 4096]) {
        const inst = testInstance(family, n, { seed: n + 7, dtype: 'float32', dim: 256 });
        const cpu = await solveAssignment(inst);
        const gpu = await solveAssignmentCuda(inst);
        expect(Math.abs(gpu.totalCost - cpu.totalCost), `${family} ${n}`).toBeLessThanOrEqual(1e-9 * n * Math.max(1, Math.abs(cpu.totalCost)));
        const cert = await checkCertificate(inst, gpu);
        expect(cert.ok, `${family} ${n}: ${cert.message}`).toBe(true);
        expect(gpu.stats.warmStartRejected, `${family} ${n}`).toBe(0); // the device kept the invariant
        // The device ran the host reference's rounds: the same rows are left for phase 4.
        const ref = await solveAssignment(inst, { init: 'parallel', parallelRounds: gpu.stats.parallelRounds });
        expect(gpu.stats.freeAfterArr, `${family} ${n}`).toBe(ref.stats.freeAfterArr);
      }
  }, 600_000);

  test('the CUDA backend matches a suite pair exactly like the CPU backend', async () => {
    const { a, b } = saeLikeFeatures(2048, 2304, 12);
    const be = nativeCudaBackend({ fallback: false });
    const c = await be.costMatrix(a, b, 'sqeuclidean');
    const sol = await be.solveAssignment(c);
    const cpu = await solveAssignment(await costMatrix(a, b));
    expect((await be.checkCertificate(c, sol)).ok).toBe(true);
    expect(Math.abs(sol.totalCost - cpu.totalCost)).toBeLessThanOrEqual(1e-5 * Math.abs(cpu.totalCost));
  }, 120_000);
});
