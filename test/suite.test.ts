// Suite discovery on fake trees (empty placeholder files: discovery reads no weights): Gemma Scope
// layout with widths and L0 variants, the canonical rule (closest to 100, ties to the lower), explicit
// and per-layer L0 choices, layer ranges, SAELens and npy layouts, and the errors for what is missing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SaeMatchInputError } from '../src/errors.js';
import { adjacentPairs, canonicalL0, discoverSuite, parseL0, parseLayers } from '../src/sae/discover.js';

const tmp = mkdtempSync(join(tmpdir(), 'sae-match-suite-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function touch(path: string) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '');
}

/** layer -> width -> L0 list */
function gemmaScopeTree(name: string, spec: Record<number, Record<string, number[]>>): string {
  const root = join(tmp, name);
  for (const [l, widths] of Object.entries(spec))
    for (const [w, l0s] of Object.entries(widths))
      for (const k of l0s) touch(join(root, `layer_${l}`, `width_${w}`, `average_l0_${k}`, 'params.npz'));
  return root;
}

/** The oracle for the canonical rule: brute force over the candidates by the rule's definition. */
function canonicalOracle(l0s: number[]): number {
  let best = l0s[0]!;
  for (const k of l0s) {
    const d = Math.abs(k - 100), db = Math.abs(best - 100);
    if (d < db || (d === db && k < best)) best = k;
  }
  return best;
}

describe('canonical L0', () => {
  it('is the average L0 closest to 100, ties to the lower', () => {
    expect(canonicalL0([90, 110])).toBe(90);
    expect(canonicalL0([22, 41, 82, 176])).toBe(82);
    expect(canonicalL0([101, 99])).toBe(99);
    expect(canonicalL0([445])).toBe(445);
    let seed = 7;
    for (let t = 0; t < 500; t++) {
      const xs = Array.from({ length: 1 + (t % 6) }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 300) + 1);
      expect(canonicalL0(xs)).toBe(canonicalOracle(xs));
    }
  });
});

describe('Gemma Scope layout', () => {
  const root = gemmaScopeTree('gs', {
    0: { '16k': [22, 105, 176], '65k': [40] },
    1: { '16k': [90, 110, 300] },
    2: { '16k': [57, 143] },
    3: { '16k': [41, 82, 445] },
    5: { '16k': [100] },
  });

  it('needs --width when several widths exist, and lists them in size order', async () => {
    await expect(discoverSuite(root)).rejects.toThrow(/several widths \(16k, 65k\); choose one with --width/);
    await expect(discoverSuite(root, { width: '1m' })).rejects.toThrow(/no width_1m \(available: 16k, 65k\)/);
  });

  it('chooses the canonical SAE per layer and skips layers without that width', async () => {
    const s = await discoverSuite(root, { width: '16k' });
    expect(s.layout).toBe('gemmascope');
    expect(s.layers.map((l) => [l.layer, l.l0])).toEqual([[0, 105], [1, 90], [2, 57], [3, 82], [5, 100]]);
    expect(s.layers[0]!.rel).toBe(join('layer_0', 'width_16k', 'average_l0_105', 'params.npz'));
    expect(s.layers[0]!.path).toBe(join(root, s.layers[0]!.rel));
    expect(s.layers[2]!.l0Available).toEqual([57, 143]);
    expect(adjacentPairs(s).map(([a, b]) => [a.layer, b.layer])).toEqual([[0, 1], [1, 2], [2, 3], [3, 5]]);
    const w65 = await discoverSuite(root, { width: '65k' });
    expect(w65.layers.map((l) => [l.layer, l.l0])).toEqual([[0, 40]]);
  });

  it('takes an explicit L0 and says which exist when it is missing', async () => {
    const one = gemmaScopeTree('gs-one', { 0: { '16k': [50, 100] }, 1: { '16k': [50, 120] } });
    const s = await discoverSuite(one, { l0: 50 });
    expect(s.layers.map((l) => [l.l0, l.l0Rule])).toEqual([[50, 'explicit'], [50, 'explicit']]);
    await expect(discoverSuite(one, { l0: 100 })).rejects.toThrow(/layer_1\/width_16k: no average_l0_100 \(available: 50, 120\)/);
  });

  it('takes a per-layer map (JSON or lines); unmapped layers stay canonical', async () => {
    const json = join(tmp, 'map.json');
    writeFileSync(json, JSON.stringify({ 1: 300, 3: 445 }));
    const s = await discoverSuite(root, { width: '16k', l0: await parseL0(json) });
    expect(s.layers.map((l) => [l.layer, l.l0, l.l0Rule])).toEqual([
      [0, 105, 'canonical'], [1, 300, 'map'], [2, 57, 'canonical'], [3, 445, 'map'], [5, 100, 'canonical'],
    ]);
    const txt = join(tmp, 'map.txt');
    writeFileSync(txt, '# layer l0\n0 22\n2: 143\n');
    expect(await parseL0(txt)).toEqual({ 0: 22, 2: 143 });
    writeFileSync(txt, '0 22 7\n');
    await expect(parseL0(txt)).rejects.toThrow(/map.txt:1: expected 'layer l0'/);
    await expect(parseL0(join(tmp, 'nope.json'))).rejects.toThrow(SaeMatchInputError);
    expect(await parseL0('canonical')).toBe('canonical');
    expect(await parseL0('82')).toBe(82);
  });

  it('restricts to a layer range', async () => {
    expect(parseLayers('1-3')).toEqual([1, 3]);
    expect(parseLayers('4')).toEqual([4, 4]);
    expect(() => parseLayers('3-1')).toThrow(/empty/);
    expect(() => parseLayers('a-b')).toThrow(SaeMatchInputError);
    const s = await discoverSuite(root, { width: '16k', layers: [1, 3] });
    expect(s.layers.map((l) => l.layer)).toEqual([1, 2, 3]);
    await expect(discoverSuite(root, { width: '16k', layers: [10, 12] })).rejects.toThrow(/no layers in 10-12 \(found 0-5\)/);
  });

  it('reports a width folder without any params.npz', async () => {
    const bad = join(tmp, 'gs-empty');
    mkdirSync(join(bad, 'layer_0', 'width_16k', 'average_l0_50'), { recursive: true });
    await expect(discoverSuite(bad)).rejects.toThrow(/width_16k: no average_l0_\*\/params.npz inside/);
  });
});

describe('SAELens and npy layouts', () => {
  it('finds layer_{L} folders with safetensors or npy files, in layer order', async () => {
    const root = join(tmp, 'sl');
    for (const l of [10, 2, 3]) {
      touch(join(root, `layer_${l}`, 'cfg.json'));
      touch(join(root, `layer_${l}`, 'sae_weights.safetensors'));
    }
    const s = await discoverSuite(root);
    expect(s.layout).toBe('saelens');
    expect(s.layers.map((l) => [l.layer, l.rel, l.format])).toEqual([[2, 'layer_2', 'saelens'], [3, 'layer_3', 'saelens'], [10, 'layer_10', 'saelens']]);
    const npy = join(tmp, 'npy');
    for (const l of [0, 1]) touch(join(npy, `layer_${l}`, 'W_enc.npy'));
    expect((await discoverSuite(npy)).layers.map((l) => l.format)).toEqual(['npy', 'npy']);
  });

  it('names the folder that holds no SAE, and a root without layers', async () => {
    const root = join(tmp, 'sl-bad');
    mkdirSync(join(root, 'layer_0'), { recursive: true });
    await expect(discoverSuite(root)).rejects.toThrow(/layer_0: neither a SAELens SAE/);
    await expect(discoverSuite(tmp + '/does-not-exist')).rejects.toThrow(/no such folder/);
    const empty = join(tmp, 'no-layers');
    mkdirSync(empty);
    await expect(discoverSuite(empty)).rejects.toThrow(/no layer_\{L\} folders/);
  });
});
