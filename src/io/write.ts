// Writing files so that nothing is ever half-written, and the one mapping of filesystem errors to
// messages (fsReason, fsError), used by readers and writers alike. Every output of sae-match (npy, npz, safetensors, JSON, HTML) goes through writeAtomic: a
// temporary file in the same folder, filled, closed and renamed over the real name, so a run killed
// at any point leaves either the old file or the new one, never a torn one.
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SaeMatchInputError, SaeMatchInternalError } from '../errors.js';

/** Errors that come from the paths the caller gave us (bad input) rather than from the system. */
const INPUT_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EROFS', 'EEXIST', 'ENAMETOOLONG', 'ELOOP']);

/**
 * A filesystem error in words, the same words everywhere: "no such file", "no such folder",
 * "permission denied". `noun` is what the path should have been.
 */
export function fsReason(e: unknown, noun = 'file or directory'): string {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: `no such ${noun}`,
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ENOTDIR: noun === 'folder' ? 'not a folder' : 'a path component is not a directory',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EDQUOT: 'disk quota exceeded',
    EEXIST: 'file already exists',
  };
  if (err && typeof err.code === 'string') return reasons[err.code] ?? err.message;
  return err instanceof Error ? err.message : String(e);
}

/**
 * `path: cannot <action>: <reason> (<code>)` as this package's error: an input error when the path
 * the user gave is the problem (missing, a folder, no permission), an internal one otherwise. Errors
 * that are already ours pass through unchanged.
 */
export function fsError(e: unknown, path: string, action: string): Error {
  if (e instanceof SaeMatchInputError || e instanceof SaeMatchInternalError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const known = typeof code === 'string';
  const full = code === 'ENOSPC' || code === 'EDQUOT' ? '; free some space and rerun the same command: finished files are kept and a suite resumes' : '';
  const message = `${path}: cannot ${action}: ${fsReason(e)}${known && !fsReason(e).includes(code) ? ` (${code})` : ''}${full}`;
  return known && INPUT_CODES.has(code)
    ? new SaeMatchInputError(message, { cause: e })
    : new SaeMatchInternalError(message, { cause: e });
}

/**
 * Writes a file atomically: `write` fills a temporary file in the same folder through the handle it
 * is given, which is then closed and renamed over `path`. On failure the temporary file is removed.
 * `durable` (default true) also fsyncs before the rename, for files a rerun trusts (the manifest);
 * large arrays skip it: a rename is already atomic for every process, fsync only adds power loss.
 */
export async function writeAtomic(path: string, write: (fh: FileHandle) => Promise<void>, opts: { durable?: boolean } = {}): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fh: FileHandle | undefined;
  let step = `create temporary file ${tmp}`;
  try {
    fh = await open(tmp, 'wx');
    step = 'write';
    await write(fh);
    if (opts.durable ?? true) await fh.sync();
    await fh.close();
    fh = undefined;
    step = `move ${tmp} into place`;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw fsError(e, path, step);
  }
}

/** Writes every byte of `data` through `fh` (in chunks of at most 1 GiB: one write() call caps at 2 GiB). */
export async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  const CHUNK = 1 << 30;
  for (let done = 0; done < data.length; ) {
    const len = Math.min(CHUNK, data.length - done);
    const { bytesWritten } = await fh.write(data, done, len);
    if (bytesWritten <= 0) throw new Error('write returned 0 bytes');
    done += bytesWritten;
  }
}

/** Writes `bytes` (or a string, as UTF-8) to `path` atomically. */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  await writeAtomic(path, (fh) => writeAll(fh, data));
}

/** Writes `value` as indented JSON (with a final newline) to `path` atomically: the one JSON writer of sae-match. */
export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * `mkdir -p` of a folder sae-match writes into, with a clear input error when it cannot be made.
 * One component at a time from the nearest existing ancestor: Node's recursive mkdir never returns
 * under /proc (`--out /proc/x` spun at 100 % CPU), a plain mkdir there fails at once.
 */
export async function ensureDir(dir: string, what = 'output folder'): Promise<void> {
  const missing: string[] = [];
  try {
    for (let d = resolve(dir); ; d = dirname(d)) {
      const st = await stat(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (st) {
        if (!st.isDirectory()) throw Object.assign(new Error(`${d} is not a folder`), { code: 'ENOTDIR' });
        break;
      }
      missing.push(d);
      if (dirname(d) === d) break;
    }
    for (const d of missing.reverse())
      await mkdir(d).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
  } catch (e) {
    throw fsError(e, dir, `create ${what}`);
  }
}
