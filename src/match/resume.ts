// The one rule that decides whether a pair of an output folder is done: its record's settings hash
// equals the hash of this run's settings and of the SAE files it would read now, and its arrays are
// there with the right sizes. `suite` and `pair` both ask here, so a changed weight file is redone
// whichever command wrote the pair.
import { DEFAULT_CANDIDATES } from '../solve/sparse.js';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { listNpz } from '../io/npz.js';
import { saeFiles, type SaeFormat } from '../sae/load.js';
import { blobKey } from '../sae/hubcache.js';
import type { ManifestPair } from './contract.js';

/** Everything besides the SAEs that a pair's result depends on. */
export interface PairSettings {
  metric: string;
  biasWeight: number;
  fold: boolean;
  topk?: number;
  /** The sparse method and its k (the dense method adds nothing: keys of older folders stay valid). */
  method?: 'dense' | 'sparse';
  candidates?: number;
}

/**
 * The identity of the files an SAE is read from: path, size and modification time of each, and for
 * an .npz the CRC-32 of every entry from its central directory (free to read, and it changes when an
 * entry's bytes change even if size and mtime were kept). A file of a Hugging Face Hub cache is its
 * blob's content hash (the symlink's target), so a new snapshot holding the same bytes is not redone.
 */
export async function saeIdentity(format: SaeFormat, path: string): Promise<string> {
  const parts: string[] = [];
  for (const file of saeFiles(format, path)) {
    const blob = await blobKey(file);
    if (blob && (await stat(file).then(() => true, () => false))) {
      parts.push(`blob:${blob}`);
      continue;
    }
    const s = await stat(file).catch(() => undefined);
    if (!s) {
      parts.push(`${file}:missing`);
      continue;
    }
    let id = `${file}:${s.size}:${Math.round(s.mtimeMs)}`;
    if (file.endsWith('.npz')) {
      // An unreadable archive gets no CRCs here; loading it reports the problem.
      const entries = await listNpz(file).catch(() => []);
      id += ':' + entries.map((e) => `${e.name}=${e.crc32.toString(16)}`).join(',');
    }
    parts.push(id);
  }
  return parts.join('|');
}

/** The settings hash of a pair: equal hashes mean a stored result is still the answer. */
export function pairSettingsKey(settings: PairSettings, from: string, to: string): string {
  const parts = {
    metric: settings.metric, biasWeight: settings.biasWeight, fold: settings.fold, from, to,
    ...(settings.topk ? { topk: settings.topk } : {}),
    ...(settings.method === 'sparse' ? { method: 'sparse', candidates: settings.candidates } : {}),
  };
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** The settings hash of matching the SAE at `a` with the one at `b` under `settings`, from their files as they are now. */
export async function pairKey(settings: PairSettings, a: { format: SaeFormat; path: string }, b: { format: SaeFormat; path: string }): Promise<string> {
  const [from, to] = await Promise.all([saeIdentity(a.format, a.path), saeIdentity(b.format, b.path)]);
  return pairSettingsKey(settings, from, to);
}

const fileSizeOr = (path: string) => stat(path).then((s) => s.size, () => -1);

/**
 * What a pair's result depends on besides its two SAEs, from the options of `pair` and `suite`: the
 * metric and folding, top-k, and the method when it is asked for as sparse (with its k). 'auto' and
 * 'dense' add nothing, so folders of earlier versions stay valid; both methods reach the same optimum.
 */
export function resumeSettings(metric: string, parts: { biasWeight: number; fold: boolean }, o: { topk?: number; method?: string; candidates?: number }): PairSettings {
  return {
    metric, biasWeight: parts.biasWeight, fold: parts.fold, ...(o.topk ? { topk: o.topk } : {}),
    ...(o.method === 'sparse' ? { method: 'sparse' as const, candidates: o.candidates ?? DEFAULT_CANDIDATES } : {}),
  };
}

/**
 * A stored pair counts as done when its settings hash is `key` and its files are there with the right
 * sizes; a pair the sparse method solved is not done for a run that asks for the dense method, nor
 * one without dual files for a run that asks for them.
 */
export async function pairIsDone(out: string, p: ManifestPair | undefined, key: string, want: { method?: string; duals?: boolean } = {}): Promise<boolean> {
  if (!p || p.settings !== key) return false;
  if (want.method === 'dense' && p.method === 'sparse') return false;
  if (want.duals) {
    if (!p.duals) return false;
    const [u, v] = await Promise.all([p.duals.u, p.duals.v].map((f) => fileSizeOr(join(out, f))));
    if (u !== 128 + 8 * p.n_from || v !== 128 + 8 * p.n_to) return false;
  }
  const sizes = await Promise.all([p.perm, p.costs].map((f) => fileSizeOr(join(out, f))));
  // .npy v1 header of a 1-D array is 128 bytes; 4 bytes per entry for int32 and float32 alike.
  if (!sizes.every((s) => s === 128 + 4 * p.n_from)) return false;
  if (!p.topk) return true;
  const topk = await Promise.all([p.topk.indices, p.topk.costs].map((f) => fileSizeOr(join(out, f))));
  return topk.every((s) => s >= 4 * p.n_from * p.topk!.k);
}
