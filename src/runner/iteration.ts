/**
 * One iteration of `devloop dev`: ask the planner, then execute its plan (syncs, then builds, then
 * deploy), reported as iteration start → ok | error. The runner records facts ("this container
 * cannot take a sync", "nothing runs this build") and asks the planner again; it never decides.
 */
import type { BuildResult } from '../build/types.js';
import type { LoadedConfig } from '../config/types.js';
import { collectStageDurations, reportFailure } from '../events/bus.js';
import { DevloopError, toDevloopError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { manifestInputFolders, manifestInputs, type ManifestInputs } from '../inputs/manifests.js';
import {
  isEmptyPlan,
  plan,
  planAfterSyncUnavailable,
  planAll,
  noSelfWrites,
  type ArtifactRules,
  type FileChange,
  type Plan,
  type PlanInput,
  type PlanState,
  type SelfWriteState,
  type SyncAction,
} from '../plan/index.js';
import { artifactRules, manifestMatcher } from '../plan/rules.js';
import type { DevContext } from './dev.js';
import type { DevStages, StageContext, SyncedContainers, SyncJob } from './dev-stages.js';
import type { DeployOutcome } from './pipeline.js';
import type { WriteObserver } from './write-observer.js';
import type { LiveUpdates } from './live-update.js';
import type { RunningContainer } from '../sync/index.js';

export interface LoopState {
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
  /** Fact for the planner: these artifacts' containers cannot take a sync. */
  noSync: Set<string>;
  n: number;
  /** The watcher must be rebuilt after this iteration (config reloaded). */
  rescope: boolean;
  lastStatus?: string;
  /** What changed while iterations ran: may be their own writes. */
  writes: WriteObserver;
  selfWrites: SelfWriteState;
  /** Changes the last plan held back (a self-write loop); they join the next batch. */
  held: FileChange[];
  /** Live update: supervised artifacts, what was synced since each build (the planner's `syncedSinceBuild`), which containers hold it. */
  live: LiveUpdates;
}

/** What an iteration works with: the session's state, its stages, and the loop's own hooks. */
export interface Loop {
  ctx: DevContext;
  stages: DevStages;
  state: LoopState;
  signal: AbortSignal;
  statusCheckTimeoutMs?: number;
  /** Re-scopes the watcher (after a reload or an ignore-file change). */
  rescope(): Promise<void>;
  /** After each successful deploy: start or refresh the forwards. */
  afterDeploy(): Promise<void>;
  /** A live update restarts the process in these containers: the forwards end their connections to them. */
  restarted?(targets: readonly RunningContainer[]): void;
}

export function rulesFor(loaded: LoadedConfig): Pick<LoopState, 'rules' | 'isManifest' | 'manifestFolders'> {
  const rendered = manifestInputs(loaded);
  return { rules: loaded.config.build.artifacts.map(artifactRules), isManifest: manifestMatcher(loaded, rendered), manifestFolders: manifestFolderKey(rendered) };
}

export function stageContext(loop: Loop): StageContext {
  const { state } = loop;
  return { loaded: state.loaded, kube: state.kube, runId: state.runId, emit: loop.ctx.emit, signal: loop.signal };
}

/** The namespaces this session's pods may run in: the default one and every one the last deploy applied to. */
export function namespacesOf(state: LoopState): string[] {
  const fromDeploy = (state.deployed?.applied ?? []).flatMap((o) => (o.namespace ? [o.namespace] : []));
  return [...new Set([state.kube.namespace, ...fromDeploy])];
}

/**
 * One iteration for a batch of changes, or for everything (`forced`: the first run, `r`) with
 * `reason`. A failure is reported here, once, and the loop goes on: the old version keeps serving.
 */
export async function iteration(loop: Loop, changes: FileChange[], forced: boolean, reason: string): Promise<void> {
  const { ctx, state, signal } = loop;
  if (signal.aborted) return;
  const { emit } = ctx;
  if (!forced) refreshManifestInputs(state);
  const decided = forced ? planAll({ artifacts: state.rules, reason, state }) : plan({ ...planInputs(state), changes: [...state.held, ...changes] });
  state.selfWrites = decided.selfWrites;
  state.held = decided.held;
  for (const note of decided.notes) emit({ type: 'notice', level: 'warn', message: note });
  if (isEmptyPlan(decided)) return; // nothing that matters changed (or held): no iteration at all

  const n = ++state.n;
  const started = performance.now();
  const { stages, stop: unsubscribe } = collectStageDurations(ctx.bus);
  emit({ type: 'iteration', n, status: 'start', reason: decided.reason, changed: decided.changed.length > 200 ? decided.changed.slice(0, 200) : decided.changed });
  try {
    let todo = decided;
    if (decided.reload) {
      await reload(loop);
      // The new config decides what to build: the planner again, with the new rules.
      todo = planAll({ artifacts: state.rules, reason: decided.reason, state });
    } else if (decided.refreshRules) {
      // An ignore file changed: fresh classifiers, and a watcher that enters the right folders.
      Object.assign(state, rulesFor(state.loaded));
      state.rescope = true;
    }
    if (state.rescope) await loop.rescope();
    await execute(loop, todo);
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

function planInputs(state: LoopState): Omit<PlanInput, 'changes'> {
  return { configFile: state.loaded.file, configDir: state.loaded.dir, isManifest: state.isManifest, artifacts: state.rules, state: planState(state) };
}

function planState(state: LoopState): PlanState {
  return {
    noSync: state.noSync,
    syncedSinceBuild: state.live.syncedSinceBuild(),
    changedDuringLast: state.writes.changedDuringLast(),
    selfWrites: state.selfWrites,
    built: new Set(state.builds.keys()),
    deployed: state.running,
    supervised: state.live.supervised,
    stale: state.live.stale,
  };
}

/** Executes a plan as it stands: its syncs, then (with what is left of it) its builds and deploy. */
async function execute(loop: Loop, decided: Plan): Promise<void> {
  const { state, stages, signal } = loop;
  const ctx = stageContext(loop);
  let unavailable = false;
  for (const action of decided.actions) {
    if (action.kind === 'sync') unavailable = !(await sync(loop, ctx, action)) || unavailable;
  }
  // Some containers cannot take a sync (a recorded fact now): the planner says what is left.
  const rest = unavailable ? planAfterSyncUnavailable(decided, { artifacts: state.rules, state: planState(state) }) : decided;

  const builds = rest.actions.flatMap((a) => (a.kind === 'rebuild' ? [{ image: a.image, compile: a.compile }] : []));
  if (builds.length > 0) {
    state.writes.startWriters();
    const outcome = await stages.build(ctx, builds);
    for (const result of outcome.results) {
      state.builds.set(result.image, result);
      state.live.built(result.image);
    }
    if (outcome.failure !== undefined) throw outcome.failure;
  }
  if (rest.deploy) {
    state.running = false; // until this deploy is healthy
    const built = [...state.builds.values()];
    // Artifacts with a restart rule run under the supervisor (dev only), when their image can.
    const supervise = await state.live.supervision(state.loaded, built, ctx.emit, (build) => stages.imageProcess(ctx, build));
    state.deployed = await stages.deploy(ctx, built, loop.statusCheckTimeoutMs, supervise);
    state.live.deployed(state.loaded, built, supervise);
    signal.throwIfAborted();
    await loop.afterDeploy();
    state.running = true;
  }
}

/** One planned sync with its hooks; false when the containers cannot take a sync (recorded in `noSync`). */
async function sync(loop: Loop, ctx: StageContext, action: SyncAction): Promise<boolean> {
  const { state, stages } = loop;
  const build = state.builds.get(action.image);
  const artifact = state.loaded.config.build.artifacts.find((a) => a.image === action.image);
  // The planner syncs only built and deployed artifacts of the current config.
  if (!build || !artifact) throw new DevloopError('INTERNAL', `planned a sync for ${action.image}, which has no build`);
  let job: SyncJob = { artifact, build, builds: [...state.builds.values()], action, namespaces: namespacesOf(state) };
  let synced: SyncedContainers;
  try {
    if (action.compile) {
      // Live update of compiled code: compile, then copy what it wrote that the restart rules cover.
      state.writes.startWriters();
      const outputs = await stages.liveCompile(ctx, artifact, state.rules.find((r) => r.image === action.image)?.sync ?? []);
      job = { ...job, action: { ...action, copy: [...action.copy, ...outputs] } };
    }
    // Containers that lack earlier syncs (restarted, new pods) get everything since the build.
    job = { ...job, catchUp: state.live.catchUp(action.image, job.action.copy, job.action.remove) };
    if (action.restart) job = { ...job, restart: { timeoutMs: loop.statusCheckTimeoutMs ?? state.loaded.config.deploy.statusCheck.timeout, ended: loop.restarted } };
    await stages.syncHooks(ctx, job, 'before');
    synced = await stages.sync(ctx, job);
  } catch (error) {
    const failure = toDevloopError(error);
    if (failure.code === 'SYNC_NO_CONTAINERS') state.running = false; // the next plan builds and deploys instead
    if (failure.code !== 'SYNC_UNAVAILABLE') throw error;
    state.noSync.add(action.image);
    ctx.emit({ type: 'notice', level: 'warn', message: `${failure.message}; rebuilding ${action.image} instead from now on`, hint: failure.hint });
    return false;
  }
  // The files are in place also when a restarted process exited: the next save copies only what changes then.
  state.live.synced(action.image, job.action.copy, job.action.remove, synced.targets);
  if (synced.restartFailure) throw synced.restartFailure;
  await stages.syncHooks(ctx, job, 'after');
  return true;
}

async function reload(loop: Loop): Promise<void> {
  const { ctx, state } = loop;
  let next: LoadedConfig;
  try {
    next = await ctx.loadConfig('dev');
  } catch (error) {
    const failure = toDevloopError(error);
    throw new DevloopError(failure.code, `devloop.yaml is invalid, still running the previous config: ${failure.message}`, { hint: failure.hint, cause: error });
  }
  state.loaded = next;
  Object.assign(state, rulesFor(next));
  // An artifact the new config no longer builds must not go on replacing its image in the manifests.
  const images = new Set(next.config.build.artifacts.map((a) => a.image));
  for (const image of state.builds.keys()) if (!images.has(image)) state.builds.delete(image);
  state.noSync.clear();
  state.live.reset();
  state.selfWrites = noSelfWrites;
  state.rescope = true;
  ctx.emit({ type: 'notice', level: 'info', message: 'config reloaded' });
}

/**
 * An edited kustomization (or Chart.yaml) may name other files: the manifest inputs are read again
 * for each batch, and the watcher is re-scoped when they live in other folders now.
 */
function refreshManifestInputs(state: LoopState): void {
  const { deploy } = state.loaded.config;
  if (deploy.kustomize.paths.length === 0 && deploy.helm.releases.length === 0) return;
  // Read once for both: the kustomization tree is parsed from disk, synchronously.
  const rendered = manifestInputs(state.loaded);
  state.isManifest = manifestMatcher(state.loaded, rendered);
  const folders = manifestFolderKey(rendered);
  if (folders !== state.manifestFolders) {
    state.manifestFolders = folders;
    state.rescope = true;
  }
}

function manifestFolderKey(rendered: ManifestInputs): string {
  return JSON.stringify(manifestInputFolders(rendered));
}
