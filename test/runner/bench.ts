/**
 * A fake bench for `runDev`: every stage records its call in `calls` and does nothing else, the
 * watcher is driven by the test (`save`, `rebuildAll`), and failures are switched on per artifact.
 * The planner and the input rules are the real ones, on a real project folder.
 */
import type { BuildResult } from '../../src/build/types.js';
import type { ArtifactConfig, LoadedConfig } from '../../src/config/types.js';
import { DevloopError } from '../../src/errors.js';
import { EventBus } from '../../src/events/bus.js';
import type { DevloopEvent } from '../../src/events/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { FileChange } from '../../src/plan/index.js';
import { runDev, type DevContext, type DevOptions } from '../../src/runner/dev.js';
import type { DevStages } from '../../src/runner/dev-stages.js';
import type { WatchOptions, Watcher } from '../../src/watch/index.js';

/** The watcher `runDev` made last; `run` is the loop's entry, as the coalescer calls it. */
class FakeWatcher implements Watcher {
  ready = Promise.resolve();
  private last: Promise<void> = Promise.resolve();
  private waiting: FileChange[] = [];
  constructor(
    private readonly options: Omit<WatchOptions, 'scope'>,
    private readonly record: (call: string) => void,
  ) {}
  /** A batch, as the coalescer hands it over; resolves when its iteration ended. */
  save(changes: FileChange[]): Promise<void> {
    for (const change of changes) this.options.observe?.(change);
    return (this.last = this.options.run(changes, false));
  }
  flush(force?: boolean): void {
    const changes = this.waiting.splice(0);
    if (changes.length > 0 || force) this.last = this.options.run(changes, Boolean(force));
  }
  pending = (): number => this.waiting.length;
  drain = (): FileChange[] => this.waiting.splice(0);
  push = (change: FileChange): void => void this.waiting.push(change);
  watched = (): number => 1;
  idle = (): Promise<void> => this.last;
  async close(): Promise<void> {
    this.record('watch close');
  }
}

export interface BenchOptions {
  /** Overrides of the dev options (trigger, cleanup…). */
  dev?: Partial<DevOptions>;
}

export class Bench {
  readonly bus = new EventBus();
  readonly events: DevloopEvent[] = [];
  private calls: string[] = [];
  private version = 0;
  /** Artifacts whose next builds fail. */
  readonly failBuild = new Set<string>();
  /** Artifacts whose containers cannot take a sync (no tar). */
  readonly noTar = new Set<string>();
  /** Artifacts whose pods are gone: a sync finds no container. */
  readonly noContainers = new Set<string>();
  /** Artifacts whose images have no /bin/sh (no live update). */
  readonly noShell = new Set<string>();
  /** Artifacts whose live-updated process exits. */
  readonly crash = new Set<string>();
  /** What the next `loadConfig` returns (or throws). */
  config: LoadedConfig | Error;
  private readonly abort = new AbortController();
  private watchers: FakeWatcher[] = [];
  private done?: Promise<number>;

  constructor(config: LoadedConfig) {
    this.config = config;
    this.bus.on((event) => this.events.push(event));
  }

  readonly stages: DevStages = {
    watch: (_loaded, options) => {
      this.record('watch');
      const watcher = new FakeWatcher(options, (call) => this.record(call));
      this.watchers.push(watcher);
      return watcher;
    },
    beginSession: async () => this.record('begin session'),
    build: async (_ctx, builds) => {
      this.record(`build ${builds.map((b) => `${b.image}${b.compile ? '+compile' : ''}`).join(' ')}`);
      const version = ++this.version;
      const results: BuildResult[] = builds
        .filter((b) => !this.failBuild.has(b.image))
        .map((b) => ({ image: b.image, repo: b.image, tag: `v${version}`, ref: `${b.image}:v${version}`, cached: false }));
      const failed = builds.filter((b) => this.failBuild.has(b.image));
      if (failed.length === 0) return { results };
      return { results, failure: new DevloopError('BUILD_FAILED', `${failed.map((b) => b.image).join(', ')} failed to build`) };
    },
    sync: async (_ctx, job) => {
      const { image, copy, remove } = job.action;
      this.record(`sync ${image} ${[...copy.map((c) => c.path), ...remove.map((r) => `-${r.path}`)].join(' ')}`);
      if (this.noTar.has(image)) throw new DevloopError('SYNC_UNAVAILABLE', `cannot sync into ${image}: no tar`, { hint: 'falling back to rebuilds' });
      if (this.noContainers.has(image)) throw new DevloopError('SYNC_NO_CONTAINERS', `no running container of ${image}`);
      const targets = [{ namespace: 'ns', pod: `${image}-pod`, container: image, containerId: `${image}-c1`, ports: [8080] }];
      if (!job.restart) return { targets };
      this.record(`restart ${image} ${targets.map((t) => t.pod).join(' ')}`);
      job.restart.ended?.(targets);
      if (this.crash.has(image)) return { targets, restartFailure: new DevloopError('RESTART_CRASHED', `${image}: the live-updated process exited with code 2`) };
      return { targets };
    },
    liveCompile: async (_ctx, artifact) => {
      this.record(`compile ${artifact.image}`);
      return [{ local: `${artifact.context}/bin/app`, path: '/app/app', dest: '/app' }];
    },
    imageProcess: async (_ctx, build) => (this.noShell.has(build.image) ? { ok: false, reason: 'it has no /bin/sh' } : { ok: true, entrypoint: ['/app/app'], cmd: [] }),
    watchPods: async () => ({ close: () => undefined }),
    syncHooks: async () => undefined,
    deploy: async (_ctx, builds, _timeout, supervise) => {
      this.record(`deploy ${builds.map((b) => b.ref).sort().join(' ')}${supervise?.length ? ` supervising ${supervise.map((s) => s.ref).join(' ')}` : ''}`);
      return { applied: [], pruned: [], images: builds.map((b) => ({ image: b.image, ref: b.ref })) };
    },
    startForwards: async () => {
      this.record('forwards start');
      return {
        forwards: () => [],
        refresh: async () => this.record('forwards refresh'),
        endConnections: (pods) => this.record(`forwards end connections to ${pods.map((p) => p.pod).join(' ')}`),
        close: async () => this.record('forwards close'),
      };
    },
    startLogs: async () => {
      this.record('logs start');
      return { close: async () => this.record('logs close') };
    },
    cleanup: async () => this.record('cleanup'),
    endSession: async () => this.record('end session'),
  };

  private record(call: string): void {
    this.calls.push(call);
  }

  /** The calls since the last `take`. */
  take(): string[] {
    return this.calls.splice(0);
  }

  /** Starts `runDev` and waits until its first iteration ended. */
  async start(options: BenchOptions = {}): Promise<void> {
    const ctx: DevContext = {
      emit: (body) => this.bus.emit(body),
      bus: this.bus,
      signal: this.abort.signal,
      loadConfig: async () => {
        this.record('load config');
        if (this.config instanceof Error) throw this.config;
        return this.config;
      },
      kubeClientFor: async () => ({ contextName: 'fake', namespace: 'ns' }) as KubeClient,
    };
    const dev: DevOptions = { trigger: 'notify', debounceMs: 0, intervalMs: 0, cleanup: true, portForward: false, keys: false, ...options.dev };
    const ready = new Promise<void>((resolve) => {
      const stop = this.bus.on((event) => {
        if (event.type === 'notice' && event.message.includes('keys:')) resolve(void stop());
      });
    });
    this.done = runDev(ctx, dev, this.stages);
    await Promise.race([ready, this.done]);
  }

  private get watcher(): FakeWatcher {
    const watcher = this.watchers.at(-1);
    if (!watcher) throw new Error('runDev made no watcher');
    return watcher;
  }

  /** A batch of changes (absolute paths); resolves when the iteration (if any) ended. */
  save(...changes: FileChange[]): Promise<void> {
    return this.watcher.save(changes);
  }

  /** `r`: rebuild all. */
  rebuildAll(): Promise<void> {
    this.watcher.flush(true);
    return this.watcher.idle();
  }

  /** Ctrl-C; resolves with runDev's exit code. */
  async stop(): Promise<number> {
    this.abort.abort(new DevloopError('INTERRUPTED', 'interrupted'));
    return this.done!;
  }

  iterations(): Extract<DevloopEvent, { type: 'iteration' }>[] {
    return this.events.filter((e): e is Extract<DevloopEvent, { type: 'iteration' }> => e.type === 'iteration');
  }

  notices(level?: 'info' | 'warn'): string[] {
    return this.events.flatMap((e) => (e.type === 'notice' && (!level || e.level === level) ? [e.message] : []));
  }
}

/** hello: compiles, syncs public/** to /app/public; quote: no compile, no sync. */
export function artifacts(dir: string): ArtifactConfig[] {
  return [
    {
      image: 'hello',
      context: `${dir}/hello`,
      compile: { command: ['go', 'build', '-o', 'bin/hello', '.'], inputs: ['**/*.go'], env: {} },
      docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' },
      sync: [{ src: 'public/**', dest: '/app/public' }],
    },
    { image: 'quote', context: `${dir}/quote`, docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' }, sync: [] },
  ];
}
