/**
 * Expands one `oci.layers[]` entry into the files it puts in the image: walks the context, applies
 * the glob, refuses anything that escapes the context, and adds parent directories.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { isAbsolute, join, posix, relative, sep } from 'node:path';
import picomatch from 'picomatch';
import { ConfigError, DevloopError } from '../../errors.js';
import type { OciLayerConfig } from '../../config/types.js';
import { isWithin, resolveInside } from '../../util/inside.js';

export interface LayerFile {
  /** Path in the image, without a leading "/". */
  imagePath: string;
  type: 'file' | 'directory';
  mode: number;
  size: number;
  /** Absolute path of the content on disk (files only; symlinks already followed). */
  source?: string;
  /** Modification time in ns and inode: with size, what the layer cache trusts as "unchanged". */
  mtimeNs?: string;
  ino?: string;
}

/** Folders never copied from a directory or glob source: VCS data and devloop's own caches. */
const SKIPPED_DIRECTORIES = new Set(['.git', '.devloop']);

/** All entries of the layer, parents included, sorted by image path (byte order). */
export async function collectLayerFiles(context: string, layer: OciLayerConfig): Promise<LayerFile[]> {
  const realContext = await realpath(context);
  const target = normaliseTarget(layer.to, layer.from);
  const files = new Map<string, LayerFile>();
  const add = (imagePath: string, source: string, stats: BigIntStats): void => {
    const execBit = (stats.mode & 0o111n) !== 0n;
    files.set(imagePath, {
      imagePath,
      type: 'file',
      mode: layer.mode ?? (execBit ? 0o755 : 0o644),
      size: Number(stats.size),
      source,
      mtimeNs: String(stats.mtimeNs),
      ino: String(stats.ino),
    });
  };

  const scan = picomatch.scan(layer.from);
  if (scan.isGlob) {
    const base = scan.base === '' ? '.' : scan.base;
    const baseDir = await insideContext(context, realContext, base, layer.from, true);
    const matches = picomatch(layer.from.replace(/^\.\//, ''), { dot: true });
    const baseExists = baseDir !== undefined && (await stat(baseDir).then((s) => s.isDirectory(), () => false));
    if (baseExists) await walk(context, realContext, baseDir, new Set(), async (abs, rel, stats) => {
      const fromContext = toPosix(relative(context, abs));
      if (!matches(fromContext)) return stats.isDirectory() ? 'descend' : 'skip';
      if (stats.isDirectory()) {
        // A matched directory brings its whole subtree.
        await walk(context, realContext, abs, new Set(), async (childAbs, childRel, childStats) => {
          if (childStats.isFile()) add(posix.join(target, rel, childRel), childAbs, childStats);
          return 'descend';
        });
        return 'skip';
      }
      add(posix.join(target, rel), abs, stats);
      return 'skip';
    });
    if (files.size === 0) {
      throw new ConfigError('OCI_LAYER_EMPTY', `oci layer "${layer.from}" matches no files in ${context}`, {
        hint: 'check the glob (it is relative to the artifact context) and that the compile step produced the files',
      });
    }
  } else {
    const abs = (await insideContext(context, realContext, layer.from, layer.from, false))!;
    const stats = await followInside(realContext, abs, layer.from);
    if (stats.isDirectory()) {
      await walk(context, realContext, abs, new Set(), async (childAbs, rel, childStats) => {
        if (childStats.isFile()) add(posix.join(target, rel), childAbs, childStats);
        return 'descend';
      });
    } else {
      const imagePath = layer.to.endsWith('/') ? posix.join(target, posix.basename(toPosix(layer.from))) : target;
      if (imagePath === '') throw badTarget(layer);
      add(imagePath, abs, stats);
    }
  }
  return withParents([...files.values()]);
}

/** Adds every parent directory (0755) and sorts by image path so the tar is reproducible. */
function withParents(files: LayerFile[]): LayerFile[] {
  const all = new Map(files.map((f) => [f.imagePath, f]));
  for (const file of files) {
    for (let dir = posix.dirname(file.imagePath); dir !== '.' && dir !== '/' && dir !== ''; dir = posix.dirname(dir)) {
      if (!all.has(dir)) all.set(dir, { imagePath: dir, type: 'directory', mode: 0o755, size: 0 });
    }
  }
  return [...all.values()].sort((a, b) => Buffer.compare(Buffer.from(a.imagePath), Buffer.from(b.imagePath)));
}

type Visit = (abs: string, rel: string, stats: BigIntStats) => Promise<'descend' | 'skip'>;

/** Depth-first walk in sorted order, following symlinks that stay inside the context. */
async function walk(context: string, realContext: string, dir: string, seen: Set<string>, visit: Visit, relBase = ''): Promise<void> {
  const real = await realpath(dir);
  if (seen.has(real)) return; // a symlink loop
  const nextSeen = new Set(seen).add(real);
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    if (SKIPPED_DIRECTORIES.has(name)) continue;
    const abs = join(dir, name);
    const rel = relBase === '' ? name : `${relBase}/${name}`;
    const stats = await followInside(realContext, abs, toPosix(relative(context, abs)));
    if (!stats.isFile() && !stats.isDirectory()) continue; // sockets, fifos, devices: not image content
    const next = await visit(abs, rel, stats);
    if (next === 'descend' && stats.isDirectory()) await walk(context, realContext, abs, nextSeen, visit, rel);
  }
}

/** stat() that refuses symlinks whose target lies outside the context. */
async function followInside(realContext: string, abs: string, shown: string): Promise<BigIntStats> {
  let link: BigIntStats;
  try {
    link = await lstat(abs, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError('OCI_LAYER_MISSING', `oci layer source "${shown}" does not exist`, {
        hint: 'paths are relative to the artifact context; did the compile step run?',
      });
    }
    throw error;
  }
  if (!link.isSymbolicLink()) return link;
  let target: string;
  try {
    target = await realpath(abs);
  } catch {
    throw new DevloopError('OCI_SYMLINK_BROKEN', `symlink "${shown}" in the build context points to nothing`, {
      hint: 'remove the link or exclude it from the layer',
    });
  }
  if (!isWithin(realContext, target)) {
    throw new DevloopError('OCI_SYMLINK_OUTSIDE_CONTEXT', `symlink "${shown}" points outside the build context (to ${target})`, {
      hint: 'copy the file into the context, or make the link point inside it',
    });
  }
  return stat(abs, { bigint: true });
}

/**
 * The absolute path of `path` after checking that every component really stays in the context: a
 * path through a symlinked folder that leads out is refused even though its last part is no link.
 * Returns undefined for a missing glob base (the glob then matches nothing).
 */
async function insideContext(context: string, realContext: string, path: string, shown: string, glob: boolean): Promise<string | undefined> {
  const abs = join(context, path);
  const inside = isAbsolute(path) ? ({ ok: false, reason: 'path' } as const) : await resolveInside(context, path, realContext);
  if (inside.ok) return abs;
  switch (inside.reason) {
    case 'path':
      throw new ConfigError('OCI_LAYER_OUTSIDE_CONTEXT', `oci layer source "${shown}" is outside the build context ${context}`, {
        hint: 'layer sources are relative paths or globs inside the artifact context (no "../" or absolute paths)',
      });
    case 'link': {
      const link = toPosix(inside.link);
      const via = link === posix.normalize(toPosix(shown)) ? 'is a symlink that' : `goes through the symlink "${link}", which`;
      throw new DevloopError('OCI_SYMLINK_OUTSIDE_CONTEXT', `oci layer source "${shown}" ${via} points outside the build context (to ${inside.target})`, {
        hint: 'copy the files into the context, or make the link point inside it',
      });
    }
    case 'broken':
      throw new DevloopError('OCI_SYMLINK_BROKEN', `oci layer source "${shown}" goes through the symlink "${toPosix(inside.link)}", which points to nothing`, {
        hint: 'fix or remove the link',
      });
    case 'missing':
      if (glob) return undefined;
      // followInside reports it with the usual "does not exist" message.
      return abs;
  }
}

function normaliseTarget(to: string, from: string): string {
  if (!to.startsWith('/')) {
    throw new ConfigError('OCI_LAYER_TARGET', `oci layer "${from}": "to" must be an absolute path in the image (got "${to}")`, {
      hint: 'e.g. to: /app',
    });
  }
  return posix.normalize(to).replace(/^\/+/, '').replace(/\/+$/, '');
}

function badTarget(layer: OciLayerConfig): ConfigError {
  return new ConfigError('OCI_LAYER_TARGET', `oci layer "${layer.from}" is a file but "to" is the image root`, {
    hint: 'give the file a path, e.g. to: /app/server',
  });
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}
