/**
 * Builds the planner's per-artifact rules from the config. What a path means is the inputs
 * module's answer (the same rules as the input digest), never decided here. Not pure: the
 * classifiers read the artifact's ignore files once (rebuild them when `plan().refreshRules` says so).
 */
import { join } from 'node:path';
import picomatch from 'picomatch';
import type { ArtifactConfig, LoadedConfig } from '../config/types.js';
import { createChangeClassifier } from '../inputs/index.js';
import { isManifestInput, manifestInputs, type ManifestInputs } from '../inputs/manifests.js';
import { compileSyncRules } from '../sync/map.js';
import type { ArtifactRules } from './index.js';

export function artifactRules(artifact: ArtifactConfig): ArtifactRules {
  return {
    image: artifact.image,
    context: artifact.context,
    hasCompile: Boolean(artifact.compile),
    input: createChangeClassifier(artifact),
    sync: compileSyncRules(artifact.sync),
  };
}

/**
 * Matcher for the config's manifest globs (relative to the config folder) and the files its
 * kustomizations and charts are rendered from (read from disk now unless given: build a new one per batch).
 */
export function manifestMatcher(loaded: LoadedConfig, rendered: ManifestInputs = manifestInputs(loaded)): (relPath: string) => boolean {
  const matchers = loaded.config.manifests.map((glob) => picomatch(glob.replace(/^\.\//, ''), { dot: true }));
  return (rel) => matchers.some((m) => m(rel)) || isManifestInput(rendered, join(loaded.dir, rel));
}
