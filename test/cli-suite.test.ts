// The suite commands end to end, as a user runs them: synth → ls → suite → pair, outputs read back
// as numpy would (.npy files), exit codes for bad input, and a run killed with SIGKILL mid-way that
// a rerun finishes with the same results as an uninterrupted run.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy } from '../src/io/npy.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const fixtures = join(root, 'test', 'fixtures', 'suite-small');
const dir = mkdtempSync(join(tmpdir(), 'sae-match-cli-suite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sae-match synth / ls / suite / pair', () => {
  const suite = join(dir, 'suite');
  const out = join(dir, 'out');

  it('synth writes a Gemma Scope suite with truth; ls shows the canonical choice per layer', () => {
    const s = run('synth', suite, '--layers', '3', '--width', '256', '--d-model', '32', '--seed', '5', '--json');
    expect(s.code, s.stderr).toBe(0);
    const summary = JSON.parse(s.stdout);
    expect(summary.layers).toBe(3);
    expect(existsSync(join(suite, 'truth', 'perm_0_1.npy'))).toBe(true);
    const ls = run('ls', suite, '--json');
    expect(ls.code, ls.stderr).toBe(0);
    const found = JSON.parse(ls.stdout);
    expect(found.layers.map((l: any) => l.l0)).toEqual(summary.canonicalL0);
    const text = run('ls', suite);
    expect(text.stdout).toMatch(/layer +0 +layer_0\/width_256\/average_l0_\d+\/params.npz +gemmascope +width 256 +jumprelu float32 +L0 .*\[\d+\].*\(canonical\)/);
  });

  it('suite --json matches every pair, writes numpy-readable outputs, and a rerun skips them', async () => {
    const r = run('suite', suite, '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect([j.computed, j.skipped]).toEqual([2, 0]);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest.metric).toBe('enc-dec');
    for (const p of manifest.pairs) {
      const perm = await readNpy(join(out, p.perm));
      const cost = await readNpy(join(out, p.costs));
      expect([perm.dtype, perm.shape]).toEqual(['int32', [p.n_from]]);
      expect([cost.dtype, cost.shape]).toEqual(['float32', [p.n_from]]);
      const sum = Array.from(cost.data as Float32Array).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - p.total_cost)).toBeLessThanOrEqual(1e-4 * Math.abs(p.total_cost));
      expect(new Set(perm.data as Int32Array).size).toBe(p.n_from);
      expect(p.certificate.ok).toBe(true);
    }
    const again = JSON.parse(run('suite', suite, '--out', out, '--json').stdout);
    expect([again.computed, again.skipped]).toEqual([0, 2]);
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('pair matches two SAEs given as paths, and names layers from the paths', () => {
    const a = join(fixtures, 'gemmascope', 'layer_0'), b = join(fixtures, 'gemmascope', 'layer_1');
    const la = readdirSync(join(a, 'width_64')), lb = readdirSync(join(b, 'width_64'));
    const pa = join(a, 'width_64', la[0]!, 'params.npz'), pb = join(b, 'width_64', lb[0]!, 'params.npz');
    const r = run('pair', pa, pb, '--out', join(dir, 'pair'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect([j.from, j.to, j.perm]).toEqual([0, 1, 'perm_0_1.npy']);
    expect(existsSync(join(dir, 'pair', 'cost_0_1.npy'))).toBe(true);
    expect(JSON.parse(run('pair', pa, pb, '--out', join(dir, 'pair'), '--json').stdout).skipped).toBe(true);
  });

  it('bad input exits with code 2 and names the file', () => {
    const missing = run('suite', join(dir, 'nope'), '--out', join(dir, 'o2'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope: cannot list folder \(no such folder\)/);
    const bad = join(dir, 'bad-suite', 'layer_0', 'width_16k', 'average_l0_100');
    const bad1 = join(dir, 'bad-suite', 'layer_1', 'width_16k', 'average_l0_100');
    for (const d of [bad, bad1]) {
      spawnSync('mkdir', ['-p', d]);
      writeFileSync(join(d, 'params.npz'), 'this is not a zip archive at all, but it is long enough to look at');
    }
    const r = run('suite', join(dir, 'bad-suite'), '--out', join(dir, 'o3'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layer_0\/width_16k\/average_l0_100\/params.npz/);
    expect(run('suite', suite, '--out', join(dir, 'o4'), '--device', 'tpu').code).not.toBe(0);
  });
});

describe('interrupted run (SIGKILL) resumes cleanly', () => {
  it('a rerun completes the killed run and gives the same files as an uninterrupted run', async () => {
    const suite = join(dir, 'kill-suite');
    expect(run('synth', suite, '--layers', '7', '--width', '3000', '--d-model', '256', '--l0-variants', '1').code).toBe(0);
    const full = join(dir, 'kill-full'), killed = join(dir, 'kill-out');
    expect(run('suite', suite, '--out', full).code).toBe(0);

    const child = spawn(process.execPath, [cli, 'suite', suite, '--out', killed], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const t0 = Date.now();
    while (!existsSync(join(killed, 'manifest.json')) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await exited;
    const before = JSON.parse(readFileSync(join(killed, 'manifest.json'), 'utf8'));
    expect(before.pairs.length).toBeLessThan(6); // the kill landed mid-run
    // whatever the manifest lists is complete on disk
    for (const p of before.pairs) expect((await readNpy(join(killed, p.perm))).shape).toEqual([p.n_from]);

    const r = run('suite', suite, '--out', killed, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.computed + j.skipped).toBe(6);
    expect(j.skipped).toBe(before.pairs.length);
    for (let l = 0; l < 6; l++) {
      const a = (await readNpy(join(full, `perm_${l}_${l + 1}.npy`))).data;
      const b = (await readNpy(join(killed, `perm_${l}_${l + 1}.npy`))).data;
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  });
});

describe('SIGTERM and SIGINT stop a suite cleanly', () => {
  for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]] as const)
    it(`${sig}: exit ${code} at the next cancel point, no temporary files, and a rerun finishes with the uninterrupted run's files`, async () => {
      const suite = join(dir, 'kill-suite'), full = join(dir, 'kill-full'), out = join(dir, `sig-${sig}`);
      if (!existsSync(suite)) expect(run('synth', suite, '--layers', '7', '--width', '3000', '--d-model', '256', '--l0-variants', '1').code).toBe(0);
      if (!existsSync(join(full, 'manifest.json'))) expect(run('suite', suite, '--out', full).code).toBe(0);
      const child = spawn(process.execPath, [cli, 'suite', suite, '--out', out], { stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      const t0 = Date.now();
      while (!existsSync(join(out, 'manifest.json')) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 2));
      child.kill(sig);
      expect(await exited).toBe(code);
      expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
      const listed = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).pairs.length;
      expect(listed).toBeLessThan(6);
      const r = run('suite', suite, '--out', out, '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).skipped).toBe(listed);
      for (let l = 0; l < 6; l++)
        expect(Array.from((await readNpy(join(out, `perm_${l}_${l + 1}.npy`))).data)).toEqual(Array.from((await readNpy(join(full, `perm_${l}_${l + 1}.npy`))).data));
    });
});
