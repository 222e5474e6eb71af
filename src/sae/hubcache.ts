// The Hugging Face Hub cache of one repository: models--{org}--{name}/ with refs/{branch} (a revision
// hash), snapshots/{revision}/… (the repository's files as symlinks) and blobs/{hash} (their bytes).
// Pointing sae-match at the repository's cache folder matches the snapshot refs/main names (or the
// --revision asked for); what the snapshot lacks is reported, since the Hub downloads file by file.
import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { basename, join, resolve, dirname } from 'node:path';
import { SaeMatchInputError } from '../errors.js';
import { isDir } from '../io/read.js';

export interface HubSnapshot {
  /** The cache folder of the repository (models--org--name). */
  repo: string;
  /** org/name, from the folder's name. */
  repoId: string;
  revision: string;
  /** How the revision was chosen: refs/main, --revision, or the only snapshot. */
  rule: string;
  /** The snapshot folder: what discovery lists. */
  root: string;
}

/** The snapshot to match when `root` is a Hub cache folder of a repository, else undefined. */
export async function hubSnapshot(root: string, revision?: string): Promise<HubSnapshot | undefined> {
  const name = basename(root);
  if (!/^(models|datasets|spaces)--/.test(name) || !(await isDir(join(root, 'snapshots')))) return undefined;
  const repoId = name.replace(/^(models|datasets|spaces)--/, '').split('--').join('/');
  const snapshots = (await readdir(join(root, 'snapshots'))).sort();
  const pick = async (rev: string, rule: string): Promise<HubSnapshot> => {
    if (!snapshots.includes(rev))
      throw new SaeMatchInputError(`${root}: no snapshot ${rev} (${rule}); the cache holds ${snapshots.join(', ') || 'no snapshots'}`);
    return { repo: root, repoId, revision: rev, rule, root: join(root, 'snapshots', rev) };
  };
  if (revision !== undefined) {
    // A branch or tag name resolves through refs/, a (possibly short) hash through snapshots/.
    const ref = await readFile(join(root, 'refs', revision), 'utf8').then((s) => s.trim(), () => undefined);
    if (ref) return pick(ref, `--revision ${revision} = refs/${revision}`);
    const byPrefix = snapshots.filter((s) => s.startsWith(revision));
    if (byPrefix.length === 1) return pick(byPrefix[0]!, `--revision ${revision}`);
    return pick(revision, `--revision ${revision}`);
  }
  const main = await readFile(join(root, 'refs', 'main'), 'utf8').then((s) => s.trim(), () => undefined);
  if (main) return pick(main, 'refs/main');
  if (snapshots.length === 1) return pick(snapshots[0]!, 'the only snapshot');
  throw new SaeMatchInputError(`${root}: no refs/main and ${snapshots.length} snapshots (${snapshots.join(', ')}); choose one with --revision`);
}

/** Links of the snapshot whose blob is missing (a download that did not finish, or a pruned cache). */
export async function danglingLinks(snapshot: string, limit = 1000): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (out.length >= limit) return;
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isSymbolicLink() && !(await stat(p).then(() => true, () => false))) out.push(p);
    }
  };
  await walk(snapshot);
  return out;
}

/**
 * The content key of a file in a Hub cache: the blob's name (sha256 of an LFS file's bytes, git's
 * sha1 of a small one), read from the symlink without reading the file; undefined for other files.
 */
export async function blobKey(file: string): Promise<string | undefined> {
  const l = await lstat(file).catch(() => undefined);
  if (!l?.isSymbolicLink()) return undefined;
  const target = resolve(dirname(file), await readlink(file));
  const name = basename(target);
  return basename(dirname(target)) === 'blobs' && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(name) ? name : undefined;
}
