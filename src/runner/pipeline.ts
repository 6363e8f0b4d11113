/**
 * The deploy half of the pipeline, callable per iteration: render → apply → prune → status.
 * Orchestration only; each stage lives in render/ or deploy/.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { BuildResult } from '../build/types.js';
import type { LoadedConfig } from '../config/types.js';
import { timedStage, type Emit } from '../events/bus.js';
import type { KubeClient } from '../kube/client.js';
import { renderManifests } from '../render/index.js';
import type { ImageReplacement } from '../render/types.js';
import type { SupervisedImage } from '../render/supervise.js';
import { createDeployApi, refOf, type DeployApi, type ObjectRef } from '../deploy/api.js';
import { applyObjects, type AppliedObject } from '../deploy/apply.js';
import { pruneObjects } from '../deploy/prune.js';
import { waitForHealthy } from '../deploy/status.js';
import { pruneScope, readRecords, recordDeployment } from '../deploy/record.js';
import { removeStaleSession } from './dev-session.js';
import type { HookRun, HookWhen } from '../hooks/index.js';
import { labelSelector } from '../render/labels.js';

export interface PipelineContext {
  loaded: LoadedConfig;
  emit: Emit;
  signal: AbortSignal;
  kube: KubeClient;
  /** Dev sessions: labels objects with devloop.dev/run-id and prunes only this session's objects. */
  runId?: string;
  /** Overrides deploy.statusCheck.timeout. */
  statusCheckTimeoutMs?: number;
  /** `devloop dev`: images whose containers run under the live-update supervisor. */
  supervise?: readonly SupervisedImage[];
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
  const hooks = loaded.config.deploy.hooks;
  const { runHooks } = hooks && (hooks.before.length || hooks.after.length) ? await import('../hooks/index.js') : { runHooks: undefined };
  let applied: AppliedObject[] = [];
  if (runHooks && hooks!.before.length) await runHooks(hooks!.before, deployHookRun(ctx, builds, 'before', () => applied));

  const rendered = await timedStage(emit, 'render', undefined, () => renderManifests({ loaded, images, runId, namespace: kube.namespace, emit, signal, supervise: ctx.supervise }));
  signal.throwIfAborted();

  const target = { configName, kubeContext: kube.contextName, namespace: kube.namespace };
  // The scope is taken before this deployment is recorded: it needs what this target used before.
  const records = await readRecords(loaded.dir);
  // Recorded before applying: a crash mid-apply still leaves delete/cleanup a record of where to look.
  await recordDeployment(loaded.dir, { ...target, runId, phase: 'applying', objects: rendered.objects.map((o) => refOf(o.object)) });

  // Names this apply on the objects, so the status check notices another run applying over them.
  const stamp = { id: randomBytes(6).toString('hex'), from: `${hostname()}:${loaded.dir}` };
  applied = await timedStage(emit, 'apply', undefined, () => applyObjects({ api, objects: rendered.objects, stamp, emit, signal }));
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
  if (runHooks && hooks!.after.length) await runHooks(hooks!.after, deployHookRun(ctx, builds, 'after', () => applied));
  return { applied, pruned, images };
}

/** Deploy hooks run in the project folder with DEVLOOP_IMAGES ("image=ref …"), the kube context and namespace. */
function deployHookRun(ctx: PipelineContext, builds: readonly BuildResult[], when: HookWhen, applied: () => AppliedObject[]): HookRun {
  const { loaded, kube } = ctx;
  return {
    phase: 'deploy',
    when,
    cwd: loaded.dir,
    env: {
      DEVLOOP_IMAGES: builds.map((b) => `${b.image}=${b.ref}`).join(' '),
      DEVLOOP_KUBE_CONTEXT: kube.contextName,
      DEVLOOP_NAMESPACE: kube.namespace,
    },
    emit: ctx.emit,
    signal: ctx.signal,
    cluster: async () => ({
      kube,
      namespaces: [kube.namespace, ...applied().flatMap((o) => (o.namespace ? [o.namespace] : []))],
      labelSelector: labelSelector(loaded.config.metadata.name, ctx.runId),
      buildConfig: loaded.config.build,
      builds,
    }),
  };
}
