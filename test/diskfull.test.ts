// A suite whose output folder runs out of space: a small tmpfs, mostly taken by a filler file, as the
// output folder. The run must stop with a clear error, leave no file under a final name that is
// incomplete and no temporary files, and a rerun after space is freed must resume and end with the
// same bytes as a run that had room. Needs root for the mount (CI and this machine run as root);
// elsewhere the test is skipped and says why.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sae-match-diskfull-'));
const suite = join(dir, 'suite');
const roomy = join(dir, 'roomy');
const mnt = join(dir, 'small');
const out = join(mnt, 'out');
const filler = join(mnt, 'filler');

function sh(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
}
const sae = (...args: string[]) => sh(process.execPath, [cli, ...args]);

let mounted = false;
let why = '';
beforeAll(() => {
  expect(sae('synth', suite, '--layers', '6', '--width', '2048', '--d-model', '64', '--json').status).toBe(0);
  expect(sae('suite', suite, '--out', roomy, '--json').status).toBe(0);
  mkdirSync(mnt);
  // 256 KiB of tmpfs; the roomy run's output is about 100 KB in 16 files (7 pages a pair).
  const m = sh('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
  mounted = m.status === 0;
  why = m.error?.message ?? m.stderr.trim();
});
afterAll(() => {
  if (mounted) sh('umount', [mnt]);
  rmSync(dir, { recursive: true, force: true });
});

function files(d: string, base = d): string[] {
  return readdirSync(d).flatMap((name) => {
    const p = join(d, name);
    return statSync(p).isDirectory() ? files(p, base) : [p.slice(base.length + 1)];
  });
}

describe('the output folder fills up', () => {
  it('stops with a clear error, leaves only whole files, and a rerun after freeing space resumes', (ctx) => {
    if (!mounted) ctx.skip(`cannot mount a tmpfs here (${why}): run as root to test a full disk`);
    // Leave about 56 KiB: room for the first pair or two, not for all five.
    writeFileSync(filler, Buffer.alloc(200 * 1024, 1));
    const full = sae('suite', suite, '--out', out, '--json');
    expect(full.status, full.stderr).toBe(1);
    expect(full.stderr).toMatch(/no space left on device/);
    expect(full.stderr).toMatch(/free some space and rerun the same command/);

    const left = files(out);
    expect(left.filter((f) => f.includes('.tmp-'))).toEqual([]);
    // Every file under a final name is whole: an array has the roomy run's bytes, a JSON file parses
    // (records and the manifest carry timings, so they differ from the roomy run's in those fields).
    const arrays = left.filter((f) => f.endsWith('.npy'));
    expect(arrays.length).toBeGreaterThan(0);
    for (const f of arrays) expect(readFileSync(join(out, f)).equals(readFileSync(join(roomy, f))), f).toBe(true);
    for (const f of left.filter((f) => f.endsWith('.json'))) expect(() => JSON.parse(readFileSync(join(out, f), 'utf8')), f).not.toThrow();
    const donePairs = left.filter((f) => f.startsWith('pairs/')).length;
    expect(donePairs).toBeLessThan(5);

    rmSync(filler);
    const rerun = sae('suite', suite, '--out', out, '--json');
    expect(rerun.status, rerun.stderr).toBe(0);
    const r = JSON.parse(rerun.stdout);
    expect(r.skipped).toBe(donePairs);
    expect(r.computed).toBe(5 - donePairs);
    const after = files(out).sort();
    expect(after).toEqual(files(roomy).sort());
    for (const f of after.filter((f) => f.endsWith('.npy'))) expect(readFileSync(join(out, f)).equals(readFileSync(join(roomy, f))), f).toBe(true);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.pairs.length).toBe(5);
  }, 120_000);
});
