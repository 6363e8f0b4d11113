/**
 * `devloop dev`: a full run, then watch → plan → (sync | rebuild | redeploy | reload) per batch of
 * changes, until Ctrl-C / SIGTERM / `q`; then stop watching and forwarding and delete what this
 * session deployed. Orchestration only: deciding is `plan/`, one iteration is `iteration.ts`, the
 * stages it runs (build, sync, deploy, forwards, logs, cleanup) come in as `DevStages`.
 */
import { randomBytes } from 'node:crypto';
import type { LoadedConfig } from '../config/types.js';
import type { Emit, EventBus } from '../events/bus.js';
import { DevloopError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { noSelfWrites, type FileChange } from '../plan/index.js';
import type { TriggerMode, Watcher } from '../watch/index.js';
import { listenForKeys, type KeyCommand } from './dev-keys.js';
import { realDevStages, type DevForwards, type DevStages } from './dev-stages.js';
import { iteration, namespacesOf, rulesFor, stageContext, type Loop, type LoopState } from './iteration.js';
import { WriteObserver } from './write-observer.js';
import { LiveUpdates } from './live-update.js';

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

export async function runDev(ctx: DevContext, options: DevOptions, stages: DevStages = realDevStages): Promise<number> {
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
    n: 0,
    rescope: false,
    writes: new WriteObserver(),
    selfWrites: noSelfWrites,
    held: [],
    live: new LiveUpdates(),
  };

  let watcher: Watcher | undefined;
  let forwards: DevForwards | undefined;
  const loop: Loop = {
    ctx,
    stages,
    state,
    signal,
    statusCheckTimeoutMs: options.statusCheckTimeoutMs,
    // After a reload (or an ignore-file change) the watcher must look at other folders: the new one
    // is ready before the old one closes, and inherits its waiting changes, so no save is lost.
    async rescope() {
      state.rescope = false;
      const old = watcher;
      const next = newWatcher();
      await next.ready;
      watcher = next;
      for (const change of old?.drain() ?? []) next.push(change);
      await old?.close();
    },
    async afterDeploy() {
      if (!forwards) forwards = await stages.startForwards(stageContext(loop), options.portForward);
      else await forwards.refresh();
    },
    restarted: (targets) => forwards?.endConnections(targets),
  };

  await stages.beginSession(stageContext(loop));
  emit({ type: 'notice', level: 'info', message: `dev session ${state.runId} started (context ${kube.contextName}, namespace ${kube.namespace})` });
  const logs = await stages.startLogs(stageContext(loop));

  // One iteration at a time, also across a watcher hand-over (the new watcher's first batch waits).
  let serial: Promise<void> = Promise.resolve();
  const run = (changes: FileChange[], forced: boolean): Promise<void> => {
    serial = serial.then(() => iteration(loop, changes, forced, state.n === 0 ? 'initial build and deploy' : 'rebuild all (r)'));
    return serial;
  };
  const newWatcher = (): Watcher =>
    stages.watch(state.loaded, {
      trigger: options.trigger,
      debounceMs: options.debounceMs,
      intervalMs: options.intervalMs,
      run,
      observe: (change) => state.writes.observe(change.path),
      onPending: (count) => emit({ type: 'pending', count }),
      onError: (error) => emit({ type: 'notice', level: 'warn', message: `watcher: ${error.message}` }),
    });

  // A container the kubelet restarted (or a new pod) lacks what was synced since the build: an
  // iteration copies it in again (the planner sees the artifact as stale).
  const pods = await stages.watchPods(stageContext(loop), (list) => {
    if (state.live.notice(list, state.builds)) void run([], false);
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
        else if (command === 'status') status(state, emit, forwards, watcher);
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
    if (options.cleanup) await stages.cleanup(stageContext(loop), namespacesOf(state));
    else emit({ type: 'notice', level: 'info', message: `left this session's objects deployed (--cleanup=false); \`devloop delete\` removes them` });
    await stages.endSession(stageContext(loop));
  }
  return 0;
}

function status(state: LoopState, emit: Emit, forwards: DevForwards | undefined, watcher: Watcher | undefined): void {
  const parts = [
    state.lastStatus ?? 'no iteration finished yet',
    `images: ${[...state.builds.values()].map((b) => b.ref).join(', ') || 'none'}`,
    `forwards: ${(forwards?.forwards() ?? []).map((f) => `${f.resource} → http://${f.address}:${f.localPort}`).join(', ') || 'none'}`,
    `pending changes: ${watcher?.pending() ?? 0}`,
  ];
  emit({ type: 'notice', level: 'info', message: parts.join(' · ') });
}
