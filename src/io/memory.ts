// Memory is checked before it is spent: a buffer that cannot fit is refused up front, with the
// sizes and the way out, instead of failing to allocate (or meeting the kernel's OOM killer) after
// minutes of work. What the process can get is the least of the kernel's MemAvailable and what its
// cgroup (v2 memory.max, v1 memory.limit_in_bytes) leaves above current usage.
import { readFileSync } from 'node:fs';
import { SaeMatchInputError } from '../errors.js';

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Bytes this process can still allocate, and where that figure comes from; undefined off Linux. */
export function availableMemory(): { bytes: number; source: string } | undefined {
  const m = /MemAvailable:\s+(\d+) kB/.exec(read('/proc/meminfo') ?? '');
  let best = m ? { bytes: Number(m[1]) * 1024, source: 'MemAvailable' } : undefined;
  const consider = (limit: string | undefined, usage: string | undefined, source: string) => {
    const l = Number(limit), u = Number(usage ?? 0);
    if (!limit || !Number.isFinite(l) || l <= 0 || l >= 2 ** 60 || !Number.isFinite(u)) return;
    const free = Math.max(0, l - u);
    if (!best || free < best.bytes) best = { bytes: free, source };
  };
  const v2 = /^0::(.*)$/m.exec(read('/proc/self/cgroup') ?? '')?.[1];
  if (v2 !== undefined) {
    const dir = `/sys/fs/cgroup${v2 === '/' ? '' : v2}`;
    consider(read(`${dir}/memory.max`), read(`${dir}/memory.current`), 'cgroup memory.max');
  }
  consider(read('/sys/fs/cgroup/memory/memory.limit_in_bytes'), read('/sys/fs/cgroup/memory/memory.usage_in_bytes'), 'cgroup memory.limit_in_bytes');
  return best;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(b < 2 ** 30 ? 3 : 1)} GiB`;

/**
 * Throws an input error (exit 2) when `bytes` more cannot fit: `what` names the buffer and its
 * shape, `wayOut` what the user can do instead.
 */
export function ensureMemory(bytes: number, what: string, wayOut: string): void {
  const avail = availableMemory();
  if (avail && bytes > avail.bytes)
    throw new SaeMatchInputError(`${what} needs ${gib(bytes)}, but only ${gib(avail.bytes)} can be allocated (${avail.source}); ${wayOut}`);
}
