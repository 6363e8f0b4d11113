/**
 * An artifact's inputs: the files whose change means the artifact must be rebuilt.
 *
 * - Compile inputs: files matching `compile.inputs` (all files when empty), minus `.gitignore`d ones
 *   (the context's own `.gitignore` files and those above it, up to the git work-tree root).
 * - Image inputs: the Docker context after `.dockerignore` (or the OCI layer sources); with a compile
 *   step, `.gitignore`d files are left out too, because those are the compile's outputs, determined
 *   by its sources (a fresh clone does not have them).
 * - `.git/`, `node_modules/` and `.devloop/` are never inputs.
 */
import { resolve } from 'node:path';
import type { ArtifactConfig } from '../config/types.js';
import { digestInputs } from './digest.js';
import { createInputClassifier, walkInputs, type InputFile, type InputKinds } from './walk.js';

export type { InputFile, InputKinds } from './walk.js';
export { createInputClassifier, createInputDirFilter } from './walk.js';
export { createChangeClassifier, definitionFolders, type ChangeClassifier, type InputChange } from './change.js';
import { createChangeClassifier } from './change.js';
export { normalizedMode, canonicalJson } from './digest.js';
export { FileHashCache } from './hash-cache.js';
import type { FileHashCache } from './hash-cache.js';

function strip(files: (InputFile & Partial<InputKinds>)[]): InputFile[] {
  return files.map(({ path, mode, size, mtimeMs }) => ({ path, mode, size, mtimeMs }));
}

/** Every input of the artifact (compile ∪ image), sorted posix paths relative to its context. */
export async function listArtifactInputs(artifact: ArtifactConfig): Promise<InputFile[]> {
  return strip(await walkInputs(artifact));
}

/** Inputs of the compile step only (empty without one). */
export async function compileInputs(artifact: ArtifactConfig, files?: InputFile[]): Promise<InputFile[]> {
  return select(artifact, files, 'compile');
}

/** Files the image build copies from the context (after ignore rules). */
export async function imageInputs(artifact: ArtifactConfig, files?: InputFile[]): Promise<InputFile[]> {
  return select(artifact, files, 'image');
}

async function select(artifact: ArtifactConfig, files: InputFile[] | undefined, kind: keyof InputKinds): Promise<InputFile[]> {
  if (!files) return strip((await walkInputs(artifact)).filter((f) => f[kind]));
  const classify = createInputClassifier(artifact);
  return files.filter((f) => classify(f.path)[kind]);
}

/**
 * `sha256:<hex>` over the inputs (paths, normalised modes, contents) plus the builder config
 * (Dockerfile path and content, build args, target, compile command/env/inputs, OCI settings).
 * `hashCache` remembers content hashes by (path, size, mtime); the build keeps one in .devloop/.
 */
export async function artifactInputDigest(
  artifact: ArtifactConfig,
  files?: InputFile[],
  options: { hashCache?: FileHashCache; platforms?: readonly string[] } = {},
): Promise<string> {
  return digestInputs(artifact, files ?? (await listArtifactInputs(artifact)), options.hashCache, options.platforms);
}

/**
 * Whether a change to `relPath` (relative to the artifact context, or absolute) can change the
 * artifact. Ignore files and the Dockerfile count, also outside the context: editing them changes
 * the inputs or the build.
 */
export function isArtifactInput(artifact: ArtifactConfig, relPath: string): boolean {
  return createChangeClassifier(artifact)(resolve(artifact.context, relPath)) !== undefined;
}
