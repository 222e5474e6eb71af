// Sharding (issue 14): the shard a process is, from K/N or the scheduler's variables; the pairs each
// shard takes (every pair exactly once, balanced); shards writing one folder give the same bytes as a
// single process; 64 writers finishing at once lose no entry; status, merge, plans; a shard stopped
// by SIGTERM exits 143 and its rerun resumes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseShard, shardItems } from '../src/match/shard.js';
import { matchSuite } from '../src/match/suite.js';
import { folderStatus, mergeFolder } from '../src/match/status.js';
import { makePlan, readPlan, runPlan, writePlan } from '../src/match/plan.js';
import { writeSynthSuite } from '../src/tools/synth.js';
import { prng } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'sae-match-shard-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const suite = join(tmp, 'suite');
beforeAll(async () => {
  await writeSynthSuite(suite, { layers: 8, width: 192, dModel: 32, seed: 3, l0Variants: 1 });
}, 60_000);

describe('which shard a process is', () => {
  it('K/N, checked', () => {
    expect(parseShard('2/4')).toMatchObject({ index: 2, count: 4 });
    for (const bad of ['4/4', '1/0', 'x', '-1/3', 'auto/x']) expect(() => parseShard(bad, {})).toThrow(/--shard/);
  });

  it('a Slurm array of any range and step: sbatch --array=3-15:4 is shards 0..3', () => {
    const env = (id: number) => ({ SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '15', SLURM_ARRAY_TASK_STEP: '4', SLURM_ARRAY_TASK_COUNT: '4' });
    expect([3, 7, 11, 15].map((id) => parseShard('auto', env(id)).index)).toEqual([0, 1, 2, 3]);
    expect(parseShard('auto', env(7)).source).toMatch(/Slurm array task 7 \(min 3, step 4, 4 tasks\): shard 1\/4/);
    // Without _COUNT the count follows from _MAX and _STEP.
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_STEP: '2' })).toMatchObject({ index: 2, count: 5 });
    expect(() => parseShard('auto', { ...env(7), SLURM_ARRAY_TASK_ID: '8' })).toThrow(/not min 3 \+ a multiple of step 4/);
    expect(() => parseShard('auto/5', env(7))).toThrow(/the Slurm array has 4 tasks/);
  });

  it('a Kubernetes Indexed Job: JOB_COMPLETION_INDEX with the completions given', () => {
    expect(parseShard('auto/6', { JOB_COMPLETION_INDEX: '5' })).toMatchObject({ index: 5, count: 6 });
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '5' })).toThrow(/give the completions as --shard auto\/N/);
    expect(() => parseShard('auto', {})).toThrow(/neither SLURM_ARRAY_TASK_ID .* nor JOB_COMPLETION_INDEX/);
  });
});

describe('the pairs of each shard', () => {
  it('every pair exactly once, whatever N; the busiest shard within 4/3 of the ideal plus one pair', () => {
    const rnd = prng(7);
    for (let trial = 0; trial < 50; trial++) {
      const items = Array.from({ length: 1 + Math.floor(rnd() * 60) }, (_, i) => ({ id: `s:${i}_${i + 1}`, cost: Math.floor(1 + rnd() ** 3 * 1000) }));
      const n = 1 + Math.floor(rnd() * 9);
      const shares = Array.from({ length: n }, (_, k) => shardItems(items, { index: k, count: n }));
      const seen = shares.flat().map((x) => x.id).sort();
      expect(seen).toEqual(items.map((x) => x.id).sort());
      const total = items.reduce((a, x) => a + x.cost, 0), biggest = Math.max(...items.map((x) => x.cost));
      const busiest = Math.max(...shares.map((s) => s.reduce((a, x) => a + x.cost, 0)));
      expect(busiest).toBeLessThanOrEqual(Math.max((4 / 3) * (total / n), biggest) + biggest);
      // The same items in another order give every shard the same pairs.
      const shuffled = [...items].reverse();
      expect(shardItems(shuffled, { index: 0, count: n }).map((x) => x.id).sort()).toEqual(shares[0]!.map((x) => x.id).sort());
    }
  });
});

const files = (dir: string) => readdirSync(dir).filter((f) => /^(perm|cost)_\d+_\d+\.npy$/.test(f)).sort();

describe('shards writing one folder', () => {
  it('four shard processes at once give the bytes of one process, and a manifest of every pair', async () => {
    const single = join(tmp, 'single');
    await matchSuite(suite, { out: single, device: 'cpu' });
    const shared = join(tmp, 'sharded');
    const runs = [0, 1, 2, 3].map((k) => new Promise<number | null>((done) => {
      const c = spawn(process.execPath, [cli, '--threads', '1', 'suite', suite, '--out', shared, '--shard', `${k}/4`, '--device', 'cpu', '--json'], { stdio: 'ignore' });
      c.on('exit', (code) => done(code));
    }));
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    expect(files(shared)).toEqual(files(single));
    for (const f of files(single)) expect(readFileSync(join(shared, f)).equals(readFileSync(join(single, f))), f).toBe(true);
    const m = JSON.parse(readFileSync(join(shared, 'manifest.json'), 'utf8'));
    expect(m.pairs.map((p: { from: number }) => p.from)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const s = await folderStatus(shared);
    expect([s.complete, s.manifestComplete, s.counts]).toEqual([true, true, { done: 7, running: 0, stale: 0, missing: 0 }]);
  }, 120_000);

  it('64 writers finishing at once on one folder lose no entry', async () => {
    const out = join(tmp, 'storm');
    mkdirSync(out);
    const header = { tool: 'sae-match', version: '0', source_root: '/storm', metric: 'enc-dec', bias_weight: 0, fold: true, layers: [] };
    const startAt = Date.now() + 3000;
    const writers = Array.from({ length: 64 }, (_, f) => new Promise<number | null>((done) => {
      const c = spawn(process.execPath, [resolve(import.meta.dirname, 'storm-writer.mjs'), out, String(f), String(startAt), '/storm', JSON.stringify(header)], { stdio: 'ignore' });
      c.on('exit', (code) => done(code));
    }));
    expect((await Promise.all(writers)).every((c) => c === 0)).toBe(true);
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(m.pairs.map((p: { from: number }) => p.from)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(readdirSync(join(out, 'pairs')).filter((f) => f.endsWith('.json'))).toHaveLength(64);
    expect(readdirSync(out).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 120_000);

  it('status tells done, running, stale and missing pairs apart; merge lists every record', async () => {
    const out = join(tmp, 'partial');
    await matchSuite(suite, { out, device: 'cpu', shard: { index: 0, count: 3, source: 'test' } });
    const beat = (from: number, age: number) =>
      writeFileSync(join(out, 'running', `${from}_${from + 1}.json`), JSON.stringify({ from, to: from + 1, host: 'node7', pid: 4242, shard: '1/3', started: new Date(0).toISOString(), heartbeat: new Date(Date.now() - age * 1000).toISOString() }));
    const mine = (await folderStatus(out)).pairs.filter((p) => p.state === 'done').map((p) => p.from);
    const others = [0, 1, 2, 3, 4, 5, 6].filter((f) => !mine.includes(f));
    beat(others[0]!, 2);
    beat(others[1]!, 3600);
    const s = await folderStatus(out);
    expect(s.pairs.find((p) => p.from === others[0])).toMatchObject({ state: 'running', host: 'node7', pid: 4242, shard: '1/3' });
    expect(s.pairs.find((p) => p.from === others[1])).toMatchObject({ state: 'stale', host: 'node7' });
    expect(s.counts).toEqual({ done: mine.length, running: 1, stale: 1, missing: 7 - mine.length - 2 });
    expect(s.complete).toBe(false);
    const text = spawnSync(process.execPath, [cli, 'status', out], { encoding: 'utf8' }).stdout;
    expect(text).toMatch(new RegExp(`${others[1]} → ${others[1]! + 1}  stale  on node7 pid 4242 shard 1/3, last heartbeat 3600 s ago`));
    // A manifest written without a record that exists (a writer that lost the race) is mended by merge.
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    writeFileSync(join(out, 'manifest.json'), JSON.stringify({ ...m, pairs: m.pairs.slice(1) }));
    expect((await folderStatus(out)).manifestComplete).toBe(false);
    expect((await mergeFolder(out)).pairs).toHaveLength(mine.length);
    expect((await folderStatus(out)).manifestComplete).toBe(true);
  }, 60_000);

  it('a shard stopped by SIGTERM exits 143, leaves no heartbeat, and its rerun resumes', async () => {
    const big = join(tmp, 'big');
    await writeSynthSuite(big, { layers: 4, width: 2048, dModel: 256, seed: 5, l0Variants: 1 });
    const out = join(tmp, 'term');
    const child = spawn(process.execPath, [cli, 'suite', big, '--out', out, '--shard', '0/1', '--device', 'cpu'], { stdio: 'ignore' });
    // SIGTERM once the first pair is finished and the second is running.
    await new Promise<void>((ok) => {
      const t = setInterval(() => {
        if (existsSync(join(out, 'pairs', '0_1.json')) && existsSync(join(out, 'running'))) {
          clearInterval(t);
          child.kill('SIGTERM');
          ok();
        }
      }, 20);
    });
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    expect(code).toBe(143);
    expect(readdirSync(join(out, 'running'))).toEqual([]);
    const again = spawnSync(process.execPath, [cli, 'suite', big, '--out', out, '--shard', '0/1', '--device', 'cpu', '--json'], { encoding: 'utf8' });
    expect(again.status).toBe(0);
    const r = JSON.parse(again.stdout);
    expect(r.skipped).toBeGreaterThanOrEqual(1);
    expect(r.computed + r.skipped).toBe(3);
  }, 120_000);
});

describe('a plan of many suites', () => {
  it('plan writes the suites; two shards of run do every pair of every suite once', async () => {
    const fx = resolve(import.meta.dirname, 'fixtures', 'formats', 'gemmascope2');
    const plan = await makePlan({ roots: [fx, suite], sites: [], widths: [] }).catch((e: Error) => e);
    expect(plan).toBeInstanceOf(Error); // the Gemma Scope 2 repo has several sites: the plan must say which
    const p = await makePlan({ roots: [fx], sites: ['resid_post', 'mlp_out'], widths: ['16k'] });
    expect(p.suites.map((s) => s.name)).toEqual(['gemmascope2-resid_post-16k', 'gemmascope2-mlp_out-16k']);
    const file = join(tmp, 'plan.json');
    await writePlan(file, { ...p, suites: [...p.suites, { name: 'synth', root: suite }] });
    const read = await readPlan(file);
    const out = join(tmp, 'plan-out');
    const a = await runPlan(read, out, { index: 0, count: 2, source: 'test' }, { device: 'cpu' });
    const b = await runPlan(read, out, { index: 1, count: 2, source: 'test' }, { device: 'cpu' });
    expect(a.total).toBe(2 + 1 + 7);
    expect(a.assigned + b.assigned).toBe(a.total);
    const done = [...a.suites, ...b.suites].flatMap((s) => (s.result?.assigned ?? []).map((id) => `${s.name}:${id}`)).sort();
    expect(new Set(done).size).toBe(done.length);
    expect(done).toHaveLength(10);
    const st = spawnSync(process.execPath, [cli, 'status', out, '--json'], { encoding: 'utf8' });
    const status = JSON.parse(st.stdout);
    expect(status.complete).toBe(true);
    expect(status.folders.map((f: { out: string }) => f.out.split('/').pop())).toEqual(['gemmascope2-mlp_out-16k', 'gemmascope2-resid_post-16k', 'synth']);
    writeFileSync(join(tmp, 'bad-plan.json'), JSON.stringify({ tool: 'sae-match', plan: 1, suites: [{ name: '../x', root: suite }] }));
    await expect(readPlan(join(tmp, 'bad-plan.json'))).rejects.toThrow(/needs a root and a plain folder name/);
  }, 120_000);
});
