/**
 * The stages `devloop dev` runs, behind one small interface: the loop (`dev.ts`, `iteration.ts`)
 * only calls these, so its order and failure handling are tested against a fake bench
 * (test/runner/), and `realDevStages` is the one place that wires the real modules. Each real stage
 * imports its module on first use: a session that never syncs never loads sync/.
 */
import type { BuildResult } from '../build/types.js';
import type { ArtifactConfig, LoadedConfig } from '../config/types.js';
import { startStage, timedStage, type Emit, type StageTimer } from '../events/bus.js';
import { DevloopError, toDevloopError } from '../errors.js';
import type { ForwardInfo } from '../forward/index.js';
import type { HookRun, HookWhen } from '../hooks/index.js';
import type { KubeClient } from '../kube/client.js';
import type { SyncAction, SyncCopy } from '../plan/index.js';
import type { V1Pod } from '@kubernetes/client-node';
import type { SupervisedImage } from '../render/supervise.js';
import type { CompiledSyncRule } from '../sync/map.js';
import type { RunningContainer, SyncRequest } from '../sync/index.js';
import type { ImageProcess } from '../sync/image-process.js';
import { labelSelector } from '../render/labels.js';
import { startWatcher, watchScope, type WatchOptions, type Watcher } from '../watch/index.js';
import { processAlive, readSession, removeSession, writeSession } from './dev-session.js';
import type { DeployOutcome } from './pipeline.js';
import type { ObjectRef } from '../deploy/api.js';
import type { DeployRecord } from '../deploy/record.js';

/** What every stage call gets: the session as it is now (the config changes on a reload). */
export interface StageContext {
  loaded: LoadedConfig;
  kube: KubeClient;
  runId: string;
  emit: Emit;
  signal: AbortSignal;
}

export interface PlannedBuild {
  image: string;
  /** Run the artifact's compile step (when it has one). */
  compile: boolean;
}

export interface BuildOutcome {
  /** Every artifact that built, also when others failed. */
  results: BuildResult[];
  /** Set when some artifact failed: the loop remembers `results`, then throws it. */
  failure?: unknown;
}

export interface SyncJob {
  artifact: ArtifactConfig;
  build: BuildResult;
  /** Every build of the session (hooks see them). */
  builds: BuildResult[];
  action: SyncAction;
  /** Where this session's pods may run. */
  namespaces: string[];
  /** What containers that lack earlier syncs get instead (everything synced since the build). */
  catchUp?: SyncRequest['catchUp'];
  /** Live update: restart the process where files went; `ended` ends the forwards' connections to those containers. */
  restart?: { timeoutMs: number; ended?: (targets: readonly RunningContainer[]) => void };
}

export interface SyncedContainers {
  targets: RunningContainer[];
  /** Live update: a new process exited (the files are in place all the same). */
  restartFailure?: DevloopError;
}

export interface DevForwards {
  forwards(): ForwardInfo[];
  /** After a redeploy: follow changed Services, forward new ones. */
  refresh(): Promise<void>;
  /** A live update restarted the process in these pods: end the client connections bridged to them. */
  endConnections(pods: readonly { namespace: string; pod: string }[]): void;
  close(): Promise<void>;
}

export interface DevStages {
  /** Watches the config's inputs; `run` gets each batch (`forced`: rebuild all). */
  watch(loaded: LoadedConfig, options: Omit<WatchOptions, 'scope'>): Watcher;
  /** Refuses when another session runs for the project, deletes what dead sessions left, records this one. */
  beginSession(ctx: StageContext): Promise<void>;
  /** Builds these artifacts (only these; compile per entry). */
  build(ctx: StageContext, builds: readonly PlannedBuild[]): Promise<BuildOutcome>;
  /**
   * Copies the action's files into the running containers, which it returns; with `job.restart`
   * (live update) restarts the process in each container that got files and waits until it listens
   * again (`restartFailure`: RESTART_CRASHED with its log lines when it exits). Throws
   * `SYNC_UNAVAILABLE` (the containers cannot take a sync) or `SYNC_NO_CONTAINERS`.
   */
  sync(ctx: StageContext, job: SyncJob): Promise<SyncedContainers>;
  /** Live update: runs the artifact's compile step; returns the files it wrote that `rules` with `restart: true` cover. */
  liveCompile(ctx: StageContext, artifact: ArtifactConfig, rules: readonly CompiledSyncRule[]): Promise<SyncCopy[]>;
  /** What a built image runs and whether it has /bin/sh (read from its registry). */
  imageProcess(ctx: StageContext, build: BuildResult): Promise<ImageProcess>;
  /** Follows this session's pods; `listener` gets them after every change. */
  watchPods(ctx: StageContext, listener: (pods: V1Pod[]) => void): Promise<{ close(): void }>;
  /** The artifact's sync hooks (none configured: nothing). */
  syncHooks(ctx: StageContext, job: SyncJob, when: HookWhen): Promise<void>;
  /** Render with these builds (`supervise`: containers under the live-update supervisor), apply, prune, wait until healthy. */
  deploy(ctx: StageContext, builds: readonly BuildResult[], statusCheckTimeoutMs?: number, supervise?: readonly SupervisedImage[]): Promise<DeployOutcome>;
  startForwards(ctx: StageContext, forwardAllServices: boolean): Promise<DevForwards>;
  startLogs(ctx: StageContext): Promise<{ close(): Promise<void> }>;
  /** Deletes what this session deployed; bounded, not tied to the (aborted) session signal; reports its own failure. */
  cleanup(ctx: StageContext, namespaces: readonly string[]): Promise<void>;
  endSession(ctx: StageContext): Promise<void>;
}

const DELETE_TIMEOUT_MS = 60_000;

export const realDevStages: DevStages = {
  watch: (loaded, options) => startWatcher({ ...options, scope: watchScope(loaded) }),

  async beginSession(ctx) {
    await removeOrphans(ctx);
    await writeSession(ctx.loaded.dir, {
      runId: ctx.runId,
      pid: process.pid,
      configName: ctx.loaded.config.metadata.name,
      kubeContext: ctx.kube.contextName,
      startedAt: new Date().toISOString(),
    });
  },

  async build(ctx, builds) {
    const { buildArtifacts, BuildFailedError } = await import('../build/index.js');
    const only = builds.map((b) => b.image);
    const skipCompile = builds.filter((b) => !b.compile).map((b) => b.image);
    try {
      return { results: await buildArtifacts({ loaded: ctx.loaded, emit: ctx.emit, signal: ctx.signal, only, skipCompile, kube: async () => ctx.kube, runId: ctx.runId }) };
    } catch (error) {
      return { results: error instanceof BuildFailedError ? error.results : [], failure: error };
    }
  },

  async sync(ctx, { artifact, build, action, namespaces, catchUp, restart }) {
    const { syncToPods } = await import('../sync/index.js');
    const { kube, signal, emit } = ctx;
    const started = Date.now();
    const syncing = startStage(emit, 'sync', action.image);
    // A live update copies and restarts in one exec per container: the restart stage starts when
    // the first container has its files (its forwarded connections end then, and once more after).
    let restarting: StageTimer | undefined;
    const copied = (target: RunningContainer): void => {
      restart?.ended?.([target]);
      if (restarting) return;
      syncing.end();
      restarting = startStage(emit, 'restart', action.image);
    };
    try {
      const request = { kube, signal, build, context: artifact.context, namespaces, labelSelector: selectorOf(ctx), copy: action.copy, remove: action.remove, catchUp };
      const outcome = await syncToPods(restart ? { ...request, restart: { timeoutMs: restart.timeoutMs, copied } } : request);
      if (outcome.containers.length === 0) {
        throw new DevloopError('SYNC_NO_CONTAINERS', `no running container of ${action.image} (this session, current image) to copy ${outcome.files} file(s) into`, {
          hint: 'the next save rebuilds and deploys it; press r to do that now',
        });
      }
      const lacking = catchUp ? outcome.targets.filter((t) => !catchUp.current(t)).length : 0;
      const since = catchUp ? catchUp.copy.length + catchUp.remove.length : 0;
      const caughtUp = lacking > 0 && since > outcome.files ? `; all ${since} synced since the build into ${lacking} container(s) that lacked them` : '';
      emit({ type: 'progress', stage: 'sync', artifact: action.image, message: `${outcome.files} file(s) into ${outcome.containers.length} container(s)${caughtUp}` });
      if (!restarting) {
        syncing.end();
        return { targets: outcome.targets };
      }
      const restarted = outcome.restarts.map((r) => r.target);
      restart?.ended?.(restarted);
      const { restartFailure } = await import('./live-update.js');
      const failure = await restartFailure(kube, action.image, outcome.restarts, { emit, sinceMs: started });
      if (failure) return { targets: outcome.targets, restartFailure: restarting.fail(failure) };
      emit({ type: 'progress', stage: 'restart', artifact: action.image, message: `restarted the process in ${restarted.length} container(s)` });
      restarting.end();
      return { targets: outcome.targets };
    } catch (error) {
      throw (restarting ?? syncing).fail(error);
    }
  },

  async liveCompile(ctx, artifact, rules) {
    const { runCompile } = await import('../compile/index.js');
    const { compiledOutputs } = await import('../sync/outputs.js');
    const started = Date.now();
    await timedStage(ctx.emit, 'compile', artifact.image, () => runCompile({ artifact, emit: ctx.emit, signal: ctx.signal }));
    return compiledOutputs(artifact.context, rules, started);
  },

  async imageProcess(ctx, build) {
    const { inspectImageProcess } = await import('../sync/image-process.js');
    try {
      return await inspectImageProcess(build, { insecureRegistries: ctx.loaded.config.build.insecureRegistries }, ctx.loaded.dir, ctx.signal);
    } catch (error) {
      ctx.signal.throwIfAborted();
      return { ok: false, reason: `its config could not be read from the registry (${toDevloopError(error).message})` };
    }
  },

  async watchPods(ctx, listener) {
    const { watchPods } = await import('../forward/pod-watch.js');
    const watch = watchPods(ctx.kube, { namespace: ctx.kube.namespace, labelSelector: selectorOf(ctx) });
    watch.onChange(() => listener(watch.pods().map((p) => p.pod)));
    return watch;
  },

  async syncHooks(ctx, job, when) {
    const hooks = job.artifact.hooks?.sync?.[when];
    if (!hooks?.length) return;
    const { runHooks } = await import('../hooks/index.js');
    await runHooks(hooks, syncHookRun(ctx, job, when));
  },

  async deploy(ctx, builds, statusCheckTimeoutMs, supervise) {
    const { deployBuilt } = await import('./pipeline.js');
    return deployBuilt({ ...ctx, statusCheckTimeoutMs, supervise }, builds);
  },

  async startForwards(ctx, forwardAllServices) {
    const { startPortForwards } = await import('../forward/index.js');
    return startPortForwards({ kube: ctx.kube, loaded: ctx.loaded, emit: ctx.emit, signal: ctx.signal, forwardAllServices, runId: ctx.runId });
  },

  async startLogs(ctx) {
    const { startLogStreams } = await import('../logs/index.js');
    return startLogStreams({ kube: ctx.kube, emit: ctx.emit, signal: ctx.signal, namespace: ctx.kube.namespace, labelSelector: selectorOf(ctx) });
  },

  async cleanup(ctx, namespaces) {
    const { readRecords } = await import('../deploy/record.js');
    const ours = (await readRecords(ctx.loaded.dir)).filter((r) => r.runId === ctx.runId);
    try {
      await deleteRun(ctx, ctx.runId, ours, { namespaces, signal: AbortSignal.timeout(DELETE_TIMEOUT_MS), timeoutMs: DELETE_TIMEOUT_MS });
    } catch (error) {
      const failure = toDevloopError(error);
      ctx.emit({ type: 'error', code: failure.code, message: `cleanup failed: ${failure.message}`, hint: 'run `devloop delete` to remove what is left' });
    }
  },

  endSession: (ctx) => removeSession(ctx.loaded.dir, ctx.runId),
};

/** Pods of this session: the config's and this run's labels. */
function selectorOf(ctx: StageContext): string {
  return labelSelector(ctx.loaded.config.metadata.name, ctx.runId);
}

/** Sync hooks run in the artifact's context with DEVLOOP_IMAGE(_REF), DEVLOOP_SYNC_FILES (container paths), the kube context and namespace. */
function syncHookRun(ctx: StageContext, job: SyncJob, when: HookWhen): HookRun {
  const { kube, loaded, emit, signal } = ctx;
  const { artifact, build, action } = job;
  return {
    phase: 'sync',
    when,
    artifact: artifact.image,
    cwd: artifact.context,
    env: {
      DEVLOOP_IMAGE: artifact.image,
      DEVLOOP_IMAGE_REF: build.ref,
      DEVLOOP_SYNC_FILES: [...action.copy.map((c) => c.path), ...action.remove.map((r) => r.path)].join(' '),
      DEVLOOP_KUBE_CONTEXT: kube.contextName,
      DEVLOOP_NAMESPACE: kube.namespace,
    },
    emit,
    signal,
    cluster: async () => ({ kube, namespaces: job.namespaces, labelSelector: selectorOf(ctx), buildConfig: loaded.config.build, builds: job.builds }),
  };
}

/**
 * A session that died without cleaning up (kill -9, a crash) left objects labelled with its run
 * id: delete them before deploying again. A session that is still alive is left alone.
 */
async function removeOrphans(ctx: StageContext): Promise<void> {
  const { readRecords, sessionRecords } = await import('../deploy/record.js');
  const { loaded, kube, emit, signal } = ctx;
  const configName = loaded.config.metadata.name;
  const previous = await readSession(loaded.dir);
  if (previous && processAlive(previous.pid)) {
    throw new DevloopError('DEV_ALREADY_RUNNING', `another \`devloop dev\` (pid ${previous.pid}) is running for this project`, {
      hint: 'stop it first; two sessions would fight over the same objects',
    });
  }
  const recorded = sessionRecords(await readRecords(loaded.dir), configName, kube.contextName);
  const runIds = new Set(recorded.map((r) => r.runId!));
  if (previous && previous.configName === configName && previous.kubeContext === kube.contextName) runIds.add(previous.runId);
  for (const runId of runIds) {
    const deleted = await deleteRun(ctx, runId, recorded.filter((r) => r.runId === runId), { signal });
    if (deleted.length > 0) emit({ type: 'notice', level: 'info', message: `removed ${deleted.length} object(s) left by an earlier dev session (run ${runId})` });
  }
}

/** Deletes what dev session `runId` deployed (its records' kinds and namespaces, and `namespaces`), then forgets its records. */
async function deleteRun(
  ctx: StageContext,
  runId: string,
  records: readonly DeployRecord[],
  options: { namespaces?: readonly string[]; signal: AbortSignal; timeoutMs?: number },
): Promise<ObjectRef[]> {
  const { deleteDeployed } = await import('../deploy/delete.js');
  const { forgetRecords } = await import('../deploy/record.js');
  const { deployApiFor } = await import('./pipeline.js');
  const { loaded, kube, emit } = ctx;
  const deleted = await timedStage(emit, 'delete', undefined, () =>
    deleteDeployed({
      api: deployApiFor(kube),
      configName: loaded.config.metadata.name,
      runId,
      kinds: records.flatMap((r) => r.kinds),
      namespaces: [...new Set([...records.flatMap((r) => r.namespaces), ...(options.namespaces ?? [])])],
      emit,
      signal: options.signal,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    }),
  );
  await forgetRecords(loaded.dir, (r) => r.runId === runId);
  return deleted;
}
