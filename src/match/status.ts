// What an output folder holds while shards work on it, and the manifest assembled on demand:
// `sae-match status OUT` (done, running with host/pid/heartbeat, stale, missing per pair) and
// `sae-match merge OUT`. A plan's output folder holds one suite folder per suite; both commands take
// either.
import { readdir } from 'node:fs/promises';
import { isDir } from '../io/read.js';
import { join, resolve } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { assembleManifest, readManifest, readRecords } from './folder.js';
import { HEARTBEAT_MS, readHeartbeats } from './heartbeat.js';
import type { Manifest } from './contract.js';

/** A heartbeat older than this means its process is gone (killed, preempted, node lost). */
export const STALE_MS = 6 * HEARTBEAT_MS;

export type PairState = 'done' | 'running' | 'stale' | 'missing';

export interface PairStatus {
  from: number;
  to: number;
  state: PairState;
  host?: string;
  pid?: number;
  shard?: string;
  /** Seconds since the last heartbeat. */
  heartbeatAge?: number;
}

export interface FolderStatus {
  out: string;
  sourceRoot: string;
  pairs: PairStatus[];
  counts: Record<PairState, number>;
  /** manifest.json lists every done pair. */
  manifestComplete: boolean;
  complete: boolean;
}

/** The suite folders under `out`: itself when it holds a manifest, else its subfolders that do. */
export async function suiteFolders(out: string): Promise<string[]> {
  const root = resolve(out);
  if (!(await isDir(root))) throw new SaeMatchInputError(`${root}: no such output folder`);
  if (await readManifest(root)) return [root];
  const subs: string[] = [];
  for (const d of (await readdir(root, { withFileTypes: true })).filter((x) => x.isDirectory()).map((x) => x.name).sort())
    if (await readManifest(join(root, d))) subs.push(join(root, d));
  if (!subs.length) throw new SaeMatchInputError(`${root}: no manifest.json here or in its subfolders (not a sae-match output folder, or no shard has finished a pair yet)`);
  return subs;
}

async function manifestOf(out: string): Promise<Manifest> {
  const m = await readManifest(out);
  if (!m) throw new SaeMatchInputError(`${out}: no sae-match manifest.json`);
  return m;
}

/** Every adjacent pair of the manifest's layers, and what the folder says of it now. */
export async function folderStatus(out: string, now = Date.now()): Promise<FolderStatus> {
  const m = await manifestOf(out);
  const layers = [...m.layers].map((l) => l.layer).sort((a, b) => a - b);
  const done = new Set((await readRecords(out)).filter((r) => r.source_root === m.source_root).map((r) => `${r.pair.from}_${r.pair.to}`));
  const beats = new Map((await readHeartbeats(out)).map((h) => [`${h.from}_${h.to}`, h]));
  const pairs: PairStatus[] = [];
  for (let i = 0; i + 1 < layers.length; i++) {
    const [from, to] = [layers[i]!, layers[i + 1]!];
    const key = `${from}_${to}`;
    const h = beats.get(key);
    if (done.has(key)) pairs.push({ from, to, state: 'done' });
    else if (h) {
      const age = Math.max(0, (now - Date.parse(h.heartbeat)) / 1000);
      pairs.push({ from, to, state: age * 1000 > STALE_MS ? 'stale' : 'running', host: h.host, pid: h.pid, ...(h.shard ? { shard: h.shard } : {}), heartbeatAge: age });
    } else pairs.push({ from, to, state: 'missing' });
  }
  const counts: Record<PairState, number> = { done: 0, running: 0, stale: 0, missing: 0 };
  for (const p of pairs) counts[p.state]++;
  const listed = new Set(m.pairs.map((p) => `${p.from}_${p.to}`));
  const manifestComplete = [...done].every((k) => listed.has(k));
  return { out, sourceRoot: m.source_root, pairs, counts, manifestComplete, complete: counts.done === pairs.length };
}

/** Rewrites manifest.json of each suite folder from its records (the manifest's own header kept). */
export async function mergeFolder(out: string): Promise<Manifest> {
  const m = await manifestOf(out);
  const { pairs: _p, updated: _u, analysis: _a, ...header } = m;
  return assembleManifest(out, header);
}
