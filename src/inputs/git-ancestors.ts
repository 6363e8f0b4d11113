/**
 * `.gitignore` files in the folders above an artifact's context. Git applies every `.gitignore`
 * from the work-tree root down to a file, so a root `.gitignore` listing `bin/` (at any depth)
 * ignores the compiled `bin/` of a context two levels down.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { readTextSync } from '../util/fs.js';
import { gitIgnores, parseGitIgnore, type GitIgnoreFile } from './rules.js';

/** The nearest folder at or above `dir` holding `.git` (a folder, or a file in worktrees and submodules). */
export function gitWorkTreeRoot(dir: string): string | undefined {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(join(current, '.git'))) return current;
    if (dirname(current) === current) return undefined;
  }
}

/**
 * The folders from the git work-tree root down to the context's parent, outermost first: where
 * `.gitignore` files that apply to the context live. None outside a work tree or at its root.
 */
export function ancestorFolders(context: string): string[] {
  const root = gitWorkTreeRoot(context);
  if (root === undefined || root === context) return [];
  const parts = relative(root, context).split(sep);
  return parts.map((_, i) => join(root, ...parts.slice(0, i)));
}

/**
 * The `.gitignore` files from the work-tree root down to the context's parent, outermost first,
 * ready for `gitIgnores` with context-relative paths. None outside a git work tree: git ignores
 * nothing there, and copies of a project must not pick up rules from wherever they were put.
 * A few fs calls per ancestor folder; call once per listing, not per file.
 */
export function ancestorGitIgnores(context: string): GitIgnoreFile[] {
  const folders = ancestorFolders(context);
  if (folders.length === 0) return [];
  const parts = relative(folders[0]!, context).split(sep);
  const files: GitIgnoreFile[] = []; // bases relative to the root while checking the context itself
  for (let i = 0; i < parts.length; i++) {
    const text = readTextSync(join(folders[i]!, '.gitignore'));
    if (text) files.push(parseGitIgnore(parts.slice(0, i).join('/'), text));
    // Git would ignore the whole context: applying these rules would leave the artifact without
    // inputs (never rebuilt), so only the context's own .gitignore files count.
    if (gitIgnores(files, parts.slice(0, i + 1).join('/'), true)) return [];
  }
  const contextPath = parts.join('/');
  return files.map((file) => ({
    base: '',
    matcher: file.matcher,
    prefix: file.base === '' ? contextPath : contextPath.slice(file.base.length + 1),
  }));
}
