/**
 * `devloop dev`: a full run, then watch → plan → (sync | rebuild | redeploy | reload) per batch of
 * changes, until Ctrl-C / SIGTERM / `q`; then stop watching and forwarding and delete what this
 * session deployed. Orchestration only: deciding is `plan/`, noticing is `watch/`, copying is `sync/`.
 * A failed iteration is reported and the loop goes on: the old version keeps serving.
 */
import { randomBytes } from 'node:crypto';
import type { BuildResult } from '../build/types.js';
import type { LoadedConfig } from '../config/types.js';
import { collectStageDurations, reportFailure, timedStage, type Emit, type EventBus } from '../events/bus.js';
import { DevloopError, toDevloopError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { isEmptyPlan, noSelfWrites, plan, type ArtifactAction, type FileChange, type Plan, type SelfWriteState } from '../plan/index.js';
import { artifactRules, manifestMatcher } from '../plan/rules.js';
import { manifestInputFolders, manifestInputs } from '../inputs/manifests.js';
import type { ArtifactRules } from '../plan/index.js';
import { startWatcher, watchScope, type TriggerMode, type Watcher } from '../watch/index.js';
import { listenForKeys, type KeyCommand } from './dev-keys.js';
import { processAlive, readSession, removeSession, writeSession } from './dev-session.js';
import type { DeployOutcome, PipelineContext } from './pipeline.js';
import { WriteObserver } from './write-observer.js';
import { LiveUpdates } from './live-update.js';
import type { HookRun, HookWhen } from '../hooks/index.js';

export interface DevOptions {
  trigger: TriggerMode;
  debounceMs: number;
  intervalMs: number;
  /** Delete what this session deployed on exit. */
  cleanup: boolean;
  /** Forward every deployed Service besides the config's portForward entries. */
  portForward: boolean;
  statusCheckTimeoutMs?: number;
  /** Listen for keys / stdin commands (off in tests that drive the loop directly). */
  keys?: boolean;
}

export interface DevContext {
  emit: Emit;
  bus: EventBus;
  /** Aborted on the first Ctrl-C / SIGTERM. */
  signal: AbortSignal;
  loadConfig(command: string): Promise<LoadedConfig>;
  kubeClientFor(loaded: LoadedConfig): Promise<KubeClient>;
}

interface LoopState {
  loaded: LoadedConfig;
  kube: KubeClient;
  runId: string;
  rules: ArtifactRules[];
  isManifest: (rel: string) => boolean;
  /** The folders of the kustomization and chart inputs the watcher was scoped for. */
  manifestFolders: string;
  builds: Map<string, BuildResult>;
  deployed?: DeployOutcome;
  /** Fact for the planner: the last deploy succeeded and a sync found containers (false until the first deploy). */
  running: boolean;
  noSync: Set<string>;
  syncedSinceBuild: Set<string>;
  n: number;
  /** The watcher must be rebuilt after this iteration (config reloaded). */
  rescope: boolean;
  lastStatus?: string;
  /** What changed while iterations ran: may be their own writes. */
  writes: WriteObserver;
  selfWrites: SelfWriteState;
  /** Changes the last plan held back (a self-write loop); they join the next batch. */
  held: FileChange[];
  /** Live update: supervised artifacts, what was synced since each build, restarts. */
  live: LiveUpdates;
}

const DELETE_TIMEOUT_MS = 60_000;

export async function runDev(ctx: DevContext, options: DevOptions): Promise<number> {
  const { emit } = ctx;
  const loaded = await ctx.loadConfig('dev');
  const kube = await ctx.kubeClientFor(loaded);
  const quit = new AbortController();
  const signal = AbortSignal.any([ctx.signal, quit.signal]);
  const state: LoopState = {
    loaded,
    kube,
    runId: randomBytes(4).toString('hex'),
    ...rulesFor(loaded),
    builds: new Map(),
    running: false,
    noSync: new Set(),
    syncedSinceBuild: new Set(),
    n: 0,
    rescope: false,
    writes: new WriteObserver(),
    selfWrites: noSelfWrites,
    held: [],
    live: new LiveUpdates(),
  };

  await removeOrphans(state, emit, signal);
  await writeSession(loaded.dir, {
    runId: state.runId,
    pid: process.pid,
    configName: loaded.config.metadata.name,
    kubeContext: kube.contextName,
    startedAt: new Date().toISOString(),
  });
  emit({ type: 'notice', level: 'info', message: `dev session ${state.runId} started (context ${kube.contextName}, namespace ${kube.namespace})` });

  const { startLogStreams } = await import('../logs/index.js');
  const { deployedSelector, startPortForwards } = await import('../forward/index.js');
  const logs = startLogStreams({ kube, emit, signal, namespace: kube.namespace, labelSelector: deployedSelector(loaded.config.metadata.name, state.runId) });
  // A container the kubelet restarted (or a new pod) lacks what was synced since the build: an
  // iteration copies it in again (the planner sees the artifact as stale).
  const { watchPods } = await import('../forward/pod-watch.js');
  const pods = watchPods(kube, { namespace: kube.namespace, labelSelector: selectorOf(state) });
  pods.onChange(() => {
    if (state.live.notice(pods.pods().map((p) => p.pod), state.builds)) void run([], false);
  });
  let forwards: Awaited<ReturnType<typeof startPortForwards>> | undefined;
  state.live.onRestarted = (targets) => forwards?.endConnections(targets);
  const afterDeploy = async (): Promise<void> => {
    if (!forwards) {
      forwards = await startPortForwards({ kube: state.kube, loaded: state.loaded, emit, signal, forwardAllServices: options.portForward, runId: state.runId });
    } else await forwards.refresh();
  };

  const pipeline = (): PipelineContext => ({
    loaded: state.loaded,
    emit,
    signal,
    kube: state.kube,
    runId: state.runId,
    statusCheckTimeoutMs: options.statusCheckTimeoutMs,
  });

  let watcher: Watcher | undefined;
  // After a reload (or an ignore-file change) the watcher must look at other folders: the new one
  // is ready before the old one closes, and inherits its waiting changes, so no save is lost.
  const rescope = async (): Promise<void> => {
    state.rescope = false;
    const old = watcher;
    const next = newWatcher();
    await next.ready;
    watcher = next;
    for (const change of old?.drain() ?? []) next.push(change);
    await old?.close();
  };
  // One iteration at a time, also across a watcher hand-over (the new watcher's first batch waits).
  let serial: Promise<void> = Promise.resolve();
  const run = (changes: FileChange[], forced: boolean): Promise<void> => {
    const reason = state.n === 0 ? 'initial build and deploy' : undefined;
    serial = serial.then(() => iteration(ctx, state, pipeline, afterDeploy, rescope, signal, changes, forced, reason));
    return serial;
  };
  const newWatcher = (): Watcher =>
    startWatcher({
      scope: watchScope(state.loaded),
      trigger: options.trigger,
      debounceMs: options.debounceMs,
      intervalMs: options.intervalMs,
      run,
      observe: (change) => state.writes.observe(change.path),
      onError: (error) => emit({ type: 'notice', level: 'warn', message: `watcher: ${error.message}` }),
    });

  let stopKeys: (() => void) | undefined;
  try {
    // Watch from the start so saves during the first build are not lost; they queue one follow-up.
    watcher = newWatcher();
    await watcher.ready;
    watcher.flush(true);
    await watcher.idle();
    if (!signal.aborted) {
      const mode = options.trigger === 'manual' ? 'press Enter to apply changes' : `watching ${watcher.watched()} folders`;
      emit({ type: 'notice', level: 'info', message: `${mode}; keys: r rebuild all · s status · q quit · Ctrl-C stop and clean up` });
    }
    if (options.keys !== false) {
      stopKeys = listenForKeys((command: KeyCommand) => {
        if (command === 'quit') quit.abort(new DevloopError('QUIT', 'quit'));
        else if (command === 'rebuild') watcher?.flush(true);
        else if (command === 'trigger') watcher?.flush();
        else if (command === 'status') status(state, emit, forwards?.forwards() ?? [], watcher);
      });
    }
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    stopKeys?.();
    await watcher?.close();
    pods.close();
    await Promise.all([forwards?.close(), logs.close()]).catch(() => undefined);
    if (options.cleanup) await cleanupSession(state, emit);
    else emit({ type: 'notice', level: 'info', message: `left this session's objects deployed (--cleanup=false); \`devloop delete\` removes them` });
    await removeSession(state.loaded.dir, state.runId);
  }
  return 0;
}

function rulesFor(loaded: LoadedConfig): Pick<LoopState, 'rules' | 'isManifest' | 'manifestFolders'> {
  return { rules: loaded.config.build.artifacts.map(artifactRules), isManifest: manifestMatcher(loaded), manifestFolders: manifestFolderKey(loaded) };
}

/**
 * An edited kustomization (or Chart.yaml) may name other files: the manifest inputs are read again
 * for each batch, and the watcher is re-scoped when they live in other folders now.
 */
function refreshManifestInputs(state: LoopState): void {
  const { deploy } = state.loaded.config;
  if (deploy.kustomize.paths.length === 0 && deploy.helm.releases.length === 0) return;
  state.isManifest = manifestMatcher(state.loaded);
  const folders = manifestFolderKey(state.loaded);
  if (folders !== state.manifestFolders) {
    state.manifestFolders = folders;
    state.rescope = true;
  }
}

function manifestFolderKey(loaded: LoadedConfig): string {
  return JSON.stringify(manifestInputFolders(manifestInputs(loaded)));
}

/** One iteration: plan, then sync / build / deploy, reported as iteration start → ok | error. */
async function iteration(
  ctx: DevContext,
  state: LoopState,
  pipeline: () => PipelineContext,
  afterDeploy: () => Promise<void>,
  rescope: () => Promise<void>,
  signal: AbortSignal,
  changes: FileChange[],
  forced: boolean,
  forcedReason?: string,
): Promise<void> {
  forcedReason ??= 'rebuild all (r)';
  if (signal.aborted) return;
  const { emit } = ctx;
  if (!forced) refreshManifestInputs(state);
  const decided: Plan = forced
    ? { reload: false, redeploy: true, refreshRules: false, actions: [], changed: [], reason: forcedReason, notes: [], selfWrites: state.selfWrites, held: [] }
    : plan({
        changes: [...state.held, ...changes],
        configFile: state.loaded.file,
        configDir: state.loaded.dir,
        isManifest: state.isManifest,
        artifacts: state.rules,
        state: {
          noSync: state.noSync,
          syncedSinceBuild: state.syncedSinceBuild,
          changedDuringLast: state.writes.changedDuringLast(),
          selfWrites: state.selfWrites,
          built: new Set(state.builds.keys()),
          deployed: state.running,
          supervised: state.live.supervised,
          stale: state.live.stale,
        },
      });
  state.selfWrites = decided.selfWrites;
  state.held = decided.held;
  for (const note of decided.notes) emit({ type: 'notice', level: 'warn', message: note });
  if (!forced && isEmptyPlan(decided)) return; // nothing that matters changed (or held): no iteration at all

  const n = ++state.n;
  const started = performance.now();
  const { stages, stop: unsubscribe } = collectStageDurations(ctx.bus);
  emit({ type: 'iteration', n, status: 'start', reason: decided.reason, changed: decided.changed.length > 200 ? decided.changed.slice(0, 200) : decided.changed });
  try {
    if (decided.reload) await reload(ctx, state);
    else if (decided.refreshRules) {
      // An ignore file changed: fresh classifiers, and a watcher that enters the right folders.
      Object.assign(state, rulesFor(state.loaded));
      state.rescope = true;
    }
    const everything = forced || decided.reload;
    if (state.rescope) await rescope();
    await applyPlan(state, decided, everything, pipeline, afterDeploy, signal, emit);
    unsubscribe();
    state.lastStatus = `iteration ${n} ok: ${decided.reason}`;
    emit({ type: 'iteration', n, status: 'ok', durationMs: Math.round(performance.now() - started), reason: decided.reason, stages });
  } catch (error) {
    unsubscribe();
    if (signal.aborted) return; // shutting down: not a failure of the code
    // A dev iteration ends like a command: its failure is reported here, once.
    const failure = reportFailure(emit, error);
    state.lastStatus = `iteration ${n} failed: ${failure.message}`;
    emit({ type: 'iteration', n, status: 'error', durationMs: Math.round(performance.now() - started), reason: failure.message, stages });
    // A live-updated process that exited left no previous version running, only its container.
    const crashed = failure.code === 'RESTART_CRASHED';
    emit({ type: 'notice', level: 'info', message: crashed ? 'the containers keep running and wait for the next save' : 'the previous version keeps running; save again to retry' });
  } finally {
    state.writes.endIteration();
  }
}

async function reload(ctx: DevContext, state: LoopState): Promise<void> {
  let next: LoadedConfig;
  try {
    next = await ctx.loadConfig('dev');
  } catch (error) {
    const failure = toDevloopError(error);
    throw new DevloopError(failure.code, `devloop.yaml is invalid, still running the previous config: ${failure.message}`, { hint: failure.hint, cause: error });
  }
  state.loaded = next;
  Object.assign(state, rulesFor(next));
  state.noSync.clear();
  state.live.reset();
  state.selfWrites = noSelfWrites;
  state.rescope = true;
  ctx.emit({ type: 'notice', level: 'info', message: 'config reloaded' });
}

async function applyPlan(
  state: LoopState,
  decided: Plan,
  everything: boolean,
  pipeline: () => PipelineContext,
  afterDeploy: () => Promise<void>,
  signal: AbortSignal,
  emit: Emit,
): Promise<void> {
  const rebuild = new Map<string, boolean>(); // image → compile
  const syncs: Extract<ArtifactAction, { kind: 'sync' }>[] = [];
  if (everything) for (const artifact of state.loaded.config.build.artifacts) rebuild.set(artifact.image, true);
  else {
    for (const action of decided.actions) {
      if (action.kind === 'rebuild') rebuild.set(action.image, action.compile);
      else syncs.push(action);
    }
  }

  for (const action of syncs) {
    const build = state.builds.get(action.image);
    // The planner syncs only built and deployed artifacts.
    if (!build) throw new DevloopError('INTERNAL', `planned a sync for ${action.image}, which has no build`);
    const { syncToPods, SyncUnavailable } = await import('../sync/index.js');
    const artifact = state.loaded.config.build.artifacts.find((a) => a.image === action.image)!;
    const hooks = artifact.hooks?.sync;
    const hookRun = async (when: HookWhen): Promise<void> => {
      if (!hooks?.[when].length) return;
      const { runHooks } = await import('../hooks/index.js');
      await runHooks(hooks[when], syncHookRun(state, artifact.image, artifact.context, build, action, when, signal, emit));
    };
    try {
      const copy = [...action.copy];
      if (action.compile) {
        // Live update of compiled code: compile, then copy what it wrote that the restart rules cover.
        const { runCompile } = await import('../compile/index.js');
        const { compiledOutputs } = await import('../sync/outputs.js');
        const started = Date.now();
        state.writes.startWriters();
        await timedStage(emit, 'compile', action.image, () => runCompile({ artifact, emit, signal }));
        const rules = state.rules.find((r) => r.image === action.image)!.sync;
        copy.push(...(await compiledOutputs(artifact.context, rules, started)));
      }
      await hookRun('before');
      const catchUp = state.live.catchUp(action.image, copy, action.remove);
      const synced = await timedStage(emit, 'sync', action.image, () =>
        syncToPods({
          kube: state.kube,
          signal,
          build,
          context: artifact.context,
          namespaces: namespacesOf(state),
          labelSelector: selectorOf(state),
          copy,
          remove: action.remove,
          catchUp,
        }).then((outcome) => {
          if (outcome.containers.length === 0) {
            // Nothing received the files: report the fact; the next plan builds and deploys instead.
            state.running = false;
            throw new DevloopError('SYNC_NO_CONTAINERS', `no running container of ${action.image} (this session, current image) to copy ${outcome.files} file(s) into`, {
              hint: 'the next save rebuilds and deploys it; press r to do that now',
            });
          }
          const lacking = outcome.targets.filter((t) => !catchUp.current(t)).length;
          const since = catchUp.copy.length + catchUp.remove.length;
          const caughtUp = lacking > 0 && since > outcome.files ? `; all ${since} synced since the build into ${lacking} container(s) that lacked them` : '';
          emit({ type: 'progress', stage: 'sync', artifact: action.image, message: `${outcome.files} file(s) into ${outcome.containers.length} container(s)${caughtUp}` });
          return outcome;
        }),
      );
      state.syncedSinceBuild.add(action.image);
      // Restart where something was copied: every container, or the ones that lacked earlier syncs.
      const changed = copy.length + action.remove.length > 0 ? synced.targets : synced.targets.filter((t) => !catchUp.current(t));
      state.live.synced(action.image, copy, action.remove, synced.targets);
      if (action.restart && changed.length > 0) {
        const timeoutMs = pipeline().statusCheckTimeoutMs ?? state.loaded.config.deploy.statusCheck.timeout;
        await timedStage(emit, 'restart', action.image, () => state.live.restart(state.kube, action.image, changed, emit, signal, timeoutMs));
      }
      await hookRun('after');
    } catch (error) {
      if (!(error instanceof SyncUnavailable)) throw error;
      state.noSync.add(action.image);
      emit({ type: 'notice', level: 'warn', message: `${error.message}; rebuilding ${action.image} instead from now on`, hint: error.hint });
      rebuild.set(action.image, false);
    }
  }

  if (rebuild.size > 0) {
    const { buildArtifacts, BuildFailedError } = await import('../build/index.js');
    const only = [...rebuild.keys()];
    const skipCompile = only.filter((image) => rebuild.get(image) === false);
    state.writes.startWriters();
    try {
      const results = await buildArtifacts({ loaded: state.loaded, emit, signal, only, skipCompile, kube: async () => state.kube, runId: state.runId });
      remember(state, results);
    } catch (error) {
      if (error instanceof BuildFailedError) remember(state, error.results);
      throw error;
    }
  }
  if (rebuild.size > 0 || decided.redeploy) {
    const { deployBuilt } = await import('./pipeline.js');
    state.running = false; // until this deploy is healthy
    const builds = [...state.builds.values()];
    const supervise = await state.live.supervision(state.loaded, builds, emit, signal);
    state.deployed = await deployBuilt({ ...pipeline(), supervise }, builds);
    state.live.deployed(state.loaded, builds, supervise);
    signal.throwIfAborted();
    await afterDeploy();
    state.running = true;
  }
}

function remember(state: LoopState, results: readonly BuildResult[]): void {
  for (const result of results) {
    state.builds.set(result.image, result);
    state.syncedSinceBuild.delete(result.image);
    state.live.built(result.image);
  }
}

/** Sync hooks run in the artifact's context with DEVLOOP_IMAGE(_REF), DEVLOOP_SYNC_FILES (container paths), the kube context and namespace. */
function syncHookRun(
  state: LoopState,
  image: string,
  context: string,
  build: BuildResult,
  action: Extract<ArtifactAction, { kind: 'sync' }>,
  when: HookWhen,
  signal: AbortSignal,
  emit: Emit,
): HookRun {
  return {
    phase: 'sync',
    when,
    artifact: image,
    cwd: context,
    env: {
      DEVLOOP_IMAGE: image,
      DEVLOOP_IMAGE_REF: build.ref,
      DEVLOOP_SYNC_FILES: [...action.copy.map((c) => c.path), ...action.remove.map((r) => r.path)].join(' '),
      DEVLOOP_KUBE_CONTEXT: state.kube.contextName,
      DEVLOOP_NAMESPACE: state.kube.namespace,
    },
    emit,
    signal,
    cluster: async () => ({
      kube: state.kube,
      namespaces: namespacesOf(state),
      labelSelector: selectorOf(state),
      buildConfig: state.loaded.config.build,
      builds: [...state.builds.values()],
    }),
  };
}

function namespacesOf(state: LoopState): string[] {
  const fromDeploy = (state.deployed?.applied ?? []).flatMap((o) => (o.namespace ? [o.namespace] : []));
  return [...new Set([state.kube.namespace, ...fromDeploy])];
}

function selectorOf(state: LoopState): string {
  return `devloop.dev/config=${state.loaded.config.metadata.name},devloop.dev/run-id=${state.runId}`;
}

function status(state: LoopState, emit: Emit, forwards: { resource: string; address: string; localPort: number }[], watcher: Watcher | undefined): void {
  const parts = [
    state.lastStatus ?? 'no iteration finished yet',
    `images: ${[...state.builds.values()].map((b) => b.ref).join(', ') || 'none'}`,
    `forwards: ${forwards.map((f) => `${f.resource} → http://${f.address}:${f.localPort}`).join(', ') || 'none'}`,
    `pending changes: ${watcher?.pending() ?? 0}`,
  ];
  emit({ type: 'notice', level: 'info', message: parts.join(' · ') });
}

/** Deletes what this session deployed; bounded, and not tied to the (aborted) session signal. */
async function cleanupSession(state: LoopState, emit: Emit): Promise<void> {
  const { deleteDeployed } = await import('../deploy/delete.js');
  const { deployApiFor } = await import('./pipeline.js');
  const { forgetRecords, readRecords } = await import('../deploy/record.js');
  const ours = (await readRecords(state.loaded.dir)).filter((r) => r.runId === state.runId);
  try {
    await timedStage(emit, 'delete', undefined, () =>
      deleteDeployed({
        api: deployApiFor(state.kube),
        configName: state.loaded.config.metadata.name,
        runId: state.runId,
        kinds: ours.flatMap((r) => r.kinds),
        namespaces: [...new Set([...ours.flatMap((r) => r.namespaces), ...namespacesOf(state)])],
        emit,
        signal: AbortSignal.timeout(DELETE_TIMEOUT_MS),
        timeoutMs: DELETE_TIMEOUT_MS,
      }),
    );
    await forgetRecords(state.loaded.dir, (r) => r.runId === state.runId);
  } catch (error) {
    const failure = toDevloopError(error);
    emit({ type: 'error', code: failure.code, message: `cleanup failed: ${failure.message}`, hint: 'run `devloop delete` to remove what is left' });
  }
}

/**
 * A session that died without cleaning up (kill -9, a crash) left objects labelled with its run
 * id: delete them before deploying again. A session that is still alive is left alone.
 */
async function removeOrphans(state: LoopState, emit: Emit, signal: AbortSignal): Promise<void> {
  const { forgetRecords, readRecords, sessionRecords } = await import('../deploy/record.js');
  const previous = await readSession(state.loaded.dir);
  if (previous && processAlive(previous.pid)) {
    throw new DevloopError('DEV_ALREADY_RUNNING', `another \`devloop dev\` (pid ${previous.pid}) is running for this project`, {
      hint: 'stop it first; two sessions would fight over the same objects',
    });
  }
  const recorded = sessionRecords(await readRecords(state.loaded.dir), state.loaded.config.metadata.name, state.kube.contextName);
  const runIds = new Set(recorded.map((r) => r.runId!));
  if (previous && previous.configName === state.loaded.config.metadata.name && previous.kubeContext === state.kube.contextName) runIds.add(previous.runId);
  if (runIds.size === 0) return;
  const { deleteDeployed } = await import('../deploy/delete.js');
  const { deployApiFor } = await import('./pipeline.js');
  for (const runId of runIds) {
    const own = recorded.filter((r) => r.runId === runId);
    const deleted = await timedStage(emit, 'delete', undefined, () =>
      deleteDeployed({
        api: deployApiFor(state.kube),
        configName: state.loaded.config.metadata.name,
        runId,
        kinds: own.flatMap((r) => r.kinds),
        namespaces: own.flatMap((r) => r.namespaces),
        emit,
        signal,
      }),
    );
    await forgetRecords(state.loaded.dir, (r) => r.runId === runId);
    if (deleted.length > 0) emit({ type: 'notice', level: 'info', message: `removed ${deleted.length} object(s) left by an earlier dev session (run ${runId})` });
  }
}
