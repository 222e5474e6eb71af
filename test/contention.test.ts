// A two-thread phase 4 that is not given two CPUs must not wait for its helper to be scheduled: under
// `taskset -c 0` the solver and its helper share one CPU, and the solver takes over the upper half of
// every step the helper has not claimed (native/core/lap/relax_team.hpp). Before, this hung for
// minutes. Checked by counters and the answer, never by times: every relaxation was split (done by
// the helper or taken over), and the optimum equals the single-thread solve's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../src/io/npy.js';
import { testInstance } from './instances.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sae-match-contention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('phase 4 on one CPU', () => {
  it('taskset -c 0 with two solver threads: same optimum, every step split, no wait for the helper', async () => {
    const inst = testInstance('uniform', 4096, { seed: 77 });
    const file = join(dir, 'uniform-4096.npy');
    await writeNpy(file, { dtype: 'float32', shape: [4096, 4096], data: inst.data as Float32Array });
    const solve = (threads: 1 | 2, pin: boolean) => {
      const args = [cli, 'solve', file, '--json', '--engine', `lapThreads=${threads}`];
      const r = pin ? spawnSync('taskset', ['-c', '0', process.execPath, ...args], { encoding: 'utf8', timeout: 50_000 })
        : spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 50_000 });
      expect(r.error, 'taskset (util-linux) must be installed, and the solve must finish').toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { totalCost: number; certificate: { ok: boolean }; stats: Record<string, number> };
    };
    const one = solve(1, false);
    const pinned = solve(2, true);
    expect(pinned.certificate.ok).toBe(true);
    expect(pinned.totalCost).toBe(one.totalCost);
    const s = pinned.stats;
    // The team starts only where a second hardware thread exists (the affinity mask is not consulted yet).
    expect(s.helperSteps! + s.stepsTakenOver!).toBe(s.augmentations! + s.dijkstraSteps!);
    expect(s.augmentations).toBeGreaterThan(4);
  }, 120_000);
});
