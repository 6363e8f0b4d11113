import { resolve } from 'node:path';
import type { ArtifactConfig } from '../../src/config/types.js';
import { createChangeClassifier, createInputClassifier } from '../../src/inputs/index.js';

/** What the planner asks: can a change to `path` (context-relative or absolute) change the artifact? */
export const isArtifactInput = (artifact: ArtifactConfig, path: string): boolean =>
  createChangeClassifier(artifact)(resolve(artifact.context, path)) !== undefined;

/** The compile step's inputs among `files` (paths), by the rules the input walk applies. */
export function compileInputs(artifact: ArtifactConfig, files: { path: string }[]): string[] {
  const classify = createInputClassifier(artifact);
  return files.filter((f) => classify(f.path).compile).map((f) => f.path);
}
