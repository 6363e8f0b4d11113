/**
 * Finds an artifact's input files in one walk of its context, classifying each as a compile input
 * and/or an image input. Ignored trees are never entered (no stat below them). `.gitignore` files
 * above the context (up to the git work-tree root) are read once, before the walk.
 */
import { lstatSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { isAbsolute, join, resolve, relative, sep } from 'node:path';
import type { ArtifactConfig } from '../config/types.js';
import {
  DockerIgnore,
  gitIgnores,
  globMatcher,
  isAlwaysIgnored,
  layerSourceMatcher,
  parseGitIgnore,
  type GitIgnoreFile,
} from './rules.js';
import { ancestorGitIgnores } from './git-ancestors.js';

export interface InputFile {
  /** Posix path relative to the artifact context. */
  path: string;
  mode: number;
  size: number;
  mtimeMs: number;
}

export interface InputKinds {
  /** Read by the compile step (matches compile.inputs, not .gitignored). */
  compile: boolean;
  /** Copied by the image build (Docker context after .dockerignore, or an OCI layer source). */
  image: boolean;
}

export interface ClassifiedInput extends InputFile, InputKinds {}

/** The parts of an artifact's config that decide which files are inputs. */
interface Selection {
  compileGlob?: (relPath: string) => boolean;
  /** Compile outputs land in the context and are .gitignored: with a compile step, ignored files are not inputs. */
  useGitIgnore: boolean;
  docker?: DockerIgnore;
  layers?: ReturnType<typeof layerSourceMatcher>;
}

function selection(artifact: ArtifactConfig, dockerignoreText: string): Selection {
  return {
    compileGlob: artifact.compile ? globMatcher(artifact.compile.inputs) : undefined,
    useGitIgnore: Boolean(artifact.compile),
    docker: artifact.oci ? undefined : new DockerIgnore(dockerignoreText),
    layers: artifact.oci ? layerSourceMatcher(artifact.oci.layers.map((l) => l.from)) : undefined,
  };
}

function classify(sel: Selection, relPath: string, gitIgnored: boolean): InputKinds {
  const visible = !(sel.useGitIgnore && gitIgnored);
  const compile = Boolean(sel.compileGlob) && visible && sel.compileGlob!(relPath);
  let image = false;
  if (visible) image = sel.docker ? !sel.docker.ignores(relPath) : Boolean(sel.layers?.file(relPath));
  return { compile, image };
}

/** Whether a folder can hold inputs at all; false means the walk skips it. */
function mayHoldInputs(sel: Selection, relDir: string, gitIgnored: boolean): boolean {
  if (sel.useGitIgnore && gitIgnored) return false;
  if (sel.compileGlob) return true;
  if (sel.docker) return !(sel.docker.ignores(relDir) && !sel.docker.hasExclusions);
  return Boolean(sel.layers?.mayContain(relDir));
}

function readTextSync(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Walks the context; returns every file that is a compile or image input, sorted by path.
 * Synchronous fs calls on purpose: thousands of tiny readdir/lstat calls are several times faster
 * without the thread-pool round trip per call (the no-op build budget is 400 ms for 1,000 files);
 * the walk yields to the event loop every few hundred entries so a watcher stays responsive.
 */
export async function walkInputs(artifact: ArtifactConfig): Promise<ClassifiedInput[]> {
  const root = artifact.context;
  const sel = selection(artifact, readTextSync(join(root, '.dockerignore')));
  const found: ClassifiedInput[] = [];
  let sinceYield = 0;

  async function visit(relDir: string, gitFiles: GitIgnoreFile[]): Promise<void> {
    const absDir = relDir === '' ? root : join(root, relDir);
    let entries: Dirent[];
    try {
      entries = readdirSync(absDir, { withFileTypes: true });
    } catch (error) {
      if (relDir === '') throw error;
      return; // vanished while walking (an editor's temp folder): not an input
    }
    let files = gitFiles;
    if (sel.useGitIgnore && entries.some((e) => e.name === '.gitignore' && e.isFile())) {
      files = [...gitFiles, parseGitIgnore(relDir, readTextSync(join(absDir, '.gitignore')))];
    }
    for (const entry of entries) {
      const relPath = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (isAlwaysIgnored(entry.name)) continue;
        const ignored = sel.useGitIgnore && gitIgnores(files, relPath, true);
        if (mayHoldInputs(sel, relPath, ignored)) await visit(relPath, files);
        continue;
      }
      if (!entry.isFile() && !entry.isSymbolicLink()) continue; // sockets, fifos: never inputs
      const ignored = sel.useGitIgnore && gitIgnores(files, relPath, false);
      const kinds = classify(sel, relPath, ignored);
      if (!kinds.compile && !kinds.image) continue;
      const st = lstatSync(join(absDir, entry.name), { throwIfNoEntry: false });
      if (st) found.push({ path: relPath, mode: st.mode, size: st.size, mtimeMs: st.mtimeMs, ...kinds });
      if (++sinceYield >= 500) {
        sinceYield = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  await visit('', sel.useGitIgnore ? ancestorGitIgnores(root) : []);
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * A reusable, synchronous classifier for single paths (the watcher asks about each changed file).
 * Reads the ignore files once per classifier; create a new one when they change.
 */
export function createInputClassifier(artifact: ArtifactConfig): (relPath: string) => InputKinds {
  const root = artifact.context;
  const sel = selection(artifact, readTextSync(join(root, '.dockerignore')));
  const ancestors = sel.useGitIgnore ? ancestorGitIgnores(root) : [];
  const gitFilesByDir = new Map<string, GitIgnoreFile | null>();
  const gitFile = (relDir: string): GitIgnoreFile | null => {
    let file = gitFilesByDir.get(relDir);
    if (file === undefined) {
      const text = readTextSync(join(root, relDir, '.gitignore'));
      file = text ? parseGitIgnore(relDir, text) : null;
      gitFilesByDir.set(relDir, file);
    }
    return file;
  };
  const none: InputKinds = { compile: false, image: false };

  return (input: string) => {
    const relPath = normalizeRelPath(root, input);
    if (relPath === undefined || isAlwaysIgnored(relPath)) return none;
    const parts = relPath.split('/');
    const files: GitIgnoreFile[] = [...ancestors];
    let gitIgnored = false;
    if (sel.useGitIgnore) {
      // Git's rule: once a folder is ignored nothing below it comes back.
      for (let i = 0; i < parts.length && !gitIgnored; i++) {
        const dir = parts.slice(0, i).join('/');
        const file = gitFile(dir);
        if (file) files.push(file);
        gitIgnored = gitIgnores(files, parts.slice(0, i + 1).join('/'), i < parts.length - 1);
      }
    }
    return classify(sel, relPath, gitIgnored);
  };
}

/** Posix path relative to `root` for an absolute or relative path; undefined when outside it. */
export function normalizeRelPath(root: string, path: string): string | undefined {
  const abs = resolve(root, path);
  const rel = relative(root, abs);
  if (rel === '' || rel === '..' || rel.startsWith('../') || rel.startsWith('..' + sep) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}
