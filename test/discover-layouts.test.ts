// Discovery, ls, pair and suite on every layout of issue 13 (test/fixtures/formats, written by
// scripts/fixtures/make-format-fixtures.py): Gemma Scope 2 sites, widths, L0 labels and _affine
// transcoders; SAELens folders named after their hook; sparsify runs; Llama Scope; the Hub cache
// (refs/main, --revision, a partial snapshot, resume keyed on blob hashes); and the validation errors
// that name the file and the tensor.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync, readlinkSync, readdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverSuite, parseL0 } from '../src/sae/discover.js';
import { loadSae } from '../src/sae/load.js';
import { matchSuite } from '../src/match/suite.js';
import { readNpy } from '../src/io/npy.js';
import { spawnSync } from 'node:child_process';

const fx = resolve(import.meta.dirname, 'fixtures', 'formats');
const cli = resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const tmp = mkdtempSync(join(tmpdir(), 'sae-match-layouts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const pairs = JSON.parse(readFileSync(join(fx, 'expected', 'pairs.json'), 'utf8')) as Array<{ name: string; perm: number[]; total: number }>;
const expectedPair = (name: string) => pairs.find((p) => p.name === name)!;
const hub = join(fx, 'hubcache', 'models--google--gemma-scope-2-270m-pt');
const REV_A = readFileSync(join(hub, 'refs', 'main'), 'utf8').trim();

describe('Gemma Scope 2', () => {
  const gs2 = join(fx, 'gemmascope2');
  it('asks for --site and --width when there are several, and lists them', async () => {
    await expect(discoverSuite(gs2)).rejects.toThrow(/several sites \(mlp_out, resid_post, transcoder_all\); choose one with --site/);
    await expect(discoverSuite(gs2, { site: 'resid_post' })).rejects.toThrow(/several widths \(16k, 262k\); choose one with --width/);
    await expect(discoverSuite(gs2, { site: 'attn_out' })).rejects.toThrow(/no site 'attn_out' \(available: mlp_out, resid_post, transcoder_all\)/);
  });

  it('picks the canonical SAE per layer: the config l0 closest to 100', async () => {
    const s = await discoverSuite(gs2, { site: 'resid_post', width: '16k' });
    expect(s.layout).toBe('gemmascope2');
    expect(s.layers.map((l) => [l.layer, l.l0Label, l.l0, l.l0Rule])).toEqual([
      [0, 'medium', 61, 'canonical'], [1, 'small', 90, 'canonical'], [2, 'medium', 104, 'canonical'],
    ]);
    expect(s.layers[0]!.l0Labels).toEqual(['small', 'medium', 'big']);
    expect(s.layers[0]!.l0Available).toEqual([18, 61, 150]);
    // The site folder itself is a root too.
    expect((await discoverSuite(join(gs2, 'resid_post'), { width: '16k' })).layers.map((l) => l.rel)).toEqual(
      ['layer_0_width_16k_l0_medium', 'layer_1_width_16k_l0_small', 'layer_2_width_16k_l0_medium']);
  });

  it('takes a label, a number or a map of either for --l0', async () => {
    const o = { site: 'resid_post', width: '16k' };
    expect((await discoverSuite(gs2, { ...o, l0: await parseL0('big') })).layers.map((l) => l.l0)).toEqual([150, 300, 210]);
    expect((await discoverSuite(gs2, { ...o, l0: 61, layers: [0, 0] })).layers.map((l) => [l.l0Label, l.l0Rule])).toEqual([['medium', 'explicit']]);
    await expect(discoverSuite(gs2, { ...o, l0: 61 })).rejects.toThrow(/layer 1 has no SAE with l0 61 \(available: small \(l0 90\), medium \(l0 130\), big \(l0 300\)\)/);
    const map = join(tmp, 'l0.json');
    writeFileSync(map, JSON.stringify({ 1: 'big', 2: 20 }));
    expect((await discoverSuite(gs2, { ...o, l0: await parseL0(map) })).layers.map((l) => [l.l0, l.l0Rule])).toEqual([[61, 'canonical'], [300, 'map'], [20, 'map']]);
  });

  it('plain transcoders by default, the _affine skip transcoders with --affine', async () => {
    const plain = await discoverSuite(gs2, { site: 'transcoder_all' });
    expect(plain.layers.map((l) => l.rel)).toEqual(['transcoder_all/layer_0_width_16k_l0_small', 'transcoder_all/layer_1_width_16k_l0_small']);
    const affine = await discoverSuite(gs2, { site: 'transcoder_all', affine: true });
    expect(affine.layers.map((l) => l.rel)).toEqual(['transcoder_all/layer_0_width_16k_l0_small_affine', 'transcoder_all/layer_1_width_16k_l0_small_affine']);
    expect((await loadSae(affine.layers[0]!.path)).kind).toBe('skip-transcoder');
    await expect(discoverSuite(gs2, { site: 'mlp_out', affine: true })).rejects.toThrow(/no _affine \(skip\) transcoders here/);
  });
});

describe('folders named after hooks and hookpoints', () => {
  it('SAELens blocks.{L}.hook_resid_post: the layer from cfg.json (hook_layer, hook_name, metadata.hook_name)', async () => {
    const s = await discoverSuite(join(fx, 'saelens_hooks'));
    expect(s.layers.map((l) => [l.layer, l.rel, l.format])).toEqual([
      [0, 'blocks.0.hook_resid_post', 'saelens'], [1, 'blocks.1.hook_resid_post', 'saelens'], [2, 'blocks.2.hook_resid_post', 'saelens'],
    ]);
    expect(s.site).toBe('hook_resid_post');
  });

  it('a SAELens folder of several hooks asks for --site', async () => {
    await expect(discoverSuite(join(fx, 'saelens'))).rejects.toThrow(/several sites \(hook_resid_post, hook_resid_pre, ln2.hook_normalized\); choose one with --site/);
  });

  it('sparsify layers.{i} and the older layer_{i}', async () => {
    expect((await discoverSuite(join(fx, 'sparsify', 'run'))).layers.map((l) => [l.layer, l.rel, l.format])).toEqual([
      [0, 'layers.0', 'sparsify'], [1, 'layers.1', 'sparsify'], [2, 'layers.2', 'sparsify'],
    ]);
    expect((await discoverSuite(join(fx, 'sparsify', 'old'))).layers.map((l) => [l.layer, l.format])).toEqual([[0, 'sparsify'], [1, 'sparsify']]);
  });

  it('Llama Scope L{L}{R|A|M|TC}-{8x|32x}: layer, site and width from the folder name', async () => {
    const s = await discoverSuite(join(fx, 'llamascope'));
    expect([s.site, s.width, s.layers.map((l) => l.layer)]).toEqual(['R', '8x', [0, 1, 2]]);
  });
});

describe('the Hugging Face Hub cache', () => {
  it('matches the snapshot refs/main names', async () => {
    const s = await discoverSuite(hub);
    expect(s.hub).toMatchObject({ repoId: 'google/gemma-scope-2-270m-pt', revision: REV_A, rule: 'refs/main', incomplete: [] });
    expect(s.root).toBe(join(hub, 'snapshots', REV_A));
    expect(s.layers.map((l) => l.layer)).toEqual([0, 1, 2]);
  });

  it('--revision picks another snapshot (a hash prefix will do) and reports what it lacks', async () => {
    const revB = readdirSync(join(hub, 'snapshots')).find((r) => r !== REV_A)!;
    const s = await discoverSuite(hub, { revision: revB.slice(0, 8) });
    expect(s.hub!.revision).toBe(revB);
    expect(s.layers.map((l) => l.layer)).toEqual([0, 2]);
    expect(s.missingLayers).toEqual([1]);
    expect(s.hub!.incomplete).toEqual([
      'resid_post/layer_3_width_16k_l0_medium: config only, weights not downloaded',
      'layer 1 not in this snapshot',
    ]);
    await expect(discoverSuite(hub, { revision: 'nope' })).rejects.toThrow(/no snapshot nope/);
    await expect(discoverSuite(join(fx, 'llamascope'), { revision: 'main' })).rejects.toThrow(/--revision applies to a Hugging Face Hub cache folder/);
  });

  it('resume keys on the blobs: a new snapshot with the same bytes is not redone, a changed blob is', async () => {
    const repo = join(tmp, 'models--google--gemma-scope-2-270m-pt');
    cpSync(hub, repo, { recursive: true, verbatimSymlinks: true });
    const out = join(tmp, 'hub-out');
    expect((await matchSuite(repo, { out, device: 'cpu' })).computed).toBe(2);
    // A new revision holding the same blobs, now refs/main.
    const revC = 'c'.repeat(40);
    cpSync(join(repo, 'snapshots', REV_A), join(repo, 'snapshots', revC), { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(repo, 'refs', 'main'), revC);
    const again = await matchSuite(repo, { out, device: 'cpu' });
    expect([again.computed, again.skipped]).toEqual([0, 2]);
    expect(again.manifest.pairs.map((p) => `${p.from}_${p.to}`)).toEqual(['0_1', '1_2']);
    // Layer 2's weights become another blob (layer 0's bytes): pair 1 → 2 is redone, 0 → 1 is not.
    const l2 = join(repo, 'snapshots', revC, 'resid_post', 'layer_2_width_16k_l0_medium', 'params.safetensors');
    const l0 = join(repo, 'snapshots', revC, 'resid_post', 'layer_0_width_16k_l0_medium', 'params.safetensors');
    const target = readlinkSync(l0);
    unlinkSync(l2);
    symlinkSync(target, l2);
    const third = await matchSuite(repo, { out, device: 'cpu' });
    expect([third.computed, third.skipped]).toEqual([1, 1]);
  });
});

describe('ls, pair and suite from the command line on every layout', () => {
  const suites: Array<[string, string[], string | undefined]> = [
    ['gemmascope2', ['--site', 'resid_post', '--width', '16k'], 'gemmascope2 resid_post L0 -> L1'],
    ['gemmascope2', ['--site', 'transcoder_all'], 'gemmascope2 transcoder_all L0 -> L1'],
    ['saelens_hooks', [], 'saelens_hooks L0 -> L1'],
    ['sparsify/run', [], 'sparsify run L0 -> L1'],
    ['sparsify/old', ['--metric', 'dec'], 'sparsify old L0 -> L1'],
    ['llamascope', [], 'llamascope L0 -> L1'],
    ['hubcache/models--google--gemma-scope-2-270m-pt', [], undefined],
  ];
  for (const [root, args, oracle] of suites) {
    it(`suite ${root} ${args.join(' ')}`, async () => {
      const ls = await runCli(['ls', join(fx, root), ...args.filter((a, i) => a !== '--metric' && args[i - 1] !== '--metric'), '--json']);
      expect(ls.code).toBe(0);
      const listed = JSON.parse(ls.stdout) as { layers: Array<{ architecture: string; dtype: string }> };
      expect(listed.layers.every((l) => l.architecture && l.dtype)).toBe(true);
      const out = join(tmp, `cli-${root.replace(/\W/g, '_')}-${args.length}`);
      const r = await runCli(['suite', join(fx, root), '--out', out, '--device', 'cpu', ...args, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as { computed: number; pairs: Array<{ from: number; to: number; total_cost: number }> };
      expect(summary.computed).toBeGreaterThanOrEqual(1);
      if (oracle) {
        const p = expectedPair(oracle);
        expect(Array.from((await readNpy(join(out, 'perm_0_1.npy'))).data as Int32Array)).toEqual(p.perm);
        expect(Math.abs(summary.pairs[0]!.total_cost - p.total) / p.total).toBeLessThan(1e-6);
      }
      // `pair` on the first two SAEs ls listed: the same answer as the suite's first pair.
      const [l0, l1] = (listed.layers as unknown as Array<{ layer: number; path: string }>);
      const pout = `${out}-pair`;
      const pr = await runCli(['pair', l0!.path, l1!.path, '--out', pout, '--device', 'cpu', ...args.filter((a, i) => a === '--metric' || args[i - 1] === '--metric'), '--json']);
      expect(pr.code, pr.stderr).toBe(0);
      const file = `perm_${l0!.layer}_${l1!.layer}.npy`;
      expect(Array.from((await readNpy(join(pout, file))).data as Int32Array)).toEqual(Array.from((await readNpy(join(out, file))).data as Int32Array));
    });
  }

  it('pair takes the layer numbers from the SAEs\' configs', async () => {
    const out = join(tmp, 'cli-pair');
    const r = await runCli(['pair', join(fx, 'saelens', 'standard'), join(fx, 'saelens', 'topk_rescale'), '--out', out, '--device', 'cpu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const p = expectedPair('saelens standard -> topk_rescale');
    expect(Array.from((await readNpy(join(out, 'perm_3_4.npy'))).data as Int32Array)).toEqual(p.perm);
  });

  it('a TopK SAE that cannot be folded: enc-dec refused with the way out, exit 2', async () => {
    const r = await runCli(['suite', join(fx, 'sparsify', 'old'), '--out', join(tmp, 'cli-topk'), '--device', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/old\/layer_0\/sae.safetensors: a topk SAE cannot be folded .* use --metric dec or cosine-dec/);
  });

  it('an SAE and a transcoder of another output width: refused, naming both', async () => {
    const r = await runCli(['pair', join(fx, 'saelens', 'transcoder'), join(fx, 'saelens', 'standard'), '--out', join(tmp, 'cli-tc'), '--device', 'cpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the decoders write different widths: .*transcoder.* writes 12, .*standard.* writes 16/);
  });
});

/** A copy of a fixture SAE folder whose safetensors header has `from` replaced by `to` (same length: offsets stay valid). */
function patchedHeader(src: string, file: string, from: string, to: string): string {
  expect(to.length).toBe(from.length);
  const dir = join(tmp, `patched-${Math.random().toString(36).slice(2)}`);
  cpSync(join(fx, src), dir, { recursive: true });
  const bytes = readFileSync(join(dir, file));
  const n = Number(bytes.readBigUInt64LE(0));
  const header = bytes.subarray(8, 8 + n).toString('latin1');
  expect(header).toContain(from);
  bytes.write(header.replace(from, to), 8, 'latin1');
  writeFileSync(join(dir, file), bytes);
  return dir;
}

describe('validation errors name the file and the tensor', () => {
  it('a missing key (sparsify encoder.bias)', async () => {
    const dir = patchedHeader('sparsify/run/layers.0', 'sae.safetensors', '"encoder.bias"', '"encoder.biaz"');
    await expect(loadSae(dir)).rejects.toThrow(new RegExp(`${dir}/sae.safetensors: missing tensor encoder.bias for a topk sae \\(found: encoder.weight, W_dec, b_dec\\)`));
  });

  it('a transposed shape (Llama Scope decoder.weight stored [d_sae, d_model])', async () => {
    const dir = patchedHeader('llamascope/Llama3_1-8B-Base-L0R-8x', join('checkpoints', 'final.safetensors'), '"shape":[16,24]', '"shape":[24,16]');
    await expect(loadSae(dir)).rejects.toThrow(new RegExp(`final.safetensors: tensor 'decoder.weight' has shape \\[24, 16\\], expected \\[16, 24\\] \\(d_in = 16, d_sae = 24 from encoder.weight\\)`));
  });

  it('a Gemma Scope 2 w_dec of the wrong rank', async () => {
    const dir = patchedHeader('gemmascope2/mlp_out/layer_0_width_16k_l0_small', 'params.safetensors', '"shape":[24,16]', '"shape":[384]  ');
    await expect(loadSae(dir)).rejects.toThrow(/params.safetensors: tensor 'w_dec' must have rank 2 \[d_sae, d_out\], got shape \[384\]/);
  });

  it('a config whose d_model disagrees with the tensors', async () => {
    const dir = join(tmp, 'llama-dmodel');
    cpSync(join(fx, 'llamascope', 'Llama3_1-8B-Base-L0R-8x'), dir, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(dir, 'hyperparams.json'), 'utf8'));
    writeFileSync(join(dir, 'hyperparams.json'), JSON.stringify({ ...cfg, d_model: 32 }));
    await expect(loadSae(dir)).rejects.toThrow(new RegExp(`hyperparams.json: declares d_in = 32 but tensor 'encoder.weight' in .*final.safetensors has shape \\[24, 16\\] \\(d_in = 16\\)`));
    const sp = join(tmp, 'sparsify-latents');
    cpSync(join(fx, 'sparsify', 'run', 'layers.0'), sp, { recursive: true });
    writeFileSync(join(sp, 'cfg.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(sp, 'cfg.json'), 'utf8')), num_latents: 48 }));
    await expect(loadSae(sp)).rejects.toThrow(/cfg.json: declares d_sae = 48 but tensor 'encoder.weight'/);
  });

  it('a gated SAE without r_mag, and an architecture sae-match does not read', async () => {
    const dir = patchedHeader('saelens/gated', 'sae_weights.safetensors', '"r_mag"', '"r_maq"');
    await expect(loadSae(dir)).rejects.toThrow(/sae_weights.safetensors: missing tensor r_mag for a gated sae/);
    const odd = join(tmp, 'odd-arch');
    cpSync(join(fx, 'saelens', 'standard'), odd, { recursive: true });
    writeFileSync(join(odd, 'cfg.json'), JSON.stringify({ architecture: 'matryoshka_batchtopk', d_in: 16, d_sae: 24 }));
    await expect(loadSae(odd)).rejects.toThrow(/cfg.json: architecture 'matryoshka_batchtopk' is not one sae-match reads/);
  });
});
