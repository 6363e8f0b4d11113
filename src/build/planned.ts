/**
 * The tags a build would produce, without building: what `devloop render` uses when it is given
 * no build output. Same inputs and tag policy as buildArtifacts; references carry no digest.
 */
import type { LoadedConfig } from '../config/types.js';
import { artifactInputDigest, listArtifactInputs } from '../inputs/index.js';
import { gitState, imageRepository, policyUsesGit, renderTag, type GitState } from '../tag/index.js';
import type { BuildResult } from './types.js';
import { artifactPlatforms, nodePlatformsCache, targetPlatforms, type TargetPlatforms } from './platform.js';

export async function plannedBuilds(loaded: LoadedConfig, signal?: AbortSignal): Promise<BuildResult[]> {
  const { build } = loaded.config;
  const now = new Date();
  let git: Promise<GitState> | undefined;
  const results: BuildResult[] = [];
  // Tags include the target platforms, read (like a build reads them) from the cluster's nodes by default.
  let target: TargetPlatforms | undefined;
  for (const artifact of build.artifacts) {
    const repo = imageRepository(build.defaultRepo, artifact.image);
    target ??= await targetPlatforms(
      build,
      async () => (await import('../kube/client.js')).kubeClientForConfig(loaded.config),
      nodePlatformsCache(loaded, false),
    );
    const inputDigest = await artifactInputDigest(artifact, await listArtifactInputs(artifact), { platforms: artifactPlatforms(artifact, target) });
    const tag = renderTag(build.tagPolicy, {
      image: artifact.image,
      inputDigest,
      now,
      git: policyUsesGit(build.tagPolicy) ? await (git ??= gitState(loaded.dir, signal)) : undefined,
    });
    results.push({ image: artifact.image, repo, tag, ref: `${repo}:${tag}`, cached: true });
  }
  return results;
}
