// Hostile and broken files: real files (numpy-written .npy and .npz, safetensors and cfg.json
// fixtures) with their headers mutated at random (bytes, bit flips, 0x00/0xff runs, digits typed into
// the header text, truncation), run through the loaders. Every mutant must either load or be refused
// with a SaeMatchInputError whose message names the file: never another exception (a crash in
// waiting), never a hang (10 s per file). FUZZ_N sets mutants per format (default small enough for
// CI; BENCHMARKS.md records a long run); the seed is fixed, so a failure reproduces.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SaeMatchInputError } from '../src/errors.js';
import { decodeNpy, readNpy } from '../src/io/npy.js';
import { readNpz } from '../src/io/npz.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { loadSae } from '../src/sae/load.js';
import { prng } from './helpers.js';

const FIX = resolve(import.meta.dirname, 'fixtures');
const N = Number(process.env.FUZZ_N ?? 150);
const dir = mkdtempSync(join(tmpdir(), 'sae-match-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 1-4 mutations, most of them inside the first `head` bytes (the header) or the last `tail` bytes. */
function mutate(src: Uint8Array, r: () => number, head: number, tail = 0): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  const pos = () => {
    const inTail = tail > 0 && r() < 0.4;
    const span = inTail ? Math.min(tail, b.length) : Math.min(head, b.length);
    const off = inTail ? b.length - span : 0;
    return off + Math.floor(r() * Math.max(1, span));
  };
  for (let m = 1 + Math.floor(r() * 4); m > 0 && b.length > 0; m--) {
    const kind = Math.floor(r() * 6), p = pos();
    if (kind === 0) b[p] = Math.floor(r() * 256);
    else if (kind === 1) b[p]! ^= 1 << Math.floor(r() * 8);
    else if (kind === 2) b.fill(r() < 0.5 ? 0 : 0xff, p, Math.min(b.length, p + 1 + Math.floor(r() * 8)));
    else if (kind === 3) b[p] = 0x30 + Math.floor(r() * 10); // a digit: shapes and lengths grow
    else if (kind === 4) b = b.subarray(0, p);
    else {
      const ins = Uint8Array.from({ length: 1 + Math.floor(r() * 6) }, () => 0x30 + Math.floor(r() * 10));
      b = Uint8Array.from([...b.subarray(0, p), ...ins, ...b.subarray(p)]);
    }
  }
  return b;
}

const outcome = { loaded: 0, refused: 0 };

/** Loads or refuses properly within 10 s; anything else fails with the mutant kept for the report. */
async function survives(load: () => Promise<unknown> | unknown, names: string, keep: Uint8Array): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('hang: more than 10 s')), 10_000)));
  try {
    await Promise.race([Promise.resolve().then(load), hang]);
    outcome.loaded++;
  } catch (e) {
    if (!(e instanceof SaeMatchInputError) || !(e as Error).message.includes(names)) {
      const kept = join(tmpdir(), `sae-match-fuzz-failing-${Date.now()}.bin`);
      writeFileSync(kept, keep);
      throw new Error(`mutant (kept at ${kept}) gave ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    }
    outcome.refused++;
  } finally {
    clearTimeout(timer);
  }
}

describe(`fuzzed headers (${N} mutants per format)`, () => {
  it('.npy: decodeNpy and readNpy', async () => {
    const r = prng(1);
    const seeds = ['float32_2d.npy', 'v2_float32.npy', 'v3_int32.npy', 'fortran_big_endian_f8.npy', 'int64_2d.npy'].map((f) => readFileSync(join(FIX, 'npy', f)));
    for (let k = 0; k < N; k++) {
      const m = mutate(seeds[k % seeds.length]!, r, 160);
      await survives(() => decodeNpy(m, 'mutant.npy'), 'mutant.npy', m);
      const path = join(dir, 'm.npy');
      writeFileSync(path, m);
      await survives(() => readNpy(path), path, m);
    }
  });

  it('.npz: readNpz (local headers, central directory, ZIP64 records, member .npy headers)', async () => {
    const r = prng(2);
    const seeds = ['params.npz', 'params_compressed.npz', 'params_zip64.npz'].map((f) => readFileSync(join(FIX, 'sae', f)));
    for (let k = 0; k < N; k++) {
      const m = mutate(seeds[k % seeds.length]!, r, 256, 700);
      const path = join(dir, 'm.npz');
      writeFileSync(path, m);
      await survives(() => readNpz(path), path, m);
    }
  });

  it('safetensors: readSafetensors (header length, JSON, dtype, shape, data_offsets)', async () => {
    const r = prng(3);
    const seeds = ['saelens_f32/sae_weights.safetensors', 'saelens_bf16/sae_weights.safetensors', 'special_f16.safetensors'].map((f) => readFileSync(join(FIX, 'sae', f)));
    for (let k = 0; k < N; k++) {
      const s = seeds[k % seeds.length]!;
      const headerEnd = 8 + Number(Buffer.from(s).readBigUInt64LE(0));
      const m = mutate(s, r, headerEnd);
      const path = join(dir, 'm.safetensors');
      writeFileSync(path, m);
      await survives(() => readSafetensors(path), path, m);
    }
  });

  it('cfg.json: loadSae on a SAELens folder', async () => {
    const r = prng(4);
    const folder = join(dir, 'saelens');
    mkdirSync(folder, { recursive: true });
    copyFileSync(join(FIX, 'sae', 'saelens_f32', 'sae_weights.safetensors'), join(folder, 'sae_weights.safetensors'));
    const cfg = readFileSync(join(FIX, 'sae', 'saelens_f32', 'cfg.json'));
    for (let k = 0; k < N; k++) {
      const m = mutate(cfg, r, cfg.length);
      writeFileSync(join(folder, 'cfg.json'), m);
      await survives(() => loadSae(folder), folder, m);
    }
    expect(outcome.refused).toBeGreaterThan(0);
  }, 120_000);
});

describe('fuzzed headers through the CLI: exit codes', () => {
  it('sae-match solve on mutated .npy files exits 0 or 2, never 1 or by a signal, and names the file when it refuses', () => {
    const r = prng(5);
    const seed = readFileSync(join(FIX, 'npy', 'float32_2d.npy'));
    const cli = resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
    const codes = new Set<number | null>();
    for (let k = 0; k < 16; k++) {
      const path = join(dir, `cli-${k}.npy`);
      writeFileSync(path, mutate(seed, r, 128));
      const run = spawnSync(process.execPath, [cli, 'solve', path, '--json'], { encoding: 'utf8', timeout: 30_000 });
      codes.add(run.status);
      expect([0, 2], `${path}: exit ${run.status} (${run.signal ?? ''}) ${run.stderr}`).toContain(run.status);
      if (run.status === 2) expect(run.stderr).toContain(path);
    }
    expect(codes.has(2)).toBe(true);
  }, 120_000);
});

describe('regression corpus: mutants that once crashed a loader', () => {
  // Found by the fuzzer above (FUZZ_N=10000): offsets past 2^53 made fs.read throw inside yauzl, once
  // out of an event handler (an uncaught exception) and once out of its own open (a crash).
  for (const [name, fragment] of [
    ['npz-central-directory-offset-past-2e53.npz', /invalid ZIP archive|out of range/],
    ['npz-zip64-locator-past-2e53.npz', /ZIP64 end-of-central-directory locator points to offset \d+, past the end/],
  ] as const)
    it(`${name} is refused with an input error naming it`, async () => {
      const path = join(FIX, 'fuzz', name);
      const e = await readNpz(path).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(SaeMatchInputError);
      expect((e as Error).message).toContain(path);
      expect((e as Error).message).toMatch(fragment);
    });
});

describe('headers that claim huge arrays, under an address-space limit (RLIMIT_AS)', () => {
  // test/fixtures/huge-claims/ (scripts/fixtures/make-huge-claim-fixtures.py): files of a few hundred
  // bytes whose headers claim 10^12 elements or 3.4 GiB. Loaded in a child process limited to 1.5 GiB
  // of address space, so an allocation sized by a header before the header is checked against the
  // file fails there (a RangeError or bad_alloc) instead of passing unnoticed on a large machine.
  const prlimit = spawnSync('prlimit', ['--version'], { encoding: 'utf8' });
  const limit = ['--as=' + 1.5 * 2 ** 30];
  const probe = `
    const { readNpy, readNpz, readSafetensors } = await import(process.argv[1]);
    const out = [];
    for (const f of process.argv.slice(2)) {
      const load = f.endsWith('.npy') ? readNpy : f.endsWith('.npz') ? readNpz : readSafetensors;
      try { await load(f); out.push({ f, error: null }); }
      catch (e) { out.push({ f, error: e.constructor.name, message: e.message }); }
    }
    console.log(JSON.stringify(out));`;
  const index = resolve(import.meta.dirname, '..', 'dist', 'index.js');

  it.skipIf(prlimit.status !== 0)('the limit is real: a 3.4 GiB allocation fails under it', () => {
    const r = spawnSync('prlimit', [...limit, process.execPath, '-e', 'try { new Float32Array(9e8); console.log("allocated") } catch (e) { console.log(e.name) }'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('RangeError');
  });

  it.skipIf(prlimit.status !== 0)('every file is refused with an input error naming it, before any allocation of its claim', () => {
    const files = readdirSync(join(FIX, 'huge-claims')).map((f) => join(FIX, 'huge-claims', f));
    expect(files.length).toBe(8);
    const r = spawnSync('prlimit', [...limit, process.execPath, '--input-type=module', '-e', probe, index, ...files], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout) as Array<{ f: string; error: string | null; message?: string }>;
    for (const x of results) {
      expect(x.error, `${x.f}: ${x.message}`).toBe('SaeMatchInputError');
      expect(x.message).toContain(x.f);
      expect(x.message).toMatch(/1000000x1000000|30000x30000|\[1000000, 1000000\]|36000000[0-9]*/);
    }
  }, 60_000);

  it.skipIf(prlimit.status !== 0)('sae-match solve on the 10^12-element .npy exits 2 under the limit', () => {
    const cli = resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
    const f = join(FIX, 'huge-claims', 'npy-shape-1e12.npy');
    const r = spawnSync('prlimit', [...limit, process.execPath, cli, 'solve', f], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain(f);
  }, 60_000);
});
