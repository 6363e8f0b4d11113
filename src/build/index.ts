/**
 * The build stages for every artifact: inputs → tag → (cache) → compile → image build → push or
 * load. Artifacts build concurrently (bounded by build.concurrency); one failing does not stop
 * the others, and every failure is reported.
 */
import type { ArtifactConfig, LoadedConfig } from '../config/types.js';
import type { Emit } from '../events/bus.js';
import { skippedStage, timedStage } from '../events/bus.js';
import { DevloopError, FailuresError, toDevloopError } from '../errors.js';
import { artifactInputDigest, FileHashCache, listArtifactInputs } from '../inputs/index.js';
import { join } from 'node:path';
import { gitState, imageRepository, policyUsesGit, policyUsesTime, renderTag, type GitState } from '../tag/index.js';
import { runCompile, abortError } from '../compile/index.js';
import type { BuildResult, BuildRunOptions, ImageBuilder, RegistrySettings } from './types.js';
import { registryManifestDigest } from './head.js';
import { ArtifactCacheStore, cacheKey, type CacheEntry, type CacheWriter } from './cache.js';
import { createDockerBuilder, dockerBuilder, type DockerImageBuilder } from './docker/index.js';
import { currentContextLight, destinationKey, loadIntoCluster, minikubeDockerEnv, resolveDestination, type ImageDestination } from './load.js';
import { mapBounded } from '../util/concurrency.js';
import type { KubeClient } from '../kube/client.js';
import type { HookRun, HookWhen } from '../hooks/index.js';
import { labelSelector } from '../render/labels.js';
import { artifactPlatforms, checkBinaries, describeTarget, nodePlatformsCache, targetPlatforms, type TargetPlatforms } from './platform.js';
import { imageInputs } from '../inputs/index.js';

export type { BuildResult, BuildRunOptions } from './types.js';
export { chooseDestination, type ImageDestination } from './load.js';

/**
 * Thrown when at least one artifact failed; the others' results are kept for callers that want
 * them. The command boundary reports each artifact's failure (reportFailure), nothing earlier.
 */
export class BuildFailedError extends FailuresError {
  constructor(
    failures: { artifact: string; error: DevloopError }[],
    readonly results: BuildResult[],
    total: number,
  ) {
    const first = failures[0]!.error;
    super(
      failures,
      failures.length === 1
        ? first
        : { code: 'BUILD_FAILED', message: `${failures.length} of ${total} artifacts failed to build: ${failures.map((f) => f.artifact).join(', ')}`, hint: 'each failure is reported above' },
    );
  }
}

/** Test seams: replace the builders, the cache writer or the kube context lookup. */
export interface BuildDependencies {
  docker?: (destination: ImageDestination, signal: AbortSignal) => Promise<DockerImageBuilder>;
  oci?: () => Promise<ImageBuilder>;
  cacheWriter?: CacheWriter;
  kubeContext?: () => Promise<string>;
  now?: () => Date;
}

interface RunShared {
  loaded: LoadedConfig;
  emit: Emit;
  signal: AbortSignal;
  destination: ImageDestination;
  cache: ArtifactCacheStore;
  hashes: FileHashCache;
  registry: RegistrySettings;
  skipCompile: Set<string>;
  git: () => Promise<GitState>;
  ready: Promise<unknown>;
  docker: () => Promise<DockerImageBuilder>;
  oci: () => Promise<ImageBuilder>;
  custom: () => Promise<ImageBuilder>;
  now: Date;
  kube: () => Promise<KubeClient>;
  runId?: string;
  platforms: () => Promise<TargetPlatforms>;
}

export async function buildArtifacts(options: BuildRunOptions, deps: BuildDependencies = {}): Promise<BuildResult[]> {
  const { loaded, emit, signal } = options;
  const config = loaded.config.build;
  const artifacts = options.only ? config.artifacts.filter((a) => options.only!.includes(a.image)) : config.artifacts;
  if (artifacts.length === 0) return [];

  let notReady: { error: unknown } | undefined;
  const ready = options.ready ?? Promise.resolve();
  ready.catch((error: unknown) => (notReady = { error }));
  const destination = await resolveDestination(loaded.config, options.push, deps.kubeContext);
  const shared: RunShared = {
    loaded,
    emit,
    signal,
    destination,
    cache: await ArtifactCacheStore.open(loaded.dir, emit, deps.cacheWriter),
    hashes: await FileHashCache.load(join(loaded.dir, '.devloop', 'file-hashes.json')),
    registry: { insecureRegistries: config.insecureRegistries },
    skipCompile: new Set(options.skipCompile ?? []),
    git: once(() => gitState(loaded.dir, signal)),
    ready,
    docker: once(() => (deps.docker ? deps.docker(destination, signal) : defaultDockerBuilder(destination, signal))),
    oci: once(deps.oci ?? loadOciBuilder),
    custom: once(async () => (await import('./custom/index.js')).createCustomBuilder({ docker: () => shared.docker() })),
    now: (deps.now ?? (() => new Date()))(),
    // Only build hooks use the cluster: made on first use.
    kube: options.kube ?? once(async () => (await import('../kube/client.js')).kubeClientForConfig(loaded.config)),
    runId: options.runId,
    platforms: once(async () => {
      const target = await targetPlatforms(config, shared.kube, nodePlatformsCache(loaded, Boolean(options.kube)));
      const text = describeTarget(target);
      // Said once per change (not on every dev iteration).
      if (text !== lastTargetNotice) emit({ type: 'notice', level: 'info', message: (lastTargetNotice = text) });
      return target;
    }),
  };

  const outcomes = await mapBounded(artifacts, Math.max(1, config.concurrency || 1), async (artifact) => {
    try {
      return { artifact, result: await buildOne(artifact, shared) };
    } catch (error) {
      return { artifact, error: signal.aborted ? abortError(signal) : toDevloopError(error) };
    }
  });
  await shared.hashes.save();
  if (notReady) throw notReady.error; // the artifacts stopped at the gate: one failure, not one per artifact
  const results = outcomes.flatMap((o) => (o.result ? [o.result] : []));
  const failures = outcomes.flatMap((o) => (o.error ? [{ artifact: o.artifact.image, error: o.error }] : []));
  if (failures.length > 0) {
    if (signal.aborted) throw abortError(signal);
    throw new BuildFailedError(failures, results, artifacts.length);
  }
  return results;
}

async function buildOne(artifact: ArtifactConfig, run: RunShared): Promise<BuildResult> {
  const { loaded, emit, signal, destination } = run;
  const policy = loaded.config.build.tagPolicy;
  const repo = imageRepository(loaded.config.build.defaultRepo, artifact.image);
  const builderKind = artifact.oci ? 'oci' : artifact.custom ? 'custom' : 'docker';
  if (destination.kind === 'registry' && !repo.includes('/')) {
    // "hello" alone would mean docker.io/library/hello, which nobody can push to: say so before compiling.
    throw new DevloopError('NO_REGISTRY', `${artifact.image}: no registry to push to — build.defaultRepo is empty and the image names no registry`, {
      hint: 'set build.defaultRepo, --default-repo or DEVLOOP_DEFAULT_REPO (e.g. 127.0.0.1:5000); kind, k3d and minikube contexts need none; or --push=false',
    });
  }

  const platforms = artifactPlatforms(artifact, await run.platforms());
  if (artifact.docker && platforms.length > 1) {
    throw new DevloopError('DOCKER_MULTI_PLATFORM', `${artifact.image}: the nodes run ${platforms.join(' and ')}, and the docker builder makes one platform per image`, {
      hint: 'set build.platform (or --platform) to one of them, or use the oci builder, which pushes a multi-platform index',
    });
  }
  const inputDigest = await artifactInputDigest(artifact, await listArtifactInputs(artifact), { hashCache: run.hashes, platforms });
  const tag = renderTag(policy, {
    image: artifact.image,
    inputDigest,
    now: run.now,
    git: policyUsesGit(policy) ? await run.git() : undefined,
  });
  const key = cacheKey({
    inputDigest,
    tagPolicy: policy,
    repo,
    builder: builderKind,
    destination: destinationKey(destination),
    tag: policyUsesTime(policy) ? undefined : tag,
  });
  await run.ready; // nothing touches a registry, Docker or the compiler before the pre-flight passed


  const hit = run.cache.get(key);
  if (hit && !signal.aborted) {
    const reused = await reuseCached(artifact, key, hit, run);
    if (reused) return reused;
  }
  if (signal.aborted) throw abortError(signal);

  const hooks = artifact.hooks?.build;
  const { runHooks } = hooks && (hooks.before.length || hooks.after.length) ? await import('../hooks/index.js') : { runHooks: undefined };
  if (runHooks && hooks!.before.length) await runHooks(hooks!.before, await buildHookRun(artifact, run, 'before', repo, tag));

  if (artifact.compile && !run.skipCompile.has(artifact.image)) {
    await timedStage(emit, 'compile', artifact.image, () => runCompile({ artifact, emit, signal }));
  } else if (artifact.compile) {
    skippedStage(emit, 'compile', artifact.image, 'only image files changed');
  }

  if (!artifact.custom) await checkImageBinaries(artifact, platforms);

  const push = destination.kind === 'registry';
  const builder: ImageBuilder = artifact.oci ? await run.oci() : artifact.custom ? await run.custom() : await run.docker();
  const outcome = await builder.build({ artifact, repo, tag, push, registry: run.registry, projectDir: loaded.dir, emit, signal, platforms });
  if (!push) await deliverLocally(artifact, `${repo}:${tag}`, run);

  const digest = push ? outcome.digest : undefined;
  const entry: CacheEntry = { image: artifact.image, repo, tag, digest, imageId: outcome.imageId, builtAt: new Date().toISOString() };
  // Cached only once the after hooks pass: a failed one runs again with the next build.
  if (runHooks && hooks!.after.length) {
    const built = { image: artifact.image, repo, tag, digest, ref: digest ? `${repo}:${tag}@${digest}` : `${repo}:${tag}` };
    await runHooks(hooks!.after, await buildHookRun(artifact, run, 'after', repo, tag, built));
  }
  await run.cache.put(key, entry);
  return finish(artifact, entry, false, emit);
}

/**
 * Cache hit: the artifact's inputs are unchanged. Returns the result when the image is where it
 * must be (registry manifest at the recorded digest, or the local image); pushes again when only
 * the registry lost it; undefined means rebuild.
 */
async function reuseCached(artifact: ArtifactConfig, key: string, hit: CacheEntry, run: RunShared): Promise<BuildResult | undefined> {
  const { emit, destination } = run;
  const ref = `${hit.repo}:${hit.tag}`;
  if (destination.kind === 'registry') {
    if (!hit.digest) return undefined;
    if ((await registryManifestDigest(hit.repo, hit.tag, run.registry, run.signal)) === hit.digest) {
      skipAll(artifact, emit, 'cached');
      return finish(artifact, hit, true, emit);
    }
    // The registry lost the image (or cannot say): push the local copy if the daemon still has it.
    if (artifact.oci || !hit.imageId) return undefined;
    const docker = await run.docker();
    if ((await docker.localImageId(ref, run.signal)) !== hit.imageId) return undefined;
    if (artifact.compile) skippedStage(emit, 'compile', artifact.image, 'cached');
    skippedStage(emit, 'build', artifact.image, 'cached');
    const digest = await docker.push({ artifact, repo: hit.repo, tag: hit.tag, emit, signal: run.signal, registry: run.registry });
    const entry = { ...hit, digest, builtAt: new Date().toISOString() };
    await run.cache.put(key, entry);
    return finish(artifact, entry, false, emit);
  }
  if (artifact.oci) return undefined;
  // kind/k3d: the image was loaded when it was built; the cluster keeps it.
  if (destination.kind !== 'kind' && destination.kind !== 'k3d') {
    const docker = await run.docker();
    if (!hit.imageId || (await docker.localImageId(ref, run.signal)) !== hit.imageId) return undefined;
  }
  skipAll(artifact, emit, 'cached');
  return finish(artifact, { ...hit, digest: undefined }, true, emit);
}

let lastTargetNotice: string | undefined;

/**
 * The executables the image gets (after the compile step) must be for the target architecture:
 * docker artifacts' executable files in the context (after .dockerignore), oci artifacts' layer
 * files that are executable on disk or made so by the layer's mode.
 */
async function checkImageBinaries(artifact: ArtifactConfig, platforms: string[]): Promise<void> {
  const candidates: { shown: string; path: string }[] = [];
  if (artifact.oci) {
    const { collectLayerFiles } = await import('./oci/sources.js');
    for (const layer of artifact.oci.layers) {
      const files = await collectLayerFiles(artifact.context, layer).catch(() => []); // the builder reports missing sources
      for (const f of files) if (f.source && f.type === 'file' && (f.mode & 0o111) !== 0) candidates.push({ shown: f.source.startsWith(`${artifact.context}/`) ? f.source.slice(artifact.context.length + 1) : f.source, path: f.source });
    }
  } else {
    for (const f of await imageInputs(artifact)) {
      if ((f.mode & 0o111) !== 0) candidates.push({ shown: f.path, path: join(artifact.context, f.path) });
    }
  }
  await checkBinaries(artifact.image, candidates, platforms);
}

/** What build hooks get: DEVLOOP_IMAGE/_REPO/_TAG/_REF, DEVLOOP_BUILD_CONTEXT, the kube context and namespace. */
async function buildHookRun(
  artifact: ArtifactConfig,
  run: RunShared,
  when: HookWhen,
  repo: string,
  tag: string,
  built?: Pick<BuildResult, 'image' | 'repo' | 'tag' | 'digest' | 'ref'>,
): Promise<HookRun> {
  const { loaded } = run;
  // Without a usable kubeconfig (`devloop build` on CI) host hooks still run, with what the config says.
  const kube = await run.kube().catch(() => undefined);
  const kubeContext = kube?.contextName ?? (loaded.config.deploy.kubeContext || (await currentContextLight()));
  const namespace = kube?.namespace ?? loaded.config.deploy.namespace;
  const env: Record<string, string> = {
    DEVLOOP_IMAGE: artifact.image,
    DEVLOOP_IMAGE_REPO: repo,
    DEVLOOP_IMAGE_TAG: tag,
    DEVLOOP_BUILD_CONTEXT: artifact.context,
    DEVLOOP_KUBE_CONTEXT: kubeContext,
    DEVLOOP_NAMESPACE: namespace,
    ...(built ? { DEVLOOP_IMAGE_REF: built.ref } : {}),
  };
  return {
    phase: 'build',
    when,
    artifact: artifact.image,
    cwd: artifact.context,
    env,
    emit: run.emit,
    signal: run.signal,
    cluster: async () => {
      const client = await run.kube();
      return {
        kube: client,
        namespaces: [client.namespace],
        labelSelector: labelSelector(loaded.config.metadata.name, run.runId),
        buildConfig: loaded.config.build,
        builds: built ? [built] : [],
      };
    },
  };
}

function skipAll(artifact: ArtifactConfig, emit: Emit, detail: string): void {
  if (artifact.compile) skippedStage(emit, 'compile', artifact.image, detail);
  skippedStage(emit, 'build', artifact.image, detail);
  skippedStage(emit, 'push', artifact.image, detail);
}

function finish(artifact: ArtifactConfig, entry: CacheEntry, cached: boolean, emit: Emit): BuildResult {
  const base = `${entry.repo}:${entry.tag}`;
  const ref = entry.digest ? `${base}@${entry.digest}` : base;
  emit({ type: 'artifact', image: artifact.image, tag: ref, cached });
  return { image: artifact.image, repo: entry.repo, tag: entry.tag, digest: entry.digest, ref, cached };
}

/** After a local build: load into kind/k3d, or nothing to do (local daemon, minikube's daemon, docker-desktop). */
async function deliverLocally(artifact: ArtifactConfig, ref: string, run: RunShared): Promise<void> {
  const { destination, emit, signal } = run;
  if (destination.kind === 'kind' || destination.kind === 'k3d') {
    await timedStage(emit, 'push', artifact.image, () => loadIntoCluster(destination, ref, { image: artifact.image, emit, signal }));
    return;
  }
  const why =
    destination.kind === 'minikube'
      ? 'built in minikube’s Docker daemon'
      : destination.kind === 'local' && destination.reason === 'docker-desktop'
        ? 'docker-desktop uses local images'
        : 'push disabled';
  skippedStage(emit, 'push', artifact.image, why);
}

async function defaultDockerBuilder(destination: ImageDestination, signal: AbortSignal): Promise<DockerImageBuilder> {
  if (destination.kind !== 'minikube') return dockerBuilder;
  return createDockerBuilder({ env: await minikubeDockerEnv(destination.profile, signal) });
}

async function loadOciBuilder(): Promise<ImageBuilder> {
  // Lazy: only projects with daemonless artifacts pay for loading the OCI builder.
  return (await import('./oci/index.js')).ociBuilder;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= make());
}

