// Large buffers: allocated by the native side (huge-page advised, so a 300 MB tensor does not pay 75k
// page faults) and recycled between the layers of a suite run.
import { SaeMatchInternalError } from '../errors.js';
import { loadAddon } from '../binding/addon.js';

/** Arrays at least this large come from the native huge-page allocator. */
const LARGE = 4 << 20;
/** The largest external (native, huge-page) buffer Node 20 accepts: 4 GiB. */
const MAX_EXTERNAL = 2 ** 32;

/** Buffers from the native allocator, the only ones that may be recycled. */
const large = new WeakSet<ArrayBuffer>();
/**
 * Large buffers handed back by recycleBuffer. Memory first touched can cost more than reading a file
 * from the page cache on a VM (BENCHMARKS.md, "cold memory"), so a suite run reads each layer into
 * the pages the previous layer's raw tensors just left.
 */
const pool: ArrayBuffer[] = [];
let pooledBytes = 0;
const POOL_MAX_BYTES = 4 * 2 ** 30;

/** A zero-filled ArrayBuffer of `bytes` bytes; large ones are backed by huge-page-advised memory. */
export function allocBuffer(bytes: number, source = 'sae-match'): ArrayBuffer {
  try {
    // Node 20 cannot wrap more than 4 GiB of external memory in an ArrayBuffer (the native
    // allocation refuses it): larger buffers (a 65k-feature cost matrix is 16 GiB) come from V8.
    if (bytes < LARGE || bytes > MAX_EXTERNAL) return new ArrayBuffer(bytes);
    const b = loadAddon().addon.allocLarge({ bytes });
    large.add(b);
    return b;
  } catch (e) {
    throw new SaeMatchInternalError(`${source}: cannot allocate ${bytes} bytes`, { cause: e });
  }
}

/** A buffer whose contents the caller overwrites entirely (a read target): a recycled one when possible. */
export function takeBuffer(bytes: number, source?: string): ArrayBuffer {
  const k = pool.findIndex((b) => b.byteLength === bytes);
  if (k < 0) return allocBuffer(bytes, source);
  pooledBytes -= bytes;
  return pool.splice(k, 1)[0]!;
}

/**
 * Hands a buffer from allocBuffer back for reuse. Only for buffers nothing references any more:
 * the next takeBuffer of the same size gets this memory with its old contents.
 */
export function recycleBuffer(buffer: ArrayBuffer): void {
  if (!large.has(buffer) || pool.includes(buffer) || pooledBytes + buffer.byteLength > POOL_MAX_BYTES) return;
  pool.push(buffer);
  pooledBytes += buffer.byteLength;
}

/**
 * Gives pooled buffers back to the system until at most maxBytes stay pooled: a suite keeps one
 * layer's worth for its next read, and none once no layer is left to read (an idle pool of a 65k
 * suite held 1.2 GiB through every pair).
 */
export function trimPool(maxBytes: number): void {
  while (pooledBytes > maxBytes && pool.length) {
    const b = pool.pop()!;
    pooledBytes -= b.byteLength;
    large.delete(b);
    loadAddon().addon.releaseLarge({ buffer: b });
  }
}

/**
 * Gives a buffer from allocBuffer back to the system now (its views become empty), for buffers nothing
 * will read again: a pair's raw SAE tensors once its feature vectors exist (2.4 GiB at 65k × 2304),
 * which the garbage collector, unaware of native memory, might keep for the rest of the run.
 */
export function releaseBuffer(buffer: ArrayBuffer): void {
  if (!large.has(buffer) || pool.includes(buffer)) return;
  large.delete(buffer);
  loadAddon().addon.releaseLarge({ buffer });
}

export function allocFloat32(n: number, source?: string): Float32Array {
  return new Float32Array(allocBuffer(n * 4, source));
}
