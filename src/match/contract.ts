// The output folder contract (stable; documented in README.md, read back by numpy): what the files
// of an output folder are called and what they hold. match/folder.ts writes and reads them,
// match/resume.ts decides from them whether a pair is done.
//   manifest.json          tool version, source root, metric, the SAE chosen per layer, one entry per pair
//   perm_{l}_{m}.npy       int32 [n_from]: perm[i] = j, feature i of layer l <-> feature j of layer m
//                          (-1 where unassigned in a rectangular pair)
//   cost_{l}_{m}.npy       float32 [n_from]: each feature's match cost (NaN where unassigned)
//   topk_{idx,cost}_{l}_{m}.npy   with --topk k: [n_from, k] candidates
//   pairs/{l}_{m}.json     one record per finished pair: its manifest entry and the source root;
//                          manifest.json's pairs are assembled from these records
//   running/{l}_{m}.json   a pair being computed: host, pid, shard, last heartbeat (removed when done)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../binding/addon.js';

export const toolVersion: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

export interface ManifestLayer {
  layer: number;
  /** The SAE used for this layer, relative to source_root. */
  sae: string;
  format: string;
  l0?: number;
  l0_rule?: string;
  /** Gemma Scope 2's L0 label (small, medium, big). */
  l0_label?: string;
  /** Gemma Scope 2 / Llama Scope site, SAELens hook suffix. */
  site?: string;
  d_model?: number;
  d_sae?: number;
}

/** How a pair was solved: the dense matrix, or streamed candidates with pricing over all pairs. */
export type MatchMethod = 'dense' | 'sparse';

export interface ManifestPair {
  from: number;
  to: number;
  /**
   * The two sides' names when the layers alone do not name the pair: two SAEs of one layer and two
   * widths ("12w16k" and "12w65k"), whose files are then perm_12w16k_12w65k.npy and so on.
   */
  from_label?: string;
  to_label?: string;
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
  certificate: {
    ok: boolean; max_violation: number; tolerance: number;
    /** The sparse method: how every one of the n_from * n_to pairs was proven (native/core/sparse/sparse.hpp). */
    pairs?: number; in_graph?: number; proven_by_row_bound?: number; proven_by_column_bound?: number;
    evaluated?: number; pricing_rounds?: number; violations_added?: number; rows_completed?: number;
  };
  /** 'dense' (the whole cost matrix; absent in older folders) or 'sparse' (candidates, priced). */
  method?: MatchMethod;
  /** The sparse method's candidates per column (twice as many per row). */
  candidates?: number;
  /** Why `method` was used ('asked for', or what `auto` saw). */
  method_reason?: string;
  /** Hash of everything the result depends on: metric, bias weight, folding, top-k, both SAEs' files (match/resume.ts). */
  settings: string;
  sae_from: string;
  sae_to: string;
  /** With --duals: u_{l}_{m}.npy float64 [n_from] and v_{l}_{m}.npy float64 [n_to], the certificate's duals. */
  duals?: { u: string; v: string };
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

/** A pair's name in its file names: from_to, or the sides' labels (two SAEs of one layer). */
export const pairName = (p: { from: number; to: number; from_label?: string; to_label?: string }) => `${p.from_label ?? p.from}_${p.to_label ?? p.to}`;
/** One side of a cross-width pair: its layer and width, "12w16k". */
export const sideLabel = (layer: number, width: string) => `${layer}w${width}`;
/** A side label as file names take it: a layer, optionally w and a width label (16k, 1m, 4096). */
export const SIDE = String.raw`-?\d+(?:w\d+[km]?)?`;

export const permFile = (from: number | string, to: number | string) => `perm_${from}_${to}.npy`;
export const costFile = (from: number | string, to: number | string) => `cost_${from}_${to}.npy`;
export const dualFile = (side: 'u' | 'v', from: number | string, to: number | string) => `${side}_${from}_${to}.npy`;
export const topkFile = (what: 'idx' | 'cost', from: number | string, to: number | string) => `topk_${what}_${from}_${to}.npy`;
/** The folder of per-pair records, and one pair's record in it. */
export const RECORDS_DIR = 'pairs';
/** Pairs being computed now: running/{l}_{m}.json, a heartbeat (match/heartbeat.ts). */
export const RUNNING_DIR = 'running';
export const recordFile = (p: Parameters<typeof pairName>[0]) => join(RECORDS_DIR, `${pairName(p)}.json`);

/** One finished pair as its record file holds it: the manifest entry and the suite it came from. */
export interface PairRecord {
  tool: 'sae-match';
  version: string;
  /** The suite root the pair's SAEs were found under ('' for `sae-match pair`). */
  source_root: string;
  pair: ManifestPair;
}

/** The manifest's fields that describe the run (everything but the pairs, assembled from the records). */
export type ManifestHeader = Omit<Manifest, 'pairs' | 'updated' | 'analysis'>;
