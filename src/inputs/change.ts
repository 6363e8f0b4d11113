/**
 * What a changed path means for one artifact: the one answer the planner acts on and the watcher
 * looks for, made from the same rules as the input digest. Besides the files the walk lists, the
 * digest depends on files that define the build: the Dockerfile (also outside the context,
 * `dockerfile: ../Dockerfile`), `.dockerignore`, and with a compile step every `.gitignore` in the
 * context and in the folders above it up to the git work-tree root.
 */
import { basename, dirname, join, posix, relative, resolve, sep } from 'node:path';
import type { ArtifactConfig } from '../config/types.js';
import { ancestorFolders } from './git-ancestors.js';
import { isAlwaysIgnored } from './rules.js';
import { createInputClassifier, normalizeRelPath } from './walk.js';

export interface InputChange {
  /** Posix path relative to the context; `../Dockerfile` for a file outside it. */
  rel: string;
  /** The compile step reads it (or, for a folder, may have read files below it). */
  compile: boolean;
  /** The image build copies it, or it shapes the image build. */
  image: boolean;
  /** It defines the build rather than being copied: the Dockerfile, or an ignore file (the input rules themselves changed). */
  definition?: 'dockerfile' | 'ignore';
}

/** `(absPath, isDir)` → what the change means for the artifact, or undefined when it is no input. */
export type ChangeClassifier = (absPath: string, isDir?: boolean) => InputChange | undefined;

export function createChangeClassifier(artifact: ArtifactConfig): ChangeClassifier {
  const classify = createInputClassifier(artifact);
  const dockerfile = artifact.docker ? resolve(artifact.context, artifact.docker.dockerfile) : undefined;
  const dockerignore = artifact.docker ? join(artifact.context, '.dockerignore') : undefined;
  const compiles = Boolean(artifact.compile);
  const gitIgnoreAbove = new Set(compiles ? ancestorFolders(artifact.context).map((dir) => join(dir, '.gitignore')) : []);

  return (absPath, isDir = false) => {
    const inside = normalizeRelPath(artifact.context, absPath);
    const rel = inside ?? relative(artifact.context, absPath).split(sep).join(posix.sep);
    if (!isDir) {
      if (absPath === dockerfile) return { rel, compile: false, image: true, definition: 'dockerfile' };
      if (absPath === dockerignore) return { rel, compile: false, image: true, definition: 'ignore' };
      const gitIgnore = basename(absPath) === '.gitignore' && compiles;
      if (gitIgnore && (gitIgnoreAbove.has(absPath) || (inside !== undefined && !isAlwaysIgnored(inside)))) {
        return { rel, compile: true, image: true, definition: 'ignore' };
      }
    }
    if (inside === undefined) return undefined;
    const kinds = classify(inside, isDir);
    return kinds.compile || kinds.image ? { rel, ...kinds } : undefined;
  };
}

/**
 * Folders whose own files (not their subfolders) define the build wherever they are: the
 * Dockerfile's folder (outside the context, or in a folder `.dockerignore` leaves out) and, with a
 * compile step, the folders above the context holding `.gitignore` files that apply to it. The
 * watcher watches them besides the context, unrecursively.
 */
export function definitionFolders(artifact: ArtifactConfig): string[] {
  const folders = artifact.compile ? ancestorFolders(artifact.context) : [];
  if (artifact.docker) folders.push(dirname(resolve(artifact.context, artifact.docker.dockerfile)));
  return [...new Set(folders)].filter((dir) => dir !== artifact.context); // the context is watched anyway
}
