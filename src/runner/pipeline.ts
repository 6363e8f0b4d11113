/**
 * The deploy half of the pipeline, callable per iteration: render → apply → prune → status, and
 * `runPipeline` which builds first. Orchestration only; each stage lives in render/ or deploy/.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { BuildResult } from '../build/types.js';
import type { LoadedConfig } from '../config/types.js';
import { timedStage, type Emit } from '../events/bus.js';
import type { KubeClient } from '../kube/client.js';
import { renderManifests } from '../render/index.js';
import type { ImageReplacement } from '../render/types.js';
import { createDeployApi, refOf, type DeployApi, type ObjectRef } from '../deploy/api.js';
import { applyObjects, type AppliedObject } from '../deploy/apply.js';
import { pruneObjects } from '../deploy/prune.js';
import { waitForHealthy } from '../deploy/status.js';
import { pruneScope, readRecords, recordDeployment } from '../deploy/record.js';
import { removeStaleSession } from './dev-session.js';

export interface PipelineContext {
  loaded: LoadedConfig;
  emit: Emit;
  signal: AbortSignal;
  kube: KubeClient;
  /** Dev sessions: labels objects with devloop.dev/run-id and prunes only this session's objects. */
  runId?: string;
  /** Overrides deploy.statusCheck.timeout. */
  statusCheckTimeoutMs?: number;
}

export interface DeployOutcome {
  /** Every object applied, with the namespace it went to. */
  applied: AppliedObject[];
  /** Objects deleted because the manifests no longer contain them. */
  pruned: ObjectRef[];
  /** The image references written into the manifests. */
  images: ImageReplacement[];
}

// One DeployApi per kube client: discovery answers are cached for the whole command (all dev iterations).
const apis = new WeakMap<KubeClient, DeployApi>();
export function deployApiFor(kube: KubeClient): DeployApi {
  let api = apis.get(kube);
  if (!api) apis.set(kube, (api = createDeployApi(kube)));
  return api;
}

/** Renders with these builds, applies, prunes what is gone, records state, waits until healthy. */
export async function deployBuilt(ctx: PipelineContext, builds: readonly BuildResult[]): Promise<DeployOutcome> {
  const { loaded, emit, signal, kube, runId } = ctx;
  const api = deployApiFor(kube);
  const configName = loaded.config.metadata.name;
  const images = builds.map((b) => ({ image: b.image, ref: b.ref }));

  const rendered = await timedStage(emit, 'render', undefined, () => renderManifests({ loaded, images, runId, namespace: kube.namespace, emit, signal }));
  signal.throwIfAborted();

  const target = { configName, kubeContext: kube.contextName, namespace: kube.namespace };
  // The scope is taken before this deployment is recorded: it needs what this target used before.
  const records = await readRecords(loaded.dir);
  // Recorded before applying: a crash mid-apply still leaves delete/cleanup a record of where to look.
  await recordDeployment(loaded.dir, { ...target, runId, phase: 'applying', objects: rendered.objects.map((o) => refOf(o.object)) });

  // Names this apply on the objects, so the status check notices another run applying over them.
  const stamp = { id: randomBytes(6).toString('hex'), from: `${hostname()}:${loaded.dir}` };
  const applied = await timedStage(emit, 'apply', undefined, () => applyObjects({ api, objects: rendered.objects, stamp, emit, signal }));
  const pruned = await timedStage(emit, 'prune', undefined, () =>
    pruneObjects({ api, applied, configName, runId, scope: pruneScope(records, target, applied), emit, signal }),
  );
  await recordDeployment(loaded.dir, { ...target, runId, phase: 'deployed', objects: applied });
  await removeStaleSession(loaded.dir, await readRecords(loaded.dir));

  await timedStage(emit, 'status', undefined, () =>
    waitForHealthy({
      api,
      applied,
      applyId: stamp.id,
      configName,
      runId,
      emit,
      signal,
      timeoutMs: ctx.statusCheckTimeoutMs ?? loaded.config.deploy.statusCheck.timeout,
    }),
  );
  return { applied, pruned, images };
}

/** Builds every artifact, then deploys the results. */
export async function runPipeline(ctx: PipelineContext, options: { push?: boolean } = {}): Promise<{ builds: BuildResult[]; deployed: DeployOutcome }> {
  const { buildArtifacts } = await import('../build/index.js');
  const builds = await buildArtifacts({ loaded: ctx.loaded, emit: ctx.emit, signal: ctx.signal, push: options.push });
  ctx.signal.throwIfAborted();
  const deployed = await deployBuilt(ctx, builds);
  return { builds, deployed };
}
