// Writing and reading an output folder (the contract in contract.ts). A finished pair is written as
// its arrays, then its record (pairs/{l}_{m}.json), then manifest.json is assembled from the records;
// each file goes to a temporary name and is renamed, so a run killed at any point leaves a folder
// whose manifest is true, and a rerun redoes exactly the pairs no record vouches for (resume.ts).
// readSuiteOutput is the one reader of a folder, for analyze, trace, compose, eval and report.
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { ensureDir, writeJson } from '../io/write.js';
import {
  costFile, pairName, permFile, RECORDS_DIR, recordFile, SIDE, toolVersion, topkFile,
  type Manifest, type ManifestHeader, type ManifestPair, type PairRecord,
} from './contract.js';

/** What an output folder may hold besides manifest.json: the files sae-match writes (contract.ts). */
const OURS = new RegExp(`^(perm|cost|u|v)_${SIDE}_${SIDE}\\.npy$|^topk_(idx|cost)_${SIDE}_${SIDE}\\.npy$|^(pairs|running)$|^(eval\\.json|report\\.html)$|\\.tmp-\\d+-[0-9a-f]+$`);

/** The folder-wide settings two runs into one folder must share (extending --layers is still a resume). */
const FOLDER_SETTINGS = ['metric', 'bias_weight', 'fold', 'width', 'l0'] as const;

/**
 * The one policy of output folders: a folder is empty (or new), or ours with the same folder-wide
 * settings and source (a resume), or refused before anything is written, naming what differs.
 * `force` recomputes a folder of ours whatever its settings; a folder whose manifest is not ours, or
 * that holds files sae-match does not write, is refused even then. A folder written before per-pair
 * records existed gets a record for every pair its manifest lists, so those pairs stay finished.
 */
export async function claimOutDir(out: string, header: ManifestHeader, opts: { force?: boolean; sameSource?: (root: string) => boolean } = {}): Promise<void> {
  await ensureDir(out);
  const entries = await readdir(out);
  if (!entries.length) return;
  const text = await readFile(join(out, 'manifest.json'), 'utf8').catch(() => undefined);
  const m = text === undefined ? undefined : await readManifest(out);
  if (text !== undefined && !m)
    throw new SaeMatchInputError(`${out}/manifest.json is not a sae-match manifest: this folder belongs to something else; choose another --out (nothing was changed, --force or not)`);
  if (!m) {
    const foreign = entries.filter((e) => e !== 'manifest.json' && !OURS.test(e));
    if (foreign.length)
      throw new SaeMatchInputError(`${out}: not empty and not a sae-match output folder (it holds ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', …' : ''}); choose an empty or new folder`);
    return;
  }
  if (!opts.force) {
    const differs: string[] = [];
    const same = opts.sameSource ?? ((r: string) => r === header.source_root);
    if (!same(m.source_root)) differs.push(`source ${m.source_root || '(pair)'} → ${header.source_root || '(pair)'}`);
    for (const k of FOLDER_SETTINGS)
      if (JSON.stringify(m[k]) !== JSON.stringify(header[k])) differs.push(`${k} ${JSON.stringify(m[k]) ?? 'unset'} → ${JSON.stringify(header[k]) ?? 'unset'}`);
    if (differs.length)
      throw new SaeMatchInputError(`${out}: holds results of other settings (${differs.join('; ')}); use another --out, or --force to recompute this folder with the new ones`);
  }
  if ((await readRecords(out)).length || !m.pairs.length) return;
  await ensureDir(join(out, RECORDS_DIR), 'record folder');
  for (const pair of m.pairs)
    await writeJson(join(out, recordFile(pair)), { tool: 'sae-match', version: m.version, source_root: m.source_root, pair } satisfies PairRecord);
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

export async function writeManifest(out: string, m: Manifest): Promise<void> {
  m.pairs.sort((a, b) => a.from - b.from || a.to - b.to);
  m.updated = new Date().toISOString();
  await writeJson(join(out, 'manifest.json'), m);
}

/** The records of finished pairs in `out` (a missing or foreign record counts as not finished). */
export async function readRecords(out: string): Promise<PairRecord[]> {
  const names = await readdir(join(out, RECORDS_DIR)).catch(() => [] as string[]);
  const records: PairRecord[] = [];
  const recordName = new RegExp(`^${SIDE}_${SIDE}\\.json$`);
  for (const name of names.filter((n) => recordName.test(n)).sort()) {
    const text = await readFile(join(out, RECORDS_DIR, name), 'utf8').catch(() => undefined);
    try {
      const r = text === undefined ? undefined : (JSON.parse(text) as PairRecord);
      if (r?.tool === 'sae-match' && typeof r.source_root === 'string' && r.pair && Number.isInteger(r.pair.from)) records.push(r);
    } catch {
      // a torn or foreign file is not a record; the pair is redone
    }
  }
  return records;
}

/** The finished pairs of `out` whose SAEs came from `sourceRoot` (their records). */
export async function finishedPairs(out: string, sourceRoot: string | ((root: string) => boolean)): Promise<ManifestPair[]> {
  const same = typeof sourceRoot === 'string' ? (r: string) => r === sourceRoot : sourceRoot;
  return (await readRecords(out)).filter((r) => same(r.source_root)).map((r) => r.pair);
}

/** Writes a finished pair: its arrays (top-k, perm, costs), then its record. */
export async function writePairResult(out: string, sourceRoot: string, entry: ManifestPair,
  arrays: { perm: Int32Array; costs: Float32Array; topk?: { k: number; indices: Int32Array; costs: Float32Array }; duals?: { u: Float64Array; v: Float64Array } }): Promise<void> {
  if (entry.duals && arrays.duals) {
    await writeNpy(join(out, entry.duals.u), { dtype: 'float64', shape: [arrays.duals.u.length], data: arrays.duals.u });
    await writeNpy(join(out, entry.duals.v), { dtype: 'float64', shape: [arrays.duals.v.length], data: arrays.duals.v });
  }
  await writePairFiles(out, entry.from_label ?? entry.from, entry.to_label ?? entry.to, arrays.perm, arrays.costs, arrays.topk);
  await ensureDir(join(out, RECORDS_DIR), 'record folder');
  const record: PairRecord = { tool: 'sae-match', version: toolVersion, source_root: sourceRoot, pair: entry };
  await writeJson(join(out, recordFile(entry)), record);
}

export async function writePairFiles(out: string, from: number | string, to: number | string, perm: Int32Array, costs: Float32Array,
  topk?: { k: number; indices: Int32Array; costs: Float32Array }): Promise<void> {
  if (topk) {
    await writeNpy(join(out, topkFile('idx', from, to)), { dtype: 'int32', shape: [perm.length, topk.k], data: topk.indices });
    await writeNpy(join(out, topkFile('cost', from, to)), { dtype: 'float32', shape: [perm.length, topk.k], data: topk.costs });
  }
  await writeNpy(join(out, permFile(from, to)), { dtype: 'int32', shape: [perm.length], data: perm });
  await writeNpy(join(out, costFile(from, to)), { dtype: 'float32', shape: [costs.length], data: costs });
}

/**
 * Writes manifest.json: `header` and the finished pairs the folder holds for header.source_root (or
 * the roots `sources` accepts: other snapshots of one Hub cache), less those `keep` rejects.
 *
 * Many writers (shards of one suite on a shared filesystem, which has no locks to rely on) may do
 * this at once: each write is atomic, but a writer that listed the records just before another
 * shard's last record appeared would leave a manifest without it. So after writing, the records are
 * listed again, and the manifest is rewritten until the list it was made from is still the list on
 * disk: the last writer always leaves a manifest of every record there is.
 */
export async function assembleManifest(out: string, header: ManifestHeader,
  opts: {
    keep?: (p: ManifestPair) => boolean; sources?: (root: string) => boolean;
    /** Test seam: runs between listing the records and writing the manifest (widens the race). */
    afterListing?: () => Promise<void>;
  } = {}): Promise<Manifest> {
  const list = async () => (await finishedPairs(out, opts.sources ?? header.source_root)).filter((p) => opts.keep?.(p) ?? true);
  const fingerprint = (ps: ManifestPair[]) => ps.map((p) => `${pairName(p)}:${p.settings}`).sort().join(',');
  let pairs = await list();
  let manifest: Manifest = { ...header, pairs, updated: '' };
  for (let round = 0; round < 50; round++) {
    manifest = { ...header, pairs, updated: '' };
    await opts.afterListing?.();
    await writeManifest(out, manifest);
    const now = await list();
    if (fingerprint(now) === fingerprint(pairs)) break;
    pairs = now;
  }
  return manifest;
}

/** One pair's matches as read back from a folder. */
export interface PairMatches {
  from: number;
  to: number;
  perm: Int32Array;
  costs: Float32Array;
  entry: ManifestPair;
}

export interface SuiteOutput {
  out: string;
  manifest: Manifest;
  /** In layer order; pairs[k].to === pairs[k + 1].from for a contiguous suite. */
  pairs: PairMatches[];
}

/**
 * Reads a suite's manifest and every pair's perm and cost arrays, checked against the manifest:
 * n_from entries each, every perm entry in [-1, n_to).
 */
export async function readSuiteOutput(outDir: string): Promise<SuiteOutput> {
  const out = resolve(outDir);
  const manifest = await readManifest(out);
  if (!manifest) throw new SaeMatchInputError(`${out}: no sae-match manifest.json (run \`sae-match suite ... --out ${outDir}\` first)`);
  // Two SAEs of one layer (a cross-width pair) are not a step from layer to layer, which is what
  // analysis follows (a feature's path would return to its own layer forever).
  const across = manifest.pairs.find((p) => p.from === p.to);
  if (across)
    throw new SaeMatchInputError(`${out}: holds the cross-width pair ${pairName(across)} (two SAEs of layer ${across.from}), not a chain of layers; ` +
      `analyze, trace, compose, eval and report follow features from layer to layer: read its ${across.perm}${across.topk ? ` and ${across.topk.indices}` : ''} directly`);
  const pairs: PairMatches[] = [];
  for (const entry of [...manifest.pairs].sort((a, b) => a.from - b.from)) {
    const perm = await readNpy(join(out, entry.perm), { expectDtype: ['int32'], expectRank: 1 });
    const costs = await readNpy(join(out, entry.costs), { expectDtype: ['float32'], expectRank: 1 });
    if (perm.shape[0] !== entry.n_from || costs.shape[0] !== entry.n_from)
      throw new SaeMatchInputError(`${out}: ${entry.perm} / ${entry.costs} have ${perm.shape[0]} / ${costs.shape[0]} entries, the manifest says n_from = ${entry.n_from}`);
    const P = perm.data as Int32Array;
    for (let i = 0; i < P.length; i++)
      if (P[i]! < -1 || P[i]! >= entry.n_to) throw new SaeMatchInputError(`${join(out, entry.perm)}: entry ${i} is ${P[i]}, outside [-1, ${entry.n_to})`);
    pairs.push({ from: entry.from, to: entry.to, perm: P, costs: costs.data as Float32Array, entry });
  }
  return { out, manifest, pairs };
}
