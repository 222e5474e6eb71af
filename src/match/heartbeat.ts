// A pair being computed leaves running/{l}_{m}.json in the output folder (host, pid, shard, when it
// started, its last heartbeat), refreshed while it runs and removed when it ends, so `sae-match
// status` can tell a running pair from one whose process died (a stale heartbeat) on a cluster.
import { hostname } from 'node:os';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, writeJson } from '../io/write.js';
import { RUNNING_DIR } from './contract.js';

/** How often a running pair's file is refreshed. */
export const HEARTBEAT_MS = 10_000;

export interface Heartbeat {
  from: number;
  to: number;
  host: string;
  pid: number;
  shard?: string;
  started: string;
  heartbeat: string;
}

const fileOf = (out: string, from: number, to: number) => join(out, RUNNING_DIR, `${from}_${to}.json`);

/** Starts the heartbeat of pair from → to; the returned function stops it and removes the file. */
export async function startHeartbeat(out: string, from: number, to: number, shard?: string): Promise<() => Promise<void>> {
  await ensureDir(join(out, RUNNING_DIR), 'running-pairs folder');
  const started = new Date().toISOString();
  const beat = () => writeJson(fileOf(out, from, to), {
    from, to, host: hostname(), pid: process.pid, ...(shard ? { shard } : {}), started, heartbeat: new Date().toISOString(),
  } satisfies Heartbeat).catch(() => undefined); // a missed beat only makes the pair look stale
  await beat();
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await rm(fileOf(out, from, to), { force: true }).catch(() => undefined);
  };
}

/** The heartbeats in `out` (unreadable or torn files are skipped). */
export async function readHeartbeats(out: string): Promise<Heartbeat[]> {
  const names = await readdir(join(out, RUNNING_DIR)).catch(() => [] as string[]);
  const beats: Heartbeat[] = [];
  for (const n of names.filter((x) => /^-?\d+_-?\d+\.json$/.test(x))) {
    const text = await readFile(join(out, RUNNING_DIR, n), 'utf8').catch(() => undefined);
    try {
      const h = text === undefined ? undefined : (JSON.parse(text) as Heartbeat);
      if (h && Number.isInteger(h.from) && typeof h.heartbeat === 'string') beats.push(h);
    } catch {
      // torn: counts as no heartbeat
    }
  }
  return beats;
}
