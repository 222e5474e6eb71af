// Finding the SAEs of a suite on disk and choosing one per layer, before any weights are read.
//   Gemma Scope  <root>/layer_{L}/width_{W}/average_l0_{K}/params.npz  (several K per layer and width)
//   SAELens      <root>/layer_{L}/cfg.json + sae_weights.safetensors
//   npy folders  <root>/layer_{L}/W_enc.npy …
// Gemma Scope's "canonical" SAE of a layer and width is the one whose average L0 is closest to 100.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { fsReason } from '../io/write.js';
import type { SaeFormat } from './load.js';

/** Per-layer L0 choice: 'canonical', one number for every layer, or a map layer → L0. */
export type L0Choice = 'canonical' | number | Record<number, number>;

export interface DiscoverOptions {
  /** Gemma Scope width folder without 'width_' (e.g. '16k'); needed when a suite has several. */
  width?: string;
  l0?: L0Choice;
  /** Inclusive layer range [first, last]. */
  layers?: [number, number];
}

export interface SuiteLayer {
  layer: number;
  /** Absolute path loadSae() takes: a params.npz file or an SAE folder. */
  path: string;
  /** path relative to the suite root. */
  rel: string;
  format: SaeFormat;
  /** Gemma Scope only: the chosen average L0 and all that exist for this layer and width. */
  l0?: number;
  l0Available?: number[];
  /** How the L0 was chosen: canonical, explicit or map. */
  l0Rule?: string;
}

export interface Suite {
  root: string;
  layout: SaeFormat;
  width?: string;
  widthsAvailable?: string[];
  layers: SuiteLayer[];
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (e) {
    throw new SaeMatchInputError(`${dir}: cannot list folder (${fsReason(e, 'folder')})`, { cause: e });
  }
}

const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

/** Closest to 100, ties to the lower (Gemma Scope's canonical SAEs). */
export function canonicalL0(available: number[]): number {
  return [...available].sort((a, b) => Math.abs(a - 100) - Math.abs(b - 100) || a - b)[0]!;
}

/** "3-7", "5", "0,2,4" → the layers to keep; a range is inclusive. */
export function parseLayers(spec: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(spec);
  if (!m) throw new SaeMatchInputError(`--layers: expected a layer or an inclusive range like 3-7, got '${spec}'`);
  const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
  if (b < a) throw new SaeMatchInputError(`--layers: range ${a}-${b} is empty`);
  return [a, b];
}

/** "canonical", a number, or a JSON file {"0": 105, "1": 88, …} / text file of "layer l0" lines. */
export async function parseL0(spec: string): Promise<L0Choice> {
  if (spec === 'canonical') return 'canonical';
  if (/^\d+$/.test(spec)) return Number(spec);
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch {
    throw new SaeMatchInputError(`--l0: '${spec}' is neither 'canonical', a number, nor a readable map file`);
  }
  const map: Record<number, number> = {};
  const add = (l: string, k: unknown, line?: number) => {
    if (!/^\d+$/.test(l) || typeof k !== 'number' || !Number.isInteger(k) || k < 0)
      throw new SaeMatchInputError(`${spec}${line ? `:${line}` : ''}: expected layer → integer L0, got ${l} → ${String(k)}`);
    map[Number(l)] = k;
  };
  if (text.trimStart().startsWith('{')) {
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new SaeMatchInputError(`${spec}: not valid JSON (${(e as Error).message})`);
    }
    for (const [l, k] of Object.entries(obj)) add(l, k);
  } else {
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) return;
      const [l, k, extra] = line.split(/[\s,:=]+/);
      if (extra !== undefined || k === undefined) throw new SaeMatchInputError(`${spec}:${i + 1}: expected 'layer l0', got '${raw}'`);
      add(l!, /^\d+$/.test(k) ? Number(k) : NaN, i + 1);
    });
  }
  return map;
}

function pickL0(layer: number, available: number[], choice: L0Choice, where: string): { l0: number; rule: string } {
  const explicit = typeof choice === 'number' ? choice : typeof choice === 'object' ? choice[layer] : undefined;
  if (explicit === undefined) return { l0: canonicalL0(available), rule: 'canonical' };
  if (!available.includes(explicit))
    throw new SaeMatchInputError(`${where}: no average_l0_${explicit} (available: ${available.join(', ')})`);
  return { l0: explicit, rule: typeof choice === 'number' ? 'explicit' : 'map' };
}

async function gemmaScopeLayer(root: string, dir: string, layer: number, opts: DiscoverOptions, width: string): Promise<SuiteLayer | undefined> {
  const wdir = join(root, dir, `width_${width}`);
  if (!(await stat(wdir).then((s) => s.isDirectory(), () => false))) return undefined;
  const l0s: number[] = [];
  for (const d of await subdirs(wdir)) {
    const m = /^average_l0_(\d+)$/.exec(d);
    if (m && (await isFile(join(wdir, d, 'params.npz')))) l0s.push(Number(m[1]));
  }
  if (!l0s.length) throw new SaeMatchInputError(`${wdir}: no average_l0_*/params.npz inside`);
  l0s.sort((a, b) => a - b);
  const { l0, rule } = pickL0(layer, l0s, opts.l0 ?? 'canonical', wdir);
  const rel = join(dir, `width_${width}`, `average_l0_${l0}`, 'params.npz');
  return { layer, path: join(root, rel), rel, format: 'gemmascope', l0, l0Available: l0s, l0Rule: rule };
}

/** The widths present under the layer folders, in numeric order ('16k' < '65k' < '1m'). */
async function widthsOf(root: string, layerDirs: string[]): Promise<string[]> {
  const seen = new Set<string>();
  for (const d of layerDirs) for (const w of await subdirs(join(root, d))) if (w.startsWith('width_')) seen.add(w.slice(6));
  const size = (w: string) => {
    const m = /^(\d+)([km]?)$/.exec(w);
    return m ? Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'm' ? 1e6 : 1) : Infinity;
  };
  return [...seen].sort((a, b) => size(a) - size(b) || a.localeCompare(b));
}

/** Lists the suite under `root` and chooses one SAE per layer. Reads no weights. */
export async function discoverSuite(rootPath: string, opts: DiscoverOptions = {}): Promise<Suite> {
  const root = resolve(rootPath);
  const layerDirs = (await subdirs(root))
    .map((d) => ({ d, m: /^layer_(\d+)$/.exec(d) }))
    .filter((x) => x.m)
    .map((x) => ({ dir: x.d, layer: Number(x.m![1]) }))
    .sort((a, b) => a.layer - b.layer);
  if (!layerDirs.length) throw new SaeMatchInputError(`${root}: no layer_{L} folders (expected a Gemma Scope or SAELens suite)`);
  const [lo, hi] = opts.layers ?? [-Infinity, Infinity];
  const chosen = layerDirs.filter((x) => x.layer >= lo && x.layer <= hi);
  if (!chosen.length)
    throw new SaeMatchInputError(`${root}: no layers in ${lo}-${hi} (found ${layerDirs[0]!.layer}-${layerDirs[layerDirs.length - 1]!.layer})`);

  const widths = await widthsOf(root, chosen.map((x) => x.dir));
  if (widths.length) {
    let width = opts.width;
    if (width === undefined) {
      if (widths.length > 1)
        throw new SaeMatchInputError(`${root}: several widths (${widths.join(', ')}); choose one with --width`);
      width = widths[0]!;
    } else if (!widths.includes(width)) {
      throw new SaeMatchInputError(`${root}: no width_${width} (available: ${widths.join(', ')})`);
    }
    const layers: SuiteLayer[] = [];
    for (const { dir, layer } of chosen) {
      const l = await gemmaScopeLayer(root, dir, layer, opts, width);
      if (l) layers.push(l);
    }
    return { root, layout: 'gemmascope', width, widthsAvailable: widths, layers };
  }

  const layers: SuiteLayer[] = [];
  let layout: SaeFormat | undefined;
  for (const { dir, layer } of chosen) {
    const p = join(root, dir);
    const format: SaeFormat | undefined = (await isFile(join(p, 'sae_weights.safetensors'))) ? 'saelens'
      : (await isFile(join(p, 'W_enc.npy'))) ? 'npy' : undefined;
    if (!format) throw new SaeMatchInputError(`${p}: neither a SAELens SAE (cfg.json + sae_weights.safetensors) nor a folder of .npy tensors`);
    layout ??= format;
    layers.push({ layer, path: p, rel: dir, format });
  }
  return { root, layout: layout!, layers };
}

/** Adjacent pairs of the chosen layers (layer l with the next layer present, normally l + 1). */
export function adjacentPairs(suite: Suite): Array<[SuiteLayer, SuiteLayer]> {
  const out: Array<[SuiteLayer, SuiteLayer]> = [];
  for (let i = 0; i + 1 < suite.layers.length; i++) out.push([suite.layers[i]!, suite.layers[i + 1]!]);
  return out;
}
