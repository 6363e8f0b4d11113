/**
 * Whether a path really lies inside a root folder: every component is resolved, so a path that goes
 * through a symlinked folder (`www/od -> /outside`) is judged by where it leads, not how it is spelt.
 * The one rule for what may leave the machine from a project folder (image layers, sync, Dockerfiles).
 */
import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

export type Inside =
  | { ok: true; /** The real location. */ real: string }
  /** `link` (relative to root, as written below it) is the symlink that leads out; `target` its real location. */
  | { ok: false; reason: 'link'; link: string; target: string }
  /** The path itself is spelt outside the root (absolute elsewhere, or `..`). */
  | { ok: false; reason: 'path' }
  /** A symlink on the way points to nothing. */
  | { ok: false; reason: 'broken'; link: string }
  | { ok: false; reason: 'missing' };

/** True when `child` is `parent` or below it (both absolute, already resolved). */
export function isWithin(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Resolves `path` (absolute, or relative to `root`) one component at a time below `root`.
 * `realRoot` may be passed when the caller already has it.
 */
export async function resolveInside(root: string, path: string, realRoot?: string): Promise<Inside> {
  const lexical = isAbsolute(path) ? path : join(root, path);
  const realBase = realRoot ?? (await realpath(root));
  // Spelt below the root as given, or below its real location (a context reached through a link).
  const base = isWithin(root, lexical) ? root : isWithin(realBase, lexical) ? realBase : undefined;
  if (base === undefined) return { ok: false, reason: 'path' };
  let current = base;
  for (const part of relative(base, lexical).split(sep).filter((p) => p !== '' && p !== '.')) {
    current = join(current, part);
    let stats;
    try {
      stats = await lstat(current);
    } catch {
      return { ok: false, reason: 'missing' };
    }
    if (!stats.isSymbolicLink()) continue;
    let target: string;
    try {
      target = await realpath(current);
    } catch {
      return { ok: false, reason: 'broken', link: relative(base, current) };
    }
    if (!isWithin(realBase, target)) return { ok: false, reason: 'link', link: relative(base, current), target };
  }
  const real = await realpath(lexical).catch(() => undefined);
  if (real === undefined) return { ok: false, reason: 'missing' };
  // Each link was inside, so this holds; checked again in case the tree changed meanwhile.
  if (!isWithin(realBase, real)) return { ok: false, reason: 'link', link: relative(base, lexical), target: real };
  return { ok: true, real };
}
