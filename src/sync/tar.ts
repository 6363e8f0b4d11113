/**
 * The archive a sync streams into `tar -x -C <dest> -f -`: the changed files with paths relative to
 * `dest`, their parent folders first. Headers come from the OCI builder's tar writer; the mtime is
 * now (not fixed as in image layers) so servers in the container see fresh Last-Modified values.
 */
import { readFile, lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { padding, tarHeader, tarTrailer } from '../build/oci/tar.js';

export interface TarFile {
  /** Absolute local path. */
  local: string;
  /** Path relative to the extraction folder, posix, no "..". */
  name: string;
}

/** Builds the whole archive in memory (sync batches are small: the changed files of one save). */
export async function syncArchive(files: TarFile[], mtime = Math.floor(Date.now() / 1000)): Promise<Buffer> {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const file of files) {
    if (file.name.split('/').includes('..') || posix.isAbsolute(file.name)) throw new Error(`refusing tar entry "${file.name}"`);
    const parents = file.name.split('/').slice(0, -1);
    for (let i = 1; i <= parents.length; i++) {
      const dir = parents.slice(0, i).join('/');
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      parts.push(tarHeader({ path: dir, type: 'directory', mode: 0o755, size: 0 }, mtime));
    }
    const stats = await lstat(file.local);
    if (stats.isSymbolicLink()) {
      parts.push(tarHeader({ path: file.name, type: 'symlink', mode: 0o777, size: 0, linkname: await readlink(file.local) }, mtime));
      continue;
    }
    const content = await readFile(file.local);
    const mode = stats.mode & 0o111 ? 0o755 : 0o644;
    parts.push(tarHeader({ path: file.name, type: 'file', mode, size: content.length }, mtime), content, padding(content.length));
  }
  parts.push(tarTrailer());
  return Buffer.concat(parts);
}
