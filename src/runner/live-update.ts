/**
 * Live update in `devloop dev` (execution only; the planner decides): which artifacts run under the
 * supervisor, what was synced into them since their build, which containers hold all of it, and
 * what a restart that failed left in the logs. Facts go back to the planner: `supervised` (a
 * restart is possible) and `stale` (a container restarted by the kubelet, or a new pod, lacks files
 * synced since the build).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { BuildResult } from '../build/types.js';
import type { LoadedConfig } from '../config/types.js';
import type { Emit } from '../events/bus.js';
import { DevloopError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { SyncCopy, SyncRemove } from '../plan/index.js';
import type { SupervisedImage } from '../render/supervise.js';
import { sameImage } from '../registry/reference.js';
import type { RunningContainer, SyncRequest } from '../sync/index.js';
import type { ImageProcess } from '../sync/image-process.js';
import type { RestartOutcome } from '../sync/supervisor.js';
import { splitTimestamp } from '../logs/cursor.js';

const LOG_LINES = 20;

type Op = { copy: SyncCopy } | { remove: SyncRemove };

export class LiveUpdates {
  /** Artifacts whose running containers were deployed under the supervisor. */
  readonly supervised = new Set<string>();
  /** Artifacts with a running container that lacks what was synced since the build. */
  readonly stale = new Set<string>();
  /** Per artifact: container path → the last copy or removal since the build. */
  private readonly ops = new Map<string, Map<string, Op>>();
  /** Per artifact: containers known to hold every op. */
  private readonly current = new Map<string, Set<string>>();
  /** Image process per built reference (an image never changes). */
  private readonly processes = new Map<string, ImageProcess>();
  private readonly warned = new Set<string>();

  /** A new build of `image`: its image has everything on disk, the record starts empty. */
  built(image: string): void {
    this.ops.delete(image);
    this.current.delete(image);
    this.stale.delete(image);
  }

  /** Artifacts with files synced since their last build: a pod restart (a redeploy) would lose them. */
  syncedSinceBuild(): ReadonlySet<string> {
    return new Set(this.ops.keys());
  }

  /** Config reloaded: what can be supervised is asked again. */
  reset(): void {
    this.warned.clear();
  }

  /**
   * Before a deploy: the images to supervise (artifacts with a `restart: true` sync rule whose
   * image has /bin/sh and a command). Says once per artifact and reason why one cannot be.
   */
  async supervision(loaded: LoadedConfig, builds: readonly BuildResult[], emit: Emit, inspect: (build: BuildResult) => Promise<ImageProcess>): Promise<SupervisedImage[]> {
    const images: SupervisedImage[] = [];
    for (const artifact of loaded.config.build.artifacts) {
      if (!artifact.sync.some((rule) => rule.restart)) continue;
      const build = builds.find((b) => b.image === artifact.image);
      if (!build) continue;
      let process = this.processes.get(build.ref);
      if (!process) {
        process = await inspect(build);
        this.processes.set(build.ref, process);
      }
      if (process.ok) images.push({ ref: build.ref, entrypoint: process.entrypoint, cmd: process.cmd });
      else if (!this.warned.has(`${artifact.image}\n${process.reason}`)) {
        this.warned.add(`${artifact.image}\n${process.reason}`);
        emit({
          type: 'notice',
          level: 'warn',
          message: `cannot live-update ${artifact.image}: ${process.reason}; its restart sync rules rebuild instead`,
          hint: 'live update runs your command under /bin/sh in the container: use a base image with a shell for development (busybox, alpine, distroless :debug)',
        });
      }
    }
    return images;
  }

  /** The deploy with `images` supervised is healthy. */
  deployed(loaded: LoadedConfig, builds: readonly BuildResult[], images: readonly SupervisedImage[]): void {
    this.supervised.clear();
    for (const build of builds) if (images.some((i) => i.ref === build.ref)) this.supervised.add(build.image);
    for (const artifact of loaded.config.build.artifacts) this.current.delete(artifact.image);
  }

  /** What a sync sends to containers that may lack earlier syncs: every op since the build, this one's included. */
  catchUp(image: string, copy: readonly SyncCopy[], remove: readonly SyncRemove[]): NonNullable<SyncRequest['catchUp']> {
    const ops = record(new Map(this.ops.get(image)), copy, remove);
    const current = this.current.get(image) ?? new Set();
    return {
      copy: [...ops.values()].flatMap((op) => ('copy' in op ? [op.copy] : [])),
      remove: [...ops.values()].flatMap((op) => ('remove' in op ? [op.remove] : [])),
      current: (target) => current.has(target.containerId),
    };
  }

  /** A sync reached `targets`: they hold every op now. */
  synced(image: string, copy: readonly SyncCopy[], remove: readonly SyncRemove[], targets: readonly RunningContainer[]): void {
    this.ops.set(image, record(this.ops.get(image) ?? new Map(), copy, remove));
    this.current.set(image, new Set(targets.map((t) => t.containerId)));
    this.stale.delete(image);
  }

  /**
   * The pods changed: a running container of a build that lacks ops (kubelet restart: new container
   * id; a new pod) makes its artifact stale. Returns true when one became stale.
   */
  notice(pods: readonly V1Pod[], builds: ReadonlyMap<string, BuildResult>): boolean {
    let found = false;
    for (const [image, ops] of this.ops) {
      const build = builds.get(image);
      if (!build || ops.size === 0 || this.stale.has(image)) continue;
      const current = this.current.get(image) ?? new Set();
      const lacking = pods.some((pod) => {
        if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running') return false;
        const images = new Map((pod.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']));
        return (pod.status?.containerStatuses ?? []).some(
          (s) => s.state?.running && s.containerID && sameImage(images.get(s.name) ?? '', build) && !current.has(s.containerID),
        );
      });
      if (lacking) {
        this.stale.add(image);
        found = true;
      }
    }
    return found;
  }
}

/** Adds a sync's removals, then its copies, to `ops` (the last op per container path wins); returns `ops`. */
function record(ops: Map<string, Op>, copy: readonly SyncCopy[], remove: readonly SyncRemove[]): Map<string, Op> {
  for (const r of remove) ops.set(r.path, { remove: r });
  for (const c of copy) ops.set(c.path, { copy: c });
  return ops;
}

/**
 * After a live update (the sync restarted the process in each container that got files): the
 * failure when a new process exited, with its last log lines emitted first (the container keeps
 * running for the next save); undefined when every one listens again.
 */
export async function restartFailure(
  kube: KubeClient,
  image: string,
  restarts: readonly { target: RunningContainer; outcome: RestartOutcome }[],
  options: { emit: Emit; sinceMs: number },
): Promise<DevloopError | undefined> {
  const crashed = restarts.find((r) => !r.outcome.ok);
  if (!crashed || crashed.outcome.ok) return undefined;
  const { target } = crashed;
  const lines = await lastLines(kube, target, options.sinceMs);
  for (const line of lines) options.emit({ type: 'log', line, pod: target.pod, container: target.container });
  return new DevloopError('RESTART_CRASHED', `${image}: the live-updated process in ${target.pod}/${target.container} exited with code ${crashed.outcome.exitCode}`, {
    hint: `${lines.length ? `its last ${lines.length} log lines are above; ` : ''}the container keeps running: fix the code and save, the next live update starts it again`,
  });
}

/** The container's log lines since the restart (all of its last lines when the clocks disagree). */
async function lastLines(kube: KubeClient, target: RunningContainer, sinceMs: number): Promise<string[]> {
  try {
    const text = await kube.core.readNamespacedPodLog({ name: target.pod, namespace: target.namespace, container: target.container, tailLines: 4 * LOG_LINES, timestamps: true });
    const all = String(text ?? '')
      .split('\n')
      .map((line) => splitTimestamp(line))
      .filter((line): line is NonNullable<typeof line> => line !== undefined)
      // The supervisor's own line ("the next live update starts it again") is not the process's.
      .filter((line) => !line.text.startsWith('devloop: the process exited'));
    // The node's clock may differ from ours by a little: a second of slack.
    const since = BigInt(sinceMs - 1000) * 1_000_000n;
    const recent = all.filter((line) => line.ns >= since);
    return (recent.length > 0 ? recent : all).map((line) => line.text).slice(-LOG_LINES);
  } catch {
    return [];
  }
}
