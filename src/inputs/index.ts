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
import type { ArtifactConfig } from '../config/types.js';
import { digestInputs } from './digest.js';
import { walkInputs, type InputFile, type InputKinds } from './walk.js';

export type { InputFile, InputKinds } from './walk.js';
export { createInputClassifier, createInputDirFilter } from './walk.js';
export { createChangeClassifier, definitionFolders, type ChangeClassifier, type InputChange } from './change.js';
export { canonicalJson } from './digest.js';
export { FileHashCache } from './hash-cache.js';
import type { FileHashCache } from './hash-cache.js';

function strip(files: (InputFile & Partial<InputKinds>)[]): InputFile[] {
  return files.map(({ path, mode, size, mtimeMs }) => ({ path, mode, size, mtimeMs }));
}

/** Every input of the artifact (compile ∪ image), sorted posix paths relative to its context. */
export async function listArtifactInputs(artifact: ArtifactConfig): Promise<InputFile[]> {
  return strip(await walkInputs(artifact));
}

/** Files the image build copies from the context (after ignore rules). */
export async function imageInputs(artifact: ArtifactConfig): Promise<InputFile[]> {
  return strip((await walkInputs(artifact)).filter((f) => f.image));
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

