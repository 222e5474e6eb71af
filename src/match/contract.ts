// The output folder contract (stable; documented in README.md, read back by numpy):
//   manifest.json          tool version, source root, metric, the SAE chosen per layer, one entry per pair
//   perm_{l}_{m}.npy       int32 [n_from]: perm[i] = j, feature i of layer l <-> feature j of layer m
//                          (-1 where unassigned in a rectangular pair)
//   cost_{l}_{m}.npy       float32 [n_from]: each feature's match cost (NaN where unassigned)
// Every file is written to a temporary name and renamed, perm and cost before the manifest that
// mentions them, so a run killed at any point leaves a folder whose manifest is true; a rerun redoes
// exactly the pairs the manifest does not vouch for with the same settings.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { writeAtomic, writeAll } from '../io/files.js';
import { packageRoot } from '../binding/addon.js';
import { writeNpy } from '../io/npy.js';

export const toolVersion: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

export interface ManifestLayer {
  layer: number;
  /** The SAE used for this layer, relative to source_root. */
  sae: string;
  format: string;
  l0?: number;
  l0_rule?: string;
  d_model?: number;
  d_sae?: number;
}

export interface ManifestPair {
  from: number;
  to: number;
  n_from: number;
  n_to: number;
  /** File names inside the output folder. */
  perm: string;
  costs: string;
  total_cost: number;
  mean_cost: number;
  median_cost: number;
  /** Features of layer `from` left unassigned (rectangular pairs only). */
  unassigned: number;
  device: string;
  seconds: number;
  timings: Record<string, number>;
  certificate: { ok: boolean; max_violation: number; tolerance: number };
  /** Hash of everything the result depends on: metric, bias weight, folding, both SAE files. */
  settings: string;
  sae_from: string;
  sae_to: string;
  /** With --topk k: topk_idx_{l}_{m}.npy int32 [n_from, k] and topk_cost_{l}_{m}.npy float32 [n_from, k]. */
  topk?: { k: number; indices: string; costs: string };
}

export interface Manifest {
  tool: 'sae-match';
  version: string;
  source_root: string;
  metric: string;
  bias_weight: number;
  fold: boolean;
  width?: string;
  l0?: string;
  layers: ManifestLayer[];
  pairs: ManifestPair[];
  updated: string;
  /** Written by `sae-match analyze`: unmatched counts per pair under a rule (dropped when the suite is rerun). */
  analysis?: {
    rule: { quantile?: number; max_cost?: number };
    pairs: Array<{ from: number; to: number; matched: number; unmatched: number; unassigned: number; threshold: number | null }>;
    middle_lifetime: { layers: number[]; mean: number; median: number } | null;
  };
}

export const permFile = (from: number | string, to: number | string) => `perm_${from}_${to}.npy`;
export const costFile = (from: number | string, to: number | string) => `cost_${from}_${to}.npy`;

/** What a pair's result depends on; equal keys mean the stored result is still the answer. */
export const topkFile = (what: 'idx' | 'cost', from: number | string, to: number | string) => `topk_${what}_${from}_${to}.npy`;

export function settingsKey(parts: { metric: string; biasWeight: number; fold: boolean; from: string; to: string; topk?: number }): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** Identity of an SAE's files: paths, sizes and modification times (changing the weights changes it). */
export async function fileIdentity(paths: string[]): Promise<string> {
  const parts: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    parts.push(s ? `${p}:${s.size}:${Math.round(s.mtimeMs)}` : `${p}:missing`);
  }
  return parts.join('|');
}

export async function prepareOutDir(out: string): Promise<void> {
  try {
    await mkdir(out, { recursive: true });
  } catch (e) {
    throw new SaeMatchInputError(`${out}: cannot create output folder (${(e as Error).message})`, { cause: e });
  }
}

/** The manifest of a previous run, or undefined (none, or not ours: then nothing is resumed). */
export async function readManifest(out: string): Promise<Manifest | undefined> {
  const text = await readFile(join(out, 'manifest.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const m = JSON.parse(text) as Manifest;
    return m?.tool === 'sae-match' && Array.isArray(m.pairs) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** A stored pair counts as done when its settings match and both files are there with the right size. */
export async function pairIsDone(out: string, p: ManifestPair | undefined, settings: string): Promise<boolean> {
  if (!p || p.settings !== settings) return false;
  const sizes = await Promise.all([p.perm, p.costs].map((f) => stat(join(out, f)).then((s) => s.size, () => -1)));
  // .npy v1 header of a 1-D array is 128 bytes; 4 bytes per entry for int32 and float32 alike.
  if (!sizes.every((s) => s === 128 + 4 * p.n_from)) return false;
  if (!p.topk) return true;
  const topk = await Promise.all([p.topk.indices, p.topk.costs].map((f) => stat(join(out, f)).then((s) => s.size, () => -1)));
  return topk.every((s) => s >= 4 * p.n_from * p.topk!.k);
}

export async function writePairFiles(out: string, from: number, to: number, perm: Int32Array, costs: Float32Array,
  topk?: { k: number; indices: Int32Array; costs: Float32Array }): Promise<void> {
  if (topk) {
    await writeNpy(join(out, topkFile('idx', from, to)), { dtype: 'int32', shape: [perm.length, topk.k], data: topk.indices });
    await writeNpy(join(out, topkFile('cost', from, to)), { dtype: 'float32', shape: [perm.length, topk.k], data: topk.costs });
  }
  await writeNpy(join(out, permFile(from, to)), { dtype: 'int32', shape: [perm.length], data: perm });
  await writeNpy(join(out, costFile(from, to)), { dtype: 'float32', shape: [costs.length], data: costs });
}

export async function writeManifest(out: string, m: Manifest): Promise<void> {
  m.pairs.sort((a, b) => a.from - b.from || a.to - b.to);
  m.updated = new Date().toISOString();
  const bytes = new TextEncoder().encode(JSON.stringify(m, null, 2) + '\n');
  await writeAtomic(join(out, 'manifest.json'), (fh) => writeAll(fh, bytes));
}
