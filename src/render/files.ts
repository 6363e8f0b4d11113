/** Finding manifest files: the config's globs, relative to its folder, in a stable order. */
import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import picomatch from 'picomatch';

const SKIPPED_DIRS = new Set(['.git', 'node_modules', '.devloop']);

/** Files matching each glob (deduplicated, sorted within a glob, globs in config order), as paths relative to `dir`. */
export async function findManifestFiles(dir: string, globs: readonly string[]): Promise<{ files: string[]; unmatched: string[] }> {
  const files: string[] = [];
  const seen = new Set<string>();
  const unmatched: string[] = [];
  for (const glob of globs) {
    const scan = picomatch.scan(glob);
    const matches: string[] = [];
    if (!scan.isGlob) {
      if (existsSync(resolve(dir, glob))) matches.push(toPosix(relative(dir, resolve(dir, glob))));
    } else {
      const isMatch = picomatch(toPosix(relative(dir, resolve(dir, glob))), { dot: false });
      const base = resolve(dir, scan.base || '.');
      for (const file of await walk(base)) {
        const rel = toPosix(relative(dir, file));
        if (isMatch(rel)) matches.push(rel);
      }
    }
    matches.sort();
    if (matches.length === 0) unmatched.push(glob);
    for (const match of matches) {
      if (seen.has(match)) continue;
      seen.add(match);
      files.push(match);
    }
  }
  return { files, unmatched };
}

async function walk(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) files.push(...(await walk(path)));
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      files.push(path);
    }
  }
  return files;
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}
