/**
 * Ignore rules for an artifact's inputs: `.dockerignore` (Docker's root-anchored patterns, where a
 * pattern also excludes everything below a matching folder) and `.gitignore` (git's rules, nested
 * files included). Pure matching; reading the files is done by the caller.
 */
import picomatch from 'picomatch';
import ignore, { type Ignore } from 'ignore';

/** Folders that are never inputs, at any depth. */
export const ALWAYS_IGNORED_DIRS = new Set(['.git', 'node_modules', '.devloop']);

export function isAlwaysIgnored(relPath: string): boolean {
  return relPath.split('/').some((part) => ALWAYS_IGNORED_DIRS.has(part));
}

interface DockerPattern {
  match: (path: string) => boolean;
  exclusion: boolean;
}

/** Docker's `.dockerignore` semantics (moby/patternmatcher): last matching pattern wins; `!` re-includes. */
export class DockerIgnore {
  private readonly patterns: DockerPattern[];
  /** With `!` patterns an excluded folder may hold re-included files, so it must still be walked. */
  readonly hasExclusions: boolean;

  constructor(text: string) {
    this.patterns = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const exclusion = line.startsWith('!');
      if (exclusion) line = line.slice(1).trim();
      line = cleanPattern(line);
      if (line === '') continue;
      this.patterns.push({ match: picomatch(line, { dot: true }), exclusion });
    }
    this.hasExclusions = this.patterns.some((p) => p.exclusion);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** True when `relPath` (posix, relative to the context) is left out of the build context. */
  ignores(relPath: string): boolean {
    let ignored = false;
    const parents = relPath.split('/');
    for (const pattern of this.patterns) {
      let matched = pattern.match(relPath);
      // A pattern naming a folder excludes everything below it.
      for (let i = 1; !matched && i < parents.length; i++) matched = pattern.match(parents.slice(0, i).join('/'));
      if (matched) ignored = !pattern.exclusion;
    }
    return ignored;
  }
}

/** Like Go's filepath.Clean on a pattern, without a leading slash (patterns are root-anchored). */
function cleanPattern(pattern: string): string {
  const parts: string[] = [];
  for (const part of pattern.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

/** One `.gitignore` file and the folder (relative to the context, '' for the root) it applies to. */
export interface GitIgnoreFile {
  base: string;
  matcher: Ignore;
  /**
   * For a file in a folder above the context: the context's path relative to that folder, put in
   * front of every path tested, so the file's patterns apply relative to its own folder.
   */
  prefix?: string;
}

export function parseGitIgnore(base: string, text: string): GitIgnoreFile {
  return { base, matcher: ignore().add(text) };
}

/**
 * Git's rule for a path given the `.gitignore` files of its ancestor folders (outermost first).
 * `isDir` matters for patterns ending in `/`. Callers stop descending into ignored folders, which is
 * also git's rule (a file below an ignored folder cannot be re-included).
 */
export function gitIgnores(files: GitIgnoreFile[], relPath: string, isDir: boolean): boolean {
  let ignored = false;
  for (const file of files) {
    let local = file.base === '' ? relPath : relPath.startsWith(file.base + '/') ? relPath.slice(file.base.length + 1) : undefined;
    if (local === undefined || local === '') continue;
    if (file.prefix) local = `${file.prefix}/${local}`;
    const result = file.matcher.test(isDir ? local + '/' : local);
    if (result.ignored) {
      if (!parentIgnoredBy(file.matcher, local)) ignored = true;
    } else if (result.unignored) ignored = false;
  }
  return ignored;
}

/**
 * `ignore` also calls a path ignored when the same file ignores its parent folder. Callers only ask
 * about paths below folders that are not ignored overall, so a deeper file re-included that folder
 * (a root `bin/`, a nested `!bin/`); git then matches only the path itself, and this verdict is not about it.
 */
function parentIgnoredBy(matcher: Ignore, local: string): boolean {
  const slash = local.lastIndexOf('/');
  return slash > 0 && matcher.test(local.slice(0, slash + 1)).ignored;
}

/** Glob set for compile inputs / OCI layer sources; an empty list matches everything. */
export function globMatcher(globs: string[]): (relPath: string) => boolean {
  if (globs.length === 0) return () => true;
  const matchers = globs.map((g) => picomatch(cleanPattern(g), { dot: true }));
  return (relPath) => matchers.some((m) => m(relPath));
}

/**
 * OCI layer sources: a `from` is a file, a folder (everything below it) or a glob. Returns a
 * matcher for files and a test for whether a folder may hold matches (so other trees are not walked).
 */
export function layerSourceMatcher(froms: string[]): { file: (relPath: string) => boolean; mayContain: (dir: string) => boolean } {
  const cleaned = froms.map(cleanPattern);
  const matchers = cleaned.map((f) => picomatch(f, { dot: true }));
  const bases = cleaned.map((f) => picomatch.scan(f).base);
  return {
    file: (relPath) =>
      cleaned.some((from, i) => from === '' || matchers[i]!(relPath) || relPath.startsWith(from + '/')),
    mayContain: (dir) => bases.some((base) => base === '' || base === dir || base.startsWith(dir + '/') || dir.startsWith(base + '/')),
  };
}
