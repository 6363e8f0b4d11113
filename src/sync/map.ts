/**
 * Where a changed file lands in the container under an artifact's `sync` rules. Pure.
 * A rule `{src: "public/**", dest: /app/public}` maps `public/css/a.css` to `/app/public/css/a.css`:
 * the path below the glob's base is kept under `dest`. A literal `src` file lands in `dest` by name.
 */
import picomatch from 'picomatch';
import { posix } from 'node:path';
import type { SyncRule } from '../config/types.js';

export interface CompiledSyncRule {
  rule: SyncRule;
  /** Static folder part of the glob ("public" for "public/**"; "" for "**\/*.css"). */
  base: string;
  isGlob: boolean;
  match: (relPath: string) => boolean;
}

export type SyncMapping =
  | { kind: 'none' }
  /** Container paths the file goes to (one per matching rule). */
  | { kind: 'targets'; targets: SyncTarget[] }
  /** A rule matched but its destination is unusable (relative dest, escape): rebuild instead. */
  | { kind: 'refused'; reason: string };

export interface SyncTarget {
  dest: string;
  path: string;
  /** Set when the rule says the process must be restarted after the copy (live update). */
  restart?: true;
}

export function compileSyncRules(rules: SyncRule[]): CompiledSyncRule[] {
  return rules.map((rule) => {
    const src = cleanRel(rule.src);
    const scan = picomatch.scan(src);
    const base = scan.isGlob ? scan.base : src;
    const exact = picomatch(src, { dot: true });
    // A literal folder (no glob) syncs everything below it.
    const match = scan.isGlob ? exact : (rel: string) => rel === src || rel.startsWith(src + '/');
    return { rule, base, isGlob: scan.isGlob, match };
  });
}

/**
 * Maps one changed path (posix, relative to the context). `isDir` is for a deleted folder: it is
 * syncable when the rule would match files below it (then `rm -rf` of the mapped folder).
 */
export function mapSyncPath(rules: CompiledSyncRule[], relPath: string, isDir = false): SyncMapping {
  const targets: SyncTarget[] = [];
  for (const compiled of rules) {
    const probe = isDir ? `${relPath}/x` : relPath;
    if (!compiled.match(probe)) continue;
    const dest = compiled.rule.dest;
    if (!posix.isAbsolute(dest) || posix.normalize(stripSlash(dest)) !== stripSlash(dest) || dest.split('/').includes('..')) {
      return { kind: 'refused', reason: `sync dest "${dest}" must be an absolute, normalised container path` };
    }
    let below: string;
    if (!compiled.isGlob && relPath === compiled.base) below = posix.basename(relPath);
    else if (compiled.base === '') below = relPath;
    else if (relPath.startsWith(compiled.base + '/')) below = relPath.slice(compiled.base.length + 1);
    else return { kind: 'refused', reason: `"${relPath}" is not below the sync base "${compiled.base}"` };
    const target = posix.join(stripSlash(dest), below);
    if (!isInside(stripSlash(dest), target) || below.split('/').includes('..')) {
      return { kind: 'refused', reason: `"${relPath}" would land outside "${dest}"` };
    }
    targets.push({ dest: stripSlash(dest) || '/', path: target, ...(compiled.rule.restart ? { restart: true as const } : {}) });
  }
  return targets.length === 0 ? { kind: 'none' } : { kind: 'targets', targets };
}

/** True when `path` is strictly below `dir` (both absolute posix, normalised). */
export function isInside(dir: string, path: string): boolean {
  if (dir === '' || dir === '/') return path.startsWith('/') && path !== '/';
  return path.startsWith(dir + '/') && path.length > dir.length + 1;
}

function stripSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function cleanRel(pattern: string): string {
  return pattern.replace(/\\/g, '/').replace(/^\.\//, '').replace(/^\/+/, '');
}
