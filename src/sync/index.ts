/**
 * The sync stage: copies an artifact's changed files into the running containers of its pods
 * (pods this session deployed whose container runs the artifact's current image) with `tar -x`
 * through exec, and removes deleted ones with `rm`; a live update restarts the process in the
 * exec of the last of these. Containers without `tar` (or, on servers before
 * 1.30, without `sh` and `head`: see exec.ts) raise SyncUnavailable: the loop then rebuilds that
 * artifact instead, from then on.
 */
import { posix } from 'node:path';
import type { BuildResult } from '../build/types.js';
import { DevloopError, firstLine } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import type { SyncCopy, SyncRemove } from '../plan/index.js';
import { execInContainer, missingInShell, type ExecResult, type ExecTarget } from './exec.js';
import { COPIED_LINE, liveUpdateCommand, restartOutcome, restartTimeout, type RestartOutcome } from './supervisor.js';
import { isInside } from './map.js';
import { resolveInside } from '../util/inside.js';
import { syncArchive } from './tar.js';
import { sameImage } from '../registry/reference.js';

export class SyncUnavailable extends DevloopError {
  constructor(image: string, detail: string) {
    super('SYNC_UNAVAILABLE', `cannot sync into ${image}: ${detail}`, {
      hint: 'file sync needs `tar` in the image, and `sh` + `head` on servers before Kubernetes 1.30 (e.g. a busybox or alpine base); falling back to rebuilds',
    });
  }
}

export interface SyncRequest {
  kube: KubeClient;
  signal: AbortSignal;
  build: BuildResult;
  /** The artifact's context: every copied file must really lie inside it. */
  context: string;
  namespaces: string[];
  /** Selects this session's pods (devloop labels with the run id). */
  labelSelector: string;
  copy: SyncCopy[];
  remove: SyncRemove[];
  /**
   * Containers that may lack earlier syncs since the build (`current` says no: restarted by the
   * kubelet, a new pod) get these instead of `copy`/`remove`: everything synced since the build.
   */
  catchUp?: { copy: SyncCopy[]; remove: SyncRemove[]; current: (target: RunningContainer) => boolean };
  /**
   * Live update: each container that gets files restarts its supervised process in the same exec
   * (`copied`: its files are in place, the restart begins), waiting at most `timeoutMs` for it.
   */
  restart?: { timeoutMs: number; copied?: (target: RunningContainer) => void };
}

export interface SyncOutcome {
  /** "namespace/pod container" of every container synced. */
  containers: string[];
  /** Those containers. */
  targets: RunningContainer[];
  files: number;
  /** Live update: how the restart went in each container that got files. */
  restarts: { target: RunningContainer; outcome: RestartOutcome }[];
}

/** A container to sync into, with what tells a restarted one apart and the ports it serves. */
export interface RunningContainer extends ExecTarget {
  /** The runtime's container id: a new one after a kubelet restart, and in a new pod. */
  containerId: string;
  /** Its declared TCP container ports. */
  ports: number[];
}

export async function syncToPods(request: SyncRequest): Promise<SyncOutcome> {
  await checkSyncSources(request.context, [...request.copy, ...(request.catchUp?.copy ?? [])]);
  const targets = await findTargets(request);
  const { catchUp } = request;
  const outcomes = await Promise.all(targets.map((target) => syncContainer(request, target, catchUp && !catchUp.current(target) ? catchUp : request)));
  const restarts = targets.flatMap((target, i) => (outcomes[i] ? [{ target, outcome: outcomes[i] }] : []));
  return { containers: targets.map((t) => `${t.namespace}/${t.pod} ${t.container}`), targets, files: request.copy.length + request.remove.length, restarts };
}

function findTargets(request: SyncRequest): Promise<RunningContainer[]> {
  return runningContainers(request.kube, request.namespaces, request.labelSelector, (image) => sameImage(image, request.build));
}

/** Running containers (of live, Running pods matching `labelSelector`) whose image `matches`; sync and container hooks use them. */
export async function runningContainers(kube: KubeClient, namespaces: string[], labelSelector: string, matches: (image: string) => boolean): Promise<RunningContainer[]> {
  const targets: RunningContainer[] = [];
  for (const namespace of [...new Set(namespaces)]) {
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector });
    for (const pod of pods.items) {
      if (pod.metadata?.deletionTimestamp || pod.status?.phase !== 'Running') continue;
      const running = new Map((pod.status?.containerStatuses ?? []).filter((s) => s.state?.running).map((s) => [s.name, s.containerID ?? `${pod.metadata?.uid}/${s.name}/${s.restartCount}`]));
      for (const container of pod.spec?.containers ?? []) {
        const containerId = running.get(container.name);
        if (!containerId || !container.image || !matches(container.image)) continue;
        const ports = (container.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP').map((p) => p.containerPort);
        targets.push({ namespace, pod: pod.metadata!.name!, container: container.name, containerId, ports });
      }
    }
  }
  return targets;
}

/**
 * Refuses a changed file whose real location is outside the context (reached through a symlinked
 * folder such as `public/od -> /outside`), naming the file and the link, before anything is sent.
 * Only its folder is resolved: a file that is itself a symlink is sent as a link, never followed.
 */
export async function checkSyncSources(context: string, copies: readonly Pick<SyncCopy, 'local'>[]): Promise<void> {
  // Each folder once: a catch-up repeats this sync's files, and many files share a folder.
  const checked = new Set<string>();
  for (const { local } of copies) {
    const folder = posix.dirname(local);
    if (checked.has(folder)) continue;
    checked.add(folder);
    const inside = await resolveInside(context, folder);
    if (inside.ok || inside.reason === 'missing') continue; // a file deleted since the save: tar reports it
    const shown = posix.relative(context, local) || local;
    const link = inside.reason === 'path' ? '' : ` through the symlink "${inside.link}"`;
    throw new DevloopError('SYNC_OUTSIDE_CONTEXT', `refusing to sync "${shown}": it leads outside the artifact context${link}`, {
      hint: 'sync copies files from inside the context only; copy the file in, or make the link point inside it',
    });
  }
}

/** The bound of one exec that copies or removes files. */
const STEP_TIMEOUT_MS = 30_000;

/** One exec of a sync: a program, its arguments, its input (`tar`: and the folder it extracts into). */
interface Step {
  argv: string[];
  stdin?: Buffer;
  dest?: string;
}

async function syncContainer(request: SyncRequest, target: RunningContainer, ops: Pick<SyncRequest, 'copy' | 'remove'>): Promise<RestartOutcome | undefined> {
  const { kube, signal, build, restart } = request;
  const byDest = new Map<string, SyncCopy[]>();
  for (const copy of ops.copy) {
    if (!isInside(copy.dest, copy.path)) throw new DevloopError('SYNC_OUTSIDE_DEST', `refusing to sync ${copy.path}: outside ${copy.dest}`);
    byDest.set(copy.dest, [...(byDest.get(copy.dest) ?? []), copy]);
  }
  for (const removal of ops.remove) {
    if (!isInside(removal.dest, removal.path)) throw new DevloopError('SYNC_OUTSIDE_DEST', `refusing to remove ${removal.path}: outside ${removal.dest}`);
  }
  const steps: Step[] = [];
  for (const [dest, copies] of byDest) {
    steps.push({ argv: ['tar', '-x', '-C', dest, '-f', '-'], dest, stdin: await syncArchive(copies.map((c) => ({ local: c.local, name: posix.relative(dest, c.path) }))) });
  }
  // -r for every path: a deletion reported as a file may have been a folder; every path is inside dest.
  if (ops.remove.length > 0) steps.push({ argv: ['rm', '-rf', '--', ...ops.remove.map((r) => r.path)] });
  const last = steps.pop();
  for (const step of steps) await runStep(request, target, step);
  if (!last) return undefined;
  if (!restart) return void (await runStep(request, target, last));
  // The last step and the restart in one exec (the image has /bin/sh: it runs the supervisor).
  const step = `${last.dest ? `mkdir -p ${shellQuote(last.dest)} && ` : ''}${last.argv.map(shellQuote).join(' ')}`;
  let copied = false;
  const result = await execInContainer(kube, target, liveUpdateCommand(step, target), {
    ...(last.stdin ? { stdin: last.stdin } : {}),
    signal,
    timeoutMs: STEP_TIMEOUT_MS + restart.timeoutMs,
    onLine: (line, stream) => {
      if (stream !== 'stdout' || line !== COPIED_LINE || copied) return;
      copied = true;
      restart.copied?.(target);
    },
  }).catch((error: unknown) => {
    if (copied && error instanceof DevloopError && error.code === 'SYNC_FAILED' && /no answer within/.test(error.message)) throw restartTimeout(target, restart.timeoutMs, error);
    throw error;
  });
  if (copied) return restartOutcome(result, target);
  check(build.image, target, missingInShell(result, last.argv[0]!));
}

/** One step in its own exec; `tar` into a folder the image lacks creates it once and retries. */
async function runStep(request: SyncRequest, target: ExecTarget, step: Step): Promise<void> {
  const { kube, signal, build } = request;
  const run = (): Promise<ExecResult> => execInContainer(kube, target, step.argv, { ...(step.stdin ? { stdin: step.stdin } : {}), signal, timeoutMs: STEP_TIMEOUT_MS });
  let result = await run();
  if (step.dest && result.exitCode !== 0 && !result.notFound && /directory|No such file/i.test(result.stderr)) {
    // dest is not in the image yet: create it once and retry.
    check(build.image, target, await execInContainer(kube, target, ['mkdir', '-p', step.dest], { signal }));
    result = await run();
  }
  check(build.image, target, result);
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function check(image: string, target: ExecTarget, result: ExecResult): void {
  // notFound first: a missing `head` leaves the command reading empty input, which may exit 0.
  if (result.notFound) throw new SyncUnavailable(image, `the container ${target.pod}/${target.container} has no \`${result.missing}\``);
  if (result.exitCode === 0) return;
  const why = firstLine(result.stderr || result.message || `exit code ${result.exitCode}`);
  throw new DevloopError('SYNC_FAILED', `sync into ${target.pod}/${target.container} failed: ${why}`, {
    hint: 'check that the sync dest exists in the container and is writable by its user',
  });
}
