// Finding the SAEs of a suite on disk and choosing one per layer, before any weights are read.
//   Gemma Scope    <root>/layer_{L}/width_{W}/average_l0_{K}/params.npz  (several K per layer and width)
//   Gemma Scope 2  <repo>/{site}/layer_{L}_width_{W}_l0_{small|medium|big}[_affine]/ (root: the repo or a site)
//   SAELens        <root>/layer_{L}/ or <root>/<any name>/ (the layer from cfg.json's hook), cfg.json + sae_weights.safetensors
//   sparsify       <run>/layers.{L}/ (older: layer_{L}/), cfg.json + sae.safetensors
//   Llama Scope    <root>/Llama3_1-8B-Base-L{L}{R|A|M|TC}-{8x|32x}/
//   npy folders    <root>/layer_{L}/W_enc.npy …
//   Hub cache      models--{org}--{name}/: the snapshot refs/main names, or --revision (sae/hubcache.ts)
// The "canonical" SAE of a layer and width is the one whose L0 is closest to 100 (Gemma Scope's rule;
// for Gemma Scope 2 the `l0` of each config.json).
import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { fsReason } from '../io/write.js';
import { GS2_FOLDER } from './formats/gemmascope2.js';
import { LLAMA_SCOPE_FOLDER } from './formats/llamascope.js';
import { LAYOUTS, layoutOf } from './formats/index.js';
import { isDir, isFile } from '../io/read.js';
import { readConfig, num } from './formats/common.js';
import { danglingLinks, hubSnapshot, type HubSnapshot } from './hubcache.js';
import type { SaeFormat } from './types.js';

/** Gemma Scope 2's L0 labels. */
export const L0_LABELS = ['small', 'medium', 'big'] as const;
export type L0Label = (typeof L0_LABELS)[number];

/** Per-layer L0 choice: 'canonical', one number or Gemma Scope 2 label for every layer, or a map layer → L0. */
export type L0Choice = 'canonical' | number | L0Label | Record<number, number | L0Label>;

export interface DiscoverOptions {
  /** Width (Gemma Scope '16k', Gemma Scope 2 '262k', Llama Scope '32x'); needed when a suite has several. */
  width?: string;
  l0?: L0Choice;
  /** Inclusive layer range [first, last]. */
  layers?: [number, number];
  /** Exactly these layers (--layers 0,2,4); wins over `layers`. */
  layerList?: number[];
  /** The site (Gemma Scope 2 resid_post, mlp_out, …; Llama Scope R, A, M, TC; a SAELens hook suffix). */
  site?: string;
  /** Gemma Scope 2: the _affine (skip) transcoders instead of the plain SAEs and transcoders. */
  affine?: boolean;
  /** A Hub cache folder: the revision (branch, tag or hash) instead of refs/main. */
  revision?: string;
}

export interface SuiteLayer {
  layer: number;
  /** Absolute path loadSae() takes: a params.npz file or an SAE folder. */
  path: string;
  /** path relative to the suite root. */
  rel: string;
  format: SaeFormat;
  /** Gemma Scope 1 and 2: the chosen L0 and all that exist for this layer and width. */
  l0?: number;
  l0Available?: number[];
  /** Gemma Scope 2: the chosen label and the label of each available L0. */
  l0Label?: string;
  l0Labels?: string[];
  /** How the L0 was chosen: canonical, explicit, label or map. */
  l0Rule?: string;
  site?: string;
  width?: string;
}

export interface Suite {
  root: string;
  layout: SaeFormat;
  width?: string;
  widthsAvailable?: string[];
  site?: string;
  sitesAvailable?: string[];
  /** Layers missing between the first and the last found (their pairs skip over them). */
  missingLayers?: number[];
  /** A Hub cache: the repository, the snapshot, and what the snapshot lacks. */
  hub?: HubSnapshot & { incomplete: string[] };
  layers: SuiteLayer[];
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (e) {
    throw new SaeMatchInputError(`${dir}: cannot list folder (${fsReason(e, 'folder')})`, { cause: e });
  }
}


/** Closest to 100, ties to the lower (Gemma Scope's canonical SAEs). */
export function canonicalL0(available: number[]): number {
  return [...available].sort((a, b) => Math.abs(a - 100) - Math.abs(b - 100) || a - b)[0]!;
}

/** Gemma Scope's width label of n features: 16384 → 16k, 65536 → 65k, 2^20 → 1m, else the number. */
export function widthLabelOf(w: number): string {
  if (w % (1 << 20) === 0) return `${w / (1 << 20)}m`;
  if (w % 1024 === 0) return `${Math.floor(w / 1000)}k`;
  return String(w);
}

/**
 * The features a width label stands for: 16k → 16384, 1m → 2^20, a plain number as it is; a multiple
 * of d_model (Llama Scope's 8x) or anything else → undefined. Orders widths and sizes shards' pairs.
 */
export function widthFeatures(label: string | undefined): number | undefined {
  const m = label === undefined ? null : /^(\d+)([km]?)$/.exec(label);
  return m ? Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1 << 20 : 1) : undefined;
}
const widthSize = (w: string) => widthFeatures(w) ?? Infinity;

/** A width asked for as a label (16k) or as a number of features (16384) is the folder label's. */
export function sameWidth(label: string, wanted: string): boolean {
  return label === wanted || (/^\d+$/.test(wanted) && label === widthLabelOf(Number(wanted)));
}

/**
 * --layers: "3-7" (inclusive), "5", or a list "0,2,4" / "0-3,8": a range stays a range (layers
 * missing inside it are skipped), a list names exactly the layers wanted.
 */
export function parseLayerSelection(spec: string): Pick<DiscoverOptions, 'layers' | 'layerList'> {
  const items = spec.split(',').map((x) => x.trim());
  if (items.length === 1) return { layers: parseLayers(spec) };
  const list = new Set<number>();
  for (const it of items) {
    const [a, b] = parseLayers(it);
    for (let l = a; l <= b; l++) list.add(l);
  }
  return { layerList: [...list].sort((x, y) => x - y) };
}

/**
 * The layers of `available` the options keep. A request that reaches beyond the suite is refused
 * with what exists (asking 1-9 of layers 0-3 used to run 1-3 without a word).
 */
function keepLayers(root: string, available: number[], opts: DiscoverOptions): Set<number> {
  const have = [...new Set(available)].sort((a, b) => a - b);
  const span = `${have[0]}-${have[have.length - 1]}`;
  if (opts.layerList) {
    const absent = opts.layerList.filter((l) => !have.includes(l));
    if (absent.length) throw new SaeMatchInputError(`${root}: no layer${absent.length > 1 ? 's' : ''} ${absent.join(', ')} (this suite has ${have.join(', ')})`);
    return new Set(opts.layerList);
  }
  const [lo, hi] = opts.layers ?? [-Infinity, Infinity];
  const kept = have.filter((l) => l >= lo && l <= hi);
  if (!kept.length) throw new SaeMatchInputError(`${root}: no layers in ${lo}-${hi} (found ${span})`);
  if (opts.layers && (lo < have[0]! || hi > have[have.length - 1]!))
    throw new SaeMatchInputError(`${root}: --layers ${lo}-${hi} reaches beyond this suite's layers ${span}; ask for ${Math.max(lo, have[0]!)}-${Math.min(hi, have[have.length - 1]!)}`);
  return new Set(kept);
}

/** "3-7", "5" → the inclusive range [first, last]. */
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
  if ((L0_LABELS as readonly string[]).includes(spec)) return spec as L0Label;
  if (/^\d+$/.test(spec)) return Number(spec);
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch {
    throw new SaeMatchInputError(`--l0: '${spec}' is neither 'canonical', a number, nor a readable map file`);
  }
  const map: Record<number, number | L0Label> = {};
  const add = (l: string, k: unknown, line?: number) => {
    const label = typeof k === 'string' && (L0_LABELS as readonly string[]).includes(k);
    if (!/^\d+$/.test(l) || (!label && (typeof k !== 'number' || !Number.isInteger(k) || k < 0)))
      throw new SaeMatchInputError(`${spec}${line ? `:${line}` : ''}: expected layer → integer L0 or ${L0_LABELS.join('|')}, got ${l} → ${String(k)}`);
    map[Number(l)] = k as number | L0Label;
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
      add(l!, /^\d+$/.test(k) ? Number(k) : (L0_LABELS as readonly string[]).includes(k) ? k : NaN, i + 1);
    });
  }
  return map;
}

function pickL0(layer: number, available: number[], choice: L0Choice, where: string): { l0: number; rule: string } {
  const explicit = choice === 'canonical' ? undefined : typeof choice === 'object' ? choice[layer] : choice;
  if (explicit === undefined) return { l0: canonicalL0(available), rule: 'canonical' };
  if (typeof explicit === 'string')
    throw new SaeMatchInputError(`${where}: --l0 ${explicit} is a Gemma Scope 2 label; this suite has average_l0 numbers (${available.join(', ')})`);
  if (!available.includes(explicit))
    throw new SaeMatchInputError(`${where}: no average_l0_${explicit} (available: ${available.join(', ')})`);
  return { l0: explicit, rule: typeof choice === 'number' ? 'explicit' : 'map' };
}

async function gemmaScopeLayer(root: string, dir: string, layer: number, opts: DiscoverOptions, width: string): Promise<SuiteLayer | undefined> {
  const wdir = join(root, dir, `width_${width}`);
  if (!(await isDir(wdir))) return undefined;
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
  return [...seen].sort((a, b) => widthSize(a) - widthSize(b) || a.localeCompare(b));
}

/** Lists the suite under `root` (or the Hub cache snapshot it names) and chooses one SAE per layer. Reads no weights. */
export async function discoverSuite(rootPath: string, opts: DiscoverOptions = {}): Promise<Suite> {
  const given = resolve(rootPath);
  const hub = await hubSnapshot(given, opts.revision);
  if (opts.revision !== undefined && !hub)
    throw new SaeMatchInputError(`--revision applies to a Hugging Face Hub cache folder (models--{org}--{name}/ with snapshots/); ${given} is not one`);
  const root = hub?.root ?? given;
  const suite = await discoverIn(root, opts);
  // Layers missing inside the span (not those a --layers list left out on purpose).
  const gaps = opts.layerList ? [] : missingLayers(suite.layers);
  if (gaps.length) suite.missingLayers = gaps;
  if (hub) {
    const incomplete = [
      ...(await notDownloaded(root)),
      ...(await danglingLinks(root)).map((p) => `${relative(root, p)}: its blob is missing (download not finished?)`),
      ...(gaps.length ? [`layer${gaps.length > 1 ? 's' : ''} ${gaps.join(', ')} not in this snapshot`] : []),
    ];
    suite.hub = { ...hub, incomplete };
  }
  return suite;
}

function missingLayers(layers: SuiteLayer[]): number[] {
  const have = new Set(layers.map((l) => l.layer));
  const out: number[] = [];
  if (layers.length) for (let l = layers[0]!.layer; l <= layers[layers.length - 1]!.layer; l++) if (!have.has(l)) out.push(l);
  return out;
}

const CONFIGS = ['config.json', 'cfg.json', 'hyperparams.json'];

/** SAE folders of a snapshot that hold a config but no weights: the Hub fetched only part of them. */
async function notDownloaded(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const d of (await subdirs(dir).catch(() => [])).sort()) {
      const p = join(dir, d);
      const hasConfig = (await Promise.all(CONFIGS.map((c) => isFile(join(p, c))))).some(Boolean);
      const isSae = (await Promise.all(LAYOUTS.map((l) => l.detect(p)))).some(Boolean);
      if (hasConfig && !isSae) out.push(`${relative(root, p)}: config only, weights not downloaded`);
      else if (!isSae && depth > 0) await walk(p, depth - 1);
    }
  };
  await walk(root, 2);
  return out;
}

async function discoverIn(root: string, opts: DiscoverOptions): Promise<Suite> {
  const dirs = await subdirs(root);
  const layerDirs = dirs
    .map((d) => ({ d, m: /^layer_(\d+)$/.exec(d) }))
    .filter((x) => x.m)
    .map((x) => ({ dir: x.d, layer: Number(x.m![1]) }))
    .sort((a, b) => a.layer - b.layer);
  if (layerDirs.length) return layerFolders(root, layerDirs, opts);
  const gs2 = await gemmaScope2Entries(root, dirs);
  if (gs2.length) return choose(root, 'gemmascope2', gs2, opts);
  const llama = await llamaScopeEntries(root, dirs);
  if (llama.length) return choose(root, 'llamascope', llama, opts);
  const named = await namedEntries(root, dirs);
  if (named.length) return choose(root, named[0]!.format, named, opts);
  throw new SaeMatchInputError(
    `${root}: no layer_{L} folders and no SAE folders (expected a Gemma Scope, Gemma Scope 2, SAELens, sparsify or Llama Scope suite, or a Hub cache folder)`,
  );
}

/** Gemma Scope 1, and SAELens / sparsify / npy folders named layer_{L}. */
async function layerFolders(root: string, layerDirs: Array<{ dir: string; layer: number }>, opts: DiscoverOptions): Promise<Suite> {
  const keep = keepLayers(root, layerDirs.map((x) => x.layer), opts);
  const chosen = layerDirs.filter((x) => keep.has(x.layer));

  const widths = await widthsOf(root, chosen.map((x) => x.dir));
  if (widths.length) {
    let width = opts.width;
    if (width === undefined) {
      if (widths.length > 1)
        throw new SaeMatchInputError(`${root}: several widths (${widths.join(', ')}); choose one with --width`);
      width = widths[0]!;
    } else if (!widths.some((w) => sameWidth(w, width!))) {
      throw new SaeMatchInputError(`${root}: no width_${width} (available: ${widths.join(', ')})`);
    } else {
      width = widths.find((w) => sameWidth(w, width!))!;
    }
    const layers: SuiteLayer[] = [];
    for (const { dir, layer } of chosen) {
      const l = await gemmaScopeLayer(root, dir, layer, opts, width);
      if (l) layers.push(l);
    }
    return { root, layout: 'gemmascope', width, widthsAvailable: widths, layers: layers.map((l) => ({ ...l, width })) };
  }

  const layers: SuiteLayer[] = [];
  let layout: SaeFormat | undefined;
  for (const { dir, layer } of chosen) {
    const p = join(root, dir);
    const format = await folderFormat(p);
    if (!format)
      throw new SaeMatchInputError(`${p}: neither a SAELens SAE (cfg.json + sae_weights.safetensors), a sparsify SAE (cfg.json + sae.safetensors) nor a folder of .npy tensors`);
    layout ??= format;
    layers.push({ layer, path: p, rel: dir, format });
  }
  return { root, layout: layout!, layers };
}

/** The layout of an SAE folder, by its weights file; undefined when it holds none. */
async function folderFormat(p: string): Promise<SaeFormat | undefined> {
  for (const l of LAYOUTS) if (l.format !== 'gemmascope' && (await l.detect(p))) return l.format;
  return undefined;
}

/** One SAE found on disk, before the choice of site, width, L0 and layers. */
interface Entry extends SuiteLayer {
  affine?: boolean;
}

async function gemmaScope2Entries(root: string, dirs: string[]): Promise<Entry[]> {
  // The root is a site folder (its folders are SAEs) or a repository (its folders are sites).
  const direct = dirs.some((d) => GS2_FOLDER.test(d));
  const sites = direct ? [{ site: basename(root), dir: root, names: dirs }] : await Promise.all(
    dirs.map(async (d) => ({ site: d, dir: join(root, d), names: await subdirs(join(root, d)).catch(() => [] as string[]) })));
  const out: Entry[] = [];
  for (const { site, dir, names } of sites)
    for (const name of names) {
      const m = GS2_FOLDER.exec(name);
      const p = join(dir, name);
      if (!m || !(await isFile(join(p, 'params.safetensors')))) continue;
      // The config's l0 decides the canonical SAE; a folder without a readable one is still listed (loading reports it).
      const l0 = num(await readConfig(join(p, 'config.json'), true).catch(() => undefined), 'l0');
      out.push({
        layer: Number(m[1]), path: p, rel: relative(root, p), format: 'gemmascope2', site, width: m[2], l0Label: m[3],
        ...(l0 !== undefined ? { l0 } : {}), ...(m[4] ? { affine: true } : {}),
      });
    }
  return out;
}

async function llamaScopeEntries(root: string, dirs: string[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const d of dirs) {
    const m = LLAMA_SCOPE_FOLDER.exec(d);
    const p = join(root, d);
    if (m && (await layoutOf('llamascope').detect(p)))
      out.push({ layer: Number(m[1]), path: p, rel: d, format: 'llamascope', site: m[2], width: m[3] });
  }
  return out;
}

/** SAE folders with any name: the layer from the name (layers.12, layer_12) or from the config's hook. */
async function namedEntries(root: string, dirs: string[]): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const d of dirs) {
    const p = join(root, d);
    const format = await folderFormat(p);
    if (!format) continue;
    const { meta } = await layoutOf(format).describe(p);
    const byName = /^layers?[._](\d+)(?:$|\.)/.exec(d)?.[1];
    const layer = byName !== undefined ? Number(byName) : meta.layer;
    if (layer === undefined)
      throw new SaeMatchInputError(`${p}: a ${format} SAE, but neither its folder name nor its config says which layer it belongs to (hook_name like blocks.{L}.hook_resid_post, or hook_layer)`);
    out.push({ layer, path: p, rel: d, format, ...(meta.site ? { site: meta.site } : {}) });
  }
  return out;
}


/** Keeps the entries whose `key` is `wanted`; with several values and none wanted, asks for `flag`. */
function pickOne(root: string, entries: Entry[], key: 'site' | 'width', wanted: string | undefined, flag: string): { kept: Entry[]; value?: string; available: string[] } {
  const values = [...new Set(entries.map((e) => e[key]).filter((v): v is string => v !== undefined))]
    .sort(key === 'width' ? (a, b) => widthSize(a) - widthSize(b) || a.localeCompare(b) : (a, b) => a.localeCompare(b));
  if (wanted !== undefined) {
    const hit = values.find((v) => (key === 'width' ? sameWidth(v, wanted) : v === wanted));
    if (hit === undefined) throw new SaeMatchInputError(`${root}: no ${key} '${wanted}' (available: ${values.join(', ') || 'none'})`);
    return { kept: entries.filter((e) => e[key] === hit), value: hit, available: values };
  }
  if (values.length > 1) throw new SaeMatchInputError(`${root}: several ${key}s (${values.join(', ')}); choose one with ${flag}`);
  return { kept: entries, value: values[0], available: values };
}

/** Gemma Scope 2's L0 choice among one layer's SAEs: canonical (config l0 closest to 100), a label, a number, a map. */
function pickLabelled(layer: number, group: Entry[], choice: L0Choice, root: string): Entry & { l0Rule: string } {
  const want = typeof choice === 'object' ? choice[layer] : choice;
  const list = [...group].sort((a, b) => (a.l0 ?? 0) - (b.l0 ?? 0)).map((e) => `${e.l0Label}${e.l0 !== undefined ? ` (l0 ${e.l0})` : ''}`).join(', ');
  const rule = typeof choice === 'object' && want !== undefined ? 'map' : want === undefined || want === 'canonical' ? 'canonical' : typeof want === 'string' ? 'label' : 'explicit';
  let hit: Entry | undefined;
  if (want === undefined || want === 'canonical') {
    const withL0 = group.filter((e) => e.l0 !== undefined);
    hit = withL0.length ? withL0.find((e) => e.l0 === canonicalL0(withL0.map((x) => x.l0!))) : group.find((e) => e.l0Label === 'medium') ?? group[0];
  } else if (typeof want === 'string') {
    hit = group.find((e) => e.l0Label === want);
    if (!hit) throw new SaeMatchInputError(`${root}: layer ${layer} has no l0_${want} (available: ${list})`);
  } else {
    hit = group.find((e) => e.l0 === want);
    if (!hit) throw new SaeMatchInputError(`${root}: layer ${layer} has no SAE with l0 ${want} (available: ${list})`);
  }
  return { ...hit!, l0Rule: rule };
}

/** Site, width, transcoder kind, layers, then one SAE per layer. */
function choose(root: string, layout: SaeFormat, found: Entry[], opts: DiscoverOptions): Suite {
  const site = pickOne(root, found, 'site', opts.site, '--site');
  let entries = site.kept.filter((e) => !!e.affine === !!opts.affine);
  if (!entries.length)
    throw new SaeMatchInputError(opts.affine
      ? `${root}: no _affine (skip) transcoders here${site.value ? ` (site ${site.value})` : ''}; leave out --affine`
      : `${root}: only _affine (skip) transcoders here; add --affine to match them`);
  const width = pickOne(root, entries, 'width', opts.width, '--width');
  entries = width.kept;
  const keep = keepLayers(root, entries.map((e) => e.layer), opts);
  entries = entries.filter((e) => keep.has(e.layer));
  const byLayer = new Map<number, Entry[]>();
  for (const e of entries) byLayer.set(e.layer, [...(byLayer.get(e.layer) ?? []), e]);
  const layers: SuiteLayer[] = [];
  for (const [layer, group] of [...byLayer.entries()].sort((a, b) => a[0] - b[0])) {
    if (group.every((e) => e.l0Label !== undefined)) {
      const { affine: _a, ...hit } = pickLabelled(layer, group, opts.l0 ?? 'canonical', root);
      const sorted = [...group].sort((a, b) => (a.l0 ?? 0) - (b.l0 ?? 0));
      layers.push({ ...hit, l0Labels: sorted.map((e) => e.l0Label!), ...(sorted.every((e) => e.l0 !== undefined) ? { l0Available: sorted.map((e) => e.l0!) } : {}) });
    } else if (group.length > 1) {
      throw new SaeMatchInputError(`${root}: several SAEs for layer ${layer} (${group.map((e) => e.rel).join(', ')}); choose with --site or --width`);
    } else {
      const { affine: _a, ...one } = group[0]!;
      layers.push(one);
    }
  }
  return {
    root, layout, layers,
    ...(width.value !== undefined ? { width: width.value, widthsAvailable: width.available } : {}),
    ...(site.value !== undefined ? { site: site.value, sitesAvailable: site.available } : {}),
  };
}

/** Adjacent pairs of the chosen layers (layer l with the next layer present, normally l + 1). */
export function adjacentPairs(suite: Suite): Array<[SuiteLayer, SuiteLayer]> {
  const out: Array<[SuiteLayer, SuiteLayer]> = [];
  for (let i = 0; i + 1 < suite.layers.length; i++) out.push([suite.layers[i]!, suite.layers[i + 1]!]);
  return out;
}
