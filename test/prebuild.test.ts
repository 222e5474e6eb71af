// The addon must load from prebuilds/ alone, as it does for a user whose install did not build:
// copy the package without build/ into a temp folder and solve a problem whose optimum we know.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);

describe('prebuild', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sae-match-prebuild-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exists (made by npm run prebuild / npm test)', () => {
    expect(existsSync(prebuildDir) && readdirSync(prebuildDir).some((f) => f.endsWith('.node'))).toBe(true);
  });

  it('loads without build/ and solves a 3x3 problem to its brute-force optimum', () => {
    for (const p of ['package.json', 'dist', 'prebuilds']) cpSync(join(root, p), join(dir, p), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    expect(existsSync(join(dir, 'build'))).toBe(false);
    const script = `
      import { solveAssignment, nativeInfo } from './dist/index.js';
      const r = await solveAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
      console.log(JSON.stringify({ addon: nativeInfo().addonPath, total: r.totalCost, perm: Array.from(r.rowToCol) }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    const res = JSON.parse(out.trim());
    expect(res.addon.startsWith(join(dir, 'prebuilds'))).toBe(true);
    // brute force over the 6 permutations: the optimum is 1 + 2 + 2 = 5 with rows -> [1, 0, 2]
    expect(res.total).toBe(5);
    expect(res.perm).toEqual([1, 0, 2]);
  });
});

describe('npm install: the prebuild where a build would add nothing, a build where it would', () => {
  const cases: Array<[string, Record<string, unknown>, 'prebuild' | 'build', RegExp]> = [
    ['no CUDA toolkit, no OpenBLAS', { prebuilt: true }, 'prebuild', /using the prebuilt addon .* a local build would add nothing/],
    ['nvcc found', { prebuilt: true, nvccDir: '/usr/local/cuda/bin' }, 'build', /adds CUDA \(nvcc in \/usr\/local\/cuda\/bin\)/],
    ['OpenBLAS found', { prebuilt: true, openblas: '/usr/lib/x86_64-linux-gnu/libopenblas.so' }, 'build', /adds OpenBLAS GEMM/],
    ['no prebuild for this platform', { prebuilt: false }, 'build', /no prebuild for this platform/],
    ['SAE_MATCH_BUILD=1', { prebuilt: true, env: { SAE_MATCH_BUILD: '1' } }, 'build', /SAE_MATCH_BUILD=1/],
  ];
  for (const [what, given, action, message] of cases)
    it(what, async () => {
      const { planInstall } = await import(pathToFileURL(join(root, 'scripts', 'build', 'install-plan.mjs')).href);
      const plan = planInstall({ prebuildDir: 'prebuilds/linux-x64', env: {}, ...given });
      expect(plan.action).toBe(action);
      expect(plan.message).toMatch(message);
    });
});
