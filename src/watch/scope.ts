/**
 * What the watcher looks at: the folders to start from and which folders to enter. Folders that
 * cannot hold an input (`.git/`, `node_modules/`, `.devloop/`, ignored by `.gitignore` or
 * `.dockerignore`) are decided on their path alone, before anything below them is read or stat'ed.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { ArtifactConfig, LoadedConfig } from '../config/types.js';
import {
  ALWAYS_IGNORED_DIRS,
  DockerIgnore,
  gitIgnores,
  layerSourceMatcher,
  parseGitIgnore,
  type GitIgnoreFile,
} from '../inputs/rules.js';

export interface WatchScope {
  /** Absolute folders to watch recursively (none inside another). */
  roots: string[];
  /** Whether to enter (watch) a folder below a root. */
  includeDir(absDir: string): boolean;
}

export function watchScope(loaded: LoadedConfig): WatchScope {
  const interest: { dir: string; enter: (rel: string) => boolean }[] = [];
  for (const artifact of loaded.config.build.artifacts) interest.push({ dir: artifact.context, enter: artifactDirFilter(artifact) });
  for (const glob of loaded.config.manifests) {
    const scan = picomatch.scan(glob.replace(/^\.\//, ''));
    const base = resolve(loaded.dir, scan.isGlob ? scan.base : dirname(scan.base));
    const depthLimited = scan.isGlob && !scan.glob.includes('**');
    const maxDepth = depthLimited ? scan.glob.split('/').length - 1 : Infinity;
    interest.push({ dir: base, enter: (rel) => rel.split('/').length <= maxDepth });
  }
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

/**
 * Mirrors the inputs walk: a folder is entered when it can hold a compile or image input. Nested
 * `.gitignore` files are read once each, when their folder is first asked about.
 */
export function artifactDirFilter(artifact: ArtifactConfig): (relDir: string) => boolean {
  const root = artifact.context;
  const useGit = Boolean(artifact.compile);
  const docker = artifact.docker ? new DockerIgnore(readText(join(root, '.dockerignore'))) : undefined;
  const layers = artifact.oci ? layerSourceMatcher(artifact.oci.layers.map((l) => l.from)) : undefined;
  const gitFiles = new Map<string, GitIgnoreFile | null>();
  const gitFile = (relDir: string): GitIgnoreFile | null => {
    let file = gitFiles.get(relDir);
    if (file === undefined) {
      const text = readText(join(root, relDir, '.gitignore'));
      file = text ? parseGitIgnore(relDir, text) : null;
      gitFiles.set(relDir, file);
    }
    return file;
  };
  return (relDir) => {
    const parts = relDir.split('/');
    if (parts.some((p) => ALWAYS_IGNORED_DIRS.has(p))) return false;
    if (useGit) {
      const files: GitIgnoreFile[] = [];
      for (let i = 0; i < parts.length; i++) {
        const file = gitFile(parts.slice(0, i).join('/'));
        if (file) files.push(file);
        if (gitIgnores(files, parts.slice(0, i + 1).join('/'), true)) return false;
      }
      return true; // compile inputs may be anywhere that git sees
    }
    if (docker) return !(docker.ignores(relDir) && !docker.hasExclusions);
    return Boolean(layers?.mayContain(relDir));
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
