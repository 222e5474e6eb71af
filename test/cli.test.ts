// The CLI end to end, as a user runs it: real files, real exit codes, outputs checked against brute
// force on small matrices.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../src/io/npy.js';

const root = resolve(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sae-match-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function bruteForce(c: number[][], maximize = false): number {
  const n = c.length;
  let best = maximize ? -Infinity : Infinity;
  const used = new Array(n).fill(false);
  const rec = (i: number, acc: number) => {
    if (i === n) {
      best = maximize ? Math.max(best, acc) : Math.min(best, acc);
      return;
    }
    for (let j = 0; j < n; j++)
      if (!used[j]) {
        used[j] = true;
        rec(i + 1, acc + c[i]![j]!);
        used[j] = false;
      }
  };
  rec(0, 0);
  return best;
}

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);

describe('sae-match solve', () => {
  const n = 7;
  const rows = Array.from({ length: n }, () => Array.from({ length: n }, () => Math.round(rand() * 1000) / 8));
  const file = join(dir, 'cost.npy');

  it('prints the optimal total and a passing certificate, and writes the assignment', async () => {
    await writeNpy(file, { dtype: 'float64', shape: [n, n], data: Float64Array.from(rows.flat()) });
    const out = join(dir, 'perm.npy');
    const r = run('solve', file, '--out', out, '--json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    const opt = bruteForce(rows);
    expect(s.totalCost).toBeCloseTo(opt, 9);
    expect(s.certificate.ok).toBe(true);
    const perm = await readNpy(out);
    expect(perm.dtype).toBe('int32');
    expect(perm.shape).toEqual([n]);
    const p = Array.from(perm.data as Int32Array);
    expect(new Set(p).size).toBe(n);
    expect(p.reduce((acc, j, i) => acc + rows[i]![j]!, 0)).toBeCloseTo(opt, 9);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('--maximize finds the brute-force maximum', async () => {
    const r = run('solve', file, '--maximize', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).totalCost).toBeCloseTo(bruteForce(rows, true), 9);
  });

  it('human output names the total and the certificate', () => {
    const r = run('solve', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/total cost\s+\d/);
    expect(r.stdout).toMatch(/certificate\s+optimal/);
  });

  it('exits 2 with the file name for NaN entries', async () => {
    const bad = join(dir, 'nan.npy');
    await writeNpy(bad, { dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, NaN, 2, 3]) });
    const r = run('solve', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nan.npy');
    expect(r.stderr).toContain('invalid numeric entries');
  });

  it('exits 2 for an infeasible matrix', async () => {
    const bad = join(dir, 'infeasible.npy');
    await writeNpy(bad, { dtype: 'float64', shape: [2, 2], data: Float64Array.from([1, Infinity, 2, Infinity]) });
    const r = run('solve', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('infeasible');
  });

  it('solves integer, bool and float16 matrices as scipy does (values converted exactly)', async () => {
    const ints = [[4, 1, 3], [2, 0, 5], [3, 2, 2]];
    for (const [dtype, data] of [
      ['int32', Int32Array.from(ints.flat())], ['uint8', Uint8Array.from(ints.flat())], ['int64', BigInt64Array.from(ints.flat().map(BigInt))],
    ] as const) {
      const f = join(dir, `${dtype}.npy`);
      await writeNpy(f, { dtype, shape: [3, 3], data } as never);
      const r = run('solve', f, '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).totalCost, dtype).toBe(bruteForce(ints));
    }
    const b = join(dir, 'bool.npy');
    await writeNpy(b, { dtype: 'bool', shape: [2, 2], data: Uint8Array.from([1, 0, 1, 1]) });
    expect(JSON.parse(run('solve', b, '--json').stdout).totalCost).toBe(1);
    // float16 bits of [[1, 2], [0.5, 4]]: 0x3c00, 0x4000, 0x3800, 0x4400.
    const h = join(dir, 'half.npy');
    await writeNpy(h, { dtype: 'float16', shape: [2, 2], data: Uint16Array.from([0x3c00, 0x4000, 0x3800, 0x4400]) });
    expect(JSON.parse(run('solve', h, '--json').stdout).totalCost).toBe(2.5);
    const huge = join(dir, 'huge.npy');
    await writeNpy(huge, { dtype: 'int64', shape: [1, 1], data: BigInt64Array.from([2n ** 60n]) });
    const r = run('solve', huge);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/huge\.npy: entry 0 .* no exact float64 value/);
  });

  it('exits 2 for a 1-D array, a 3-D int array, a truncated file and a missing file', async () => {
    const v = join(dir, 'vec.npy');
    await writeNpy(v, { dtype: 'float32', shape: [3], data: Float32Array.from([1, 2, 3]) });
    let r = run('solve', v);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/vec\.npy.*2-D/);

    const im = join(dir, 'int.npy');
    await writeNpy(im, { dtype: 'int32', shape: [2, 2, 1], data: Int32Array.from([1, 2, 3, 4]) });
    r = run('solve', im);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/int\.npy.*2-D/);

    const t = join(dir, 'trunc.npy');
    await writeNpy(t, { dtype: 'float32', shape: [4, 4], data: new Float32Array(16) });
    const { readFileSync } = await import('node:fs');
    writeFileSync(t, readFileSync(t).subarray(0, 100));
    r = run('solve', t);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/trunc\.npy.*truncated/);

    r = run('solve', join(dir, 'nope.npy'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.npy');
  });
});

describe('sae-match info', () => {
  it('reports the addon, BLAS, threads and the CUDA state', () => {
    const r = run('info', '--json');
    expect(r.code).toBe(0);
    const i = JSON.parse(r.stdout);
    expect(i.addonPath).toMatch(/\.node$/);
    expect(i.threads).toBeGreaterThan(0);
    expect(typeof i.haveBlas).toBe('boolean');
    // either devices, or the reason there are none
    expect(i.cuda.devices.length > 0 || i.cuda.error.length > 0).toBe(true);
  });
});

describe('sae-match bench', () => {
  it('runs a tiny benchmark and the solvers agree', () => {
    const r = run('bench', '--family', 'uniform,sae', '--n', '64', '--no-scipy', '--munkres-timeout', '30', '--json');
    expect(r.code).toBe(0);
    const b = JSON.parse(r.stdout);
    expect(b.solve).toHaveLength(2);
    for (const row of b.solve) {
      expect(row.certificate.ok).toBe(true);
      const m = row.peers.find((p: { peer: string }) => p.peer === 'munkres');
      expect(m.agrees).toBe(true);
    }
    expect(b.disagreements).toEqual([]);
  });

  it('--learned adds a suite\'s adjacent pairs as instances, --sparse the sparse method on each; munkres agrees on both', () => {
    const suite = join(dir, 'bench-suite');
    expect(run('synth', suite, '--layers', '3', '--width', '96', '--d-model', '16', '--seed', '3', '--l0-variants', '1').code).toBe(0);
    const r = run('bench', '--family', 'int', '--n', '48', '--no-scipy', '--munkres-timeout', '30', '--learned', suite, '--learned-pairs', '5', '--sparse', '--candidates', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const b = JSON.parse(r.stdout);
    expect(b.solve.map((row: { name: string }) => row.name)).toEqual(['int', 'learned 0->1', 'learned 1->2']);
    for (const row of b.solve) {
      expect(row.certificate.ok).toBe(true);
      expect(row.peers.find((p: { peer: string }) => p.peer === 'munkres').agrees, row.name).toBe(true);
      expect(row.sparse.agrees, row.name).toBe(true);
      expect(row.sparse.certificateOk, row.name).toBe(true);
    }
    expect(b.solve[1].n).toBe(96);
    expect(b.disagreements).toEqual([]);
    expect(run('bench', '--family', 'int', '--n', '8', '--no-scipy', '--no-munkres', '--learned', join(dir, 'no-such-suite')).code).toBe(2);
  }, 120_000);
});

describe('--engine', () => {
  it('passes typed engine options down (same optimum, the asked-for thread count) and refuses unknown ones with exit 2', async () => {
    const n = 6;
    const rows = Array.from({ length: n }, () => Array.from({ length: n }, () => Math.round(rand() * 1000) / 8));
    const file = join(dir, 'engine.npy');
    await writeNpy(file, { dtype: 'float64', shape: [n, n], data: Float64Array.from(rows.flat()) });
    const one = run('solve', file, '--json', '--engine', 'lapThreads=1,costPanelRows=64');
    expect(one.code, one.stderr).toBe(0);
    const j = JSON.parse(one.stdout);
    expect(j.totalCost).toBeCloseTo(bruteForce(rows), 9);
    expect(j.stats.helperSteps).toBe(0);
    const bad = run('solve', file, '--engine', 'lapThreads=3');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/engine option lapThreads must be 1 or 2, got 3/);
    const unknown = run('suite', dir, '--out', join(dir, 'o'), '--engine', 'threads=4');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown engine option 'threads'/);
  });
});

describe('one CLI convention (issue 16): exit codes, flags, owned output folders', () => {
  // Table-driven: every usage and input error exits 2 with a message on stderr, never 1.
  const F = resolve(import.meta.dirname, 'fixtures', 'formats');
  const tmpOut = mkdtempSync(join(tmpdir(), 'sae-match-cli16-'));
  afterAll(() => rmSync(tmpOut, { recursive: true, force: true }));
  const run = (args: string[]) => spawnSync(process.execPath, [resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
  const cases: Array<[string, string[], RegExp]> = [
    ['a missing required option', ['suite', join(F, 'llamascope')], /required option '--out <dir>' not specified/],
    ['a negative feature', ['trace', tmpOut, '--layer', '0', '--feature', '-1'], /'--feature <F>' argument '-1' is invalid/],
    ['an unknown option', ['ls', join(F, 'llamascope'), '--bogus'], /unknown option '--bogus'/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['layers beyond the suite', ['ls', join(F, 'llamascope'), '--layers', '1-9'], /--layers 1-9 reaches beyond this suite's layers 0-2; ask for 1-2/],
    ['a listed layer that is not there', ['ls', join(F, 'llamascope'), '--layers', '0,5'], /no layer 5 \(this suite has 0, 1, 2\)/],
    ['an output folder under /proc', ['suite', join(F, 'llamascope'), '--out', '/proc/sae-match-x'], /cannot create output folder/],
    ['--from equal to --to', ['pair', join(F, 'llamascope', 'Llama3_1-8B-Base-L0R-8x'), join(F, 'llamascope', 'Llama3_1-8B-Base-L1R-8x'), '--out', join(tmpOut, 'p'), '--from', '3', '--to', '3'], /--from and --to are both 3/],
  ];
  for (const [what, args, message] of cases)
    it(`${what}: exit 2`, () => {
      const r = run(args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    });

  it('--help marks required options and exits 0', () => {
    const r = run(['suite', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--out <dir> +output folder \(required\)/);
  });

  it('--layers takes a list, widths take 16k or 16384, pair takes --from/--to', () => {
    const ls = JSON.parse(run(['ls', join(F, 'llamascope'), '--layers', '0,2', '--json']).stdout);
    expect(ls.layers.map((l: { layer: number }) => l.layer)).toEqual([0, 2]);
    expect(ls.missingLayers).toBeUndefined();
    const gs = JSON.parse(run(['ls', join(F, 'gemmascope2'), '--site', 'resid_post', '--width', '16384', '--json']).stdout);
    expect(gs.width).toBe('16k');
    const out = join(tmpOut, 'fromto');
    const r = run(['pair', join(F, 'llamascope', 'Llama3_1-8B-Base-L0R-8x'), join(F, 'llamascope', 'Llama3_1-8B-Base-L1R-8x'), '--out', out, '--from', '7', '--to', '9', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).perm).toBe('perm_7_9.npy');
  });

  it('output folders are owned: a foreign manifest or foreign files are refused, even with --force; other settings need --force', () => {
    const suite = join(F, 'llamascope');
    const foreign = join(tmpOut, 'web-app');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'manifest.json'), JSON.stringify({ name: 'my-web-app' }));
    for (const force of [[], ['--force']]) {
      const r = run(['suite', suite, '--out', foreign, ...force]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/manifest.json is not a sae-match manifest/);
    }
    expect(JSON.parse(readFileSync(join(foreign, 'manifest.json'), 'utf8'))).toEqual({ name: 'my-web-app' });
    const docs = join(tmpOut, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'thesis.tex'), '');
    expect(run(['suite', suite, '--out', docs]).stderr).toMatch(/not empty and not a sae-match output folder \(it holds thesis.tex\)/);
    const out = join(tmpOut, 'ours');
    expect(run(['suite', suite, '--out', out]).status).toBe(0);
    const dec = run(['suite', suite, '--out', out, '--metric', 'dec']);
    expect(dec.status).toBe(2);
    expect(dec.stderr).toMatch(/holds results of other settings \(metric "enc-dec" → "dec"\)/);
    expect(run(['suite', suite, '--out', out, '--metric', 'dec', '--force']).status).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).metric).toBe('dec');
    // extending --layers is a resume, not a conflict
    const part = join(tmpOut, 'grow');
    expect(run(['suite', suite, '--out', part, '--layers', '0-1']).status).toBe(0);
    const grown = JSON.parse(run(['suite', suite, '--out', part, '--json']).stdout);
    expect([grown.computed, grown.skipped]).toEqual([1, 1]);
  });

  it('report --out is the HTML file; a folder there is refused', () => {
    const out = join(tmpOut, 'ours');
    const r = run(['report', out, '--out', tmpOut]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is a folder; --out takes the HTML file to write/);
    const ok = run(['report', out, '--out', join(tmpOut, 'r.html'), '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    const compose = run(['compose', out, '--from', '0', '--to', '2', '--out', join(tmpOut, 'c.npy'), '--json']);
    expect(JSON.parse(compose.stdout)).toMatchObject({ from: 0, to: 2, n: 24 });
  });
});

describe("the README's command table", () => {
  it('is what --help says (scripts/check/command-table.mjs)', async () => {
    const { commandTable, readmeTable } = await import(pathToFileURL(resolve(import.meta.dirname, '..', 'scripts', 'check', 'command-table.mjs')).href);
    expect(readmeTable()).toBe(commandTable());
  }, 60_000);
});
