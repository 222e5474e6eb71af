// The addon must load from prebuilds/ alone, as it does for a user whose install did not build:
// copy the package without build/ into a temp folder and solve a problem whose optimum we know.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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
