/**
 * What the watcher looks at: the folders to start from and which folders to enter. Besides the
 * contexts, manifests and config folder, the folders of files that define a build (a Dockerfile
 * outside its context, `.gitignore` files above it: `definitionFolders`) are watched, unrecursively. Folders that
 * cannot hold an input (`.git/`, `node_modules/`, `.devloop/`, ignored by `.gitignore` — the
 * context's own or one above it — or `.dockerignore`) are decided on their path alone, before
 * anything below them is read or stat'ed. Which folders those are is the inputs module's decision
 * (`createInputDirFilter`, the same one its walk makes), not this file's.
 */
import { dirname, posix, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { LoadedConfig } from '../config/types.js';
import { createInputDirFilter, definitionFolders } from '../inputs/index.js';
import { manifestInputFolders, manifestInputs } from '../inputs/manifests.js';
import { ALWAYS_IGNORED_DIRS } from '../inputs/rules.js';

export interface WatchScope {
  /** Absolute folders to watch recursively (none inside another). */
  roots: string[];
  /** Whether to enter (watch) a folder below a root. */
  includeDir(absDir: string): boolean;
}

export function watchScope(loaded: LoadedConfig): WatchScope {
  const interest: { dir: string; enter: (rel: string) => boolean }[] = [];
  for (const artifact of loaded.config.build.artifacts) {
    interest.push({ dir: artifact.context, enter: createInputDirFilter(artifact) });
    // The Dockerfile outside the context, `.gitignore` files above it: their folders, not below.
    for (const dir of definitionFolders(artifact)) interest.push({ dir, enter: () => false });
  }
  for (const glob of loaded.config.manifests) {
    const scan = picomatch.scan(glob.replace(/^\.\//, ''));
    const base = resolve(loaded.dir, scan.isGlob ? scan.base : dirname(scan.base));
    const depthLimited = scan.isGlob && !scan.glob.includes('**');
    const maxDepth = depthLimited ? scan.glob.split('/').length - 1 : Infinity;
    interest.push({ dir: base, enter: (rel) => rel.split('/').length <= maxDepth });
  }
  // Kustomization inputs: their folders (not below); chart folders: all of them.
  for (const { dir, recursive } of manifestInputFolders(manifestInputs(loaded))) interest.push({ dir, enter: () => recursive });
  interest.push({ dir: dirname(loaded.file), enter: () => false });

  const dirs = [...new Set(interest.map((i) => i.dir))];
  const roots = dirs.filter((d) => !dirs.some((other) => other !== d && isBelow(other, d))).sort();

  return {
    roots,
    includeDir(absDir) {
      if (ALWAYS_IGNORED_DIRS.has(posix.basename(absDir))) return false;
      // Enter a folder on the way to something of interest, or inside one that wants it.
      return interest.some(({ dir, enter }) => {
        if (dir === absDir || isBelow(absDir, dir)) return true;
        return isBelow(dir, absDir) && enter(posix.relative(dir, absDir));
      });
    },
  };
}

/** True when `path` is strictly below `dir`. */
export function isBelow(dir: string, path: string): boolean {
  return path.startsWith(dir.endsWith('/') ? dir : dir + '/');
}
