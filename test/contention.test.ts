// Phase 4's two threads on a machine that does not give them two free CPUs. The solver never waits for
// its helper to be scheduled (native/core/lap/relax_team.hpp: it takes over the upper half of every
// step the helper has not claimed), and the thread count follows the CPUs the process may use
// (native/core/threads.hpp). Before, both cases spun for minutes. Checked by counters and the answer,
// never by times (the 50 s limit only turns a hang into a failure).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNpy } from '../src/io/npy.js';
import { testInstance } from './instances.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sae-match-contention-'));
const file = join(dir, 'uniform-4096.npy');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Solve = { totalCost: number; certificate: { ok: boolean }; stats: Record<string, number> };

function run(prefix: string[], ...args: string[]) {
  const [cmd, ...rest] = prefix.length ? prefix : [process.execPath];
  const r = spawnSync(cmd!, [...rest, ...(prefix.length ? [process.execPath] : []), cli, ...args], { encoding: 'utf8', timeout: 50_000 });
  expect(r.error, `${cmd} must exist and the command must finish`).toBeUndefined();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}
const solve = (prefix: string[], threads: 1 | 2): Solve => run(prefix, 'solve', file, '--json', '--engine', `lapThreads=${threads}`);

let single: Solve;
beforeAll(async () => {
  const inst = testInstance('uniform', 4096, { seed: 77 });
  await writeNpy(file, { dtype: 'float32', shape: [4096, 4096], data: inst.data as Float32Array });
  single = solve([], 1);
});

describe('phase 4 when the CPUs are not free', () => {
  it('taskset -c 0: one thread is what the process was given, info says why, and the solve is the single-thread one', () => {
    const info = run(['taskset', '-c', '0'], 'info', '--json');
    expect(info.threads).toBe(1);
    expect(info.threadsReason).toMatch(/sched_getaffinity 1 CPU/);
    const pinned = solve(['taskset', '-c', '0'], 2);
    expect(pinned.certificate.ok).toBe(true);
    expect(pinned.totalCost).toBe(single.totalCost);
    expect(pinned.stats.helperSteps! + pinned.stats.stepsTakenOver!).toBe(0);
  }, 120_000);

  it('every core busy with other processes: same optimum, every relaxation split between the helper and the solver taking over', () => {
    const busy: ChildProcess[] = cpus().map(() => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    try {
      const loaded = solve([], 2);
      expect(loaded.certificate.ok).toBe(true);
      expect(loaded.totalCost).toBe(single.totalCost);
      const s = loaded.stats;
      const hasTeam = (run([], 'info', '--json').threads as number) >= 2;
      expect(s.helperSteps! + s.stepsTakenOver!).toBe(hasTeam ? s.augmentations! + s.dijkstraSteps! : 0);
    } finally {
      for (const b of busy) b.kill('SIGKILL');
    }
  }, 120_000);
});
