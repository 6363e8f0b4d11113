/**
 * The pod a forward currently sends new connections to. Fed by a pod watch, so it switches to a
 * new Ready pod the moment the API server reports it, and `wait()` lets a connection that arrives
 * while nothing is Ready be held (bounded) instead of failed.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import { DevloopError } from '../errors.js';
import { watchPods, type PodWatch } from './pod-watch.js';
import type { ResolvedResource } from './resolve.js';
import { chooseServingPod, isPodServing } from './select.js';

export interface TargetPod {
  pod: string;
  port: number;
}

/**
 * What the pod watch says of one pod now: serving (Ready, not terminating, port resolves), listed but
 * not serving (terminating, not Ready), gone (deleted from the API, or every container of it stopped:
 * it will never answer again), or unknown (the watch is still listing).
 */
export type PodState = 'serving' | 'not-serving' | 'gone' | 'unknown';

export interface ForwardTarget {
  current(): TargetPod | undefined;
  podState(pod: string): PodState;
  /** Runs after every change the pod watch reports, whether or not the current target moved. */
  onPods(listener: () => void): () => void;
  /** Resolves once the pods were listed (so `current()` means something). */
  synced(): Promise<void>;
  /**
   * The current target, or the first one within `timeoutMs`; rejects with FORWARD_NO_READY_POD.
   * With `notPod`, a target on that pod does not count (it just failed).
   */
  wait(timeoutMs: number, signal?: AbortSignal, notPod?: string): Promise<TargetPod>;
  /** Runs after every change of the current target (to another pod, or to none). */
  onChange(listener: (next: TargetPod | undefined, previous: TargetPod | undefined) => void): () => void;
  /** Follows a re-read of the resource (after a redeploy): new selector or port mapping. */
  update(resolved: ResolvedResource): void;
  close(): void;
}

export function followTarget(
  kube: KubeClient,
  initial: ResolvedResource,
  onWatchError?: (error: Error) => void,
  onWatchRecover?: () => void,
): ForwardTarget {
  let resolved = initial;
  let watch: PodWatch;
  let current: TargetPod | undefined;
  const listeners = new Set<(next: TargetPod | undefined, previous: TargetPod | undefined) => void>();
  const waiters = new Set<(target: TargetPod) => void>();
  const podListeners = new Set<() => void>();
  let listed = false;

  const recompute = (): void => {
    const best = chooseServingPod(watch.pods(), resolved.portOn);
    const next = best ? { pod: best.candidate.pod.metadata!.name!, port: best.port } : undefined;
    if (next?.pod !== current?.pod || next?.port !== current?.port) {
      const previous = current;
      current = next;
      for (const listener of [...listeners]) listener(next, previous);
      if (next) for (const wake of [...waiters]) wake(next);
    }
    for (const listener of [...podListeners]) listener();
  };
  const startWatch = (): void => {
    listed = false;
    const started = watchPods(kube, {
      namespace: resolved.namespace,
      labelSelector: resolved.labelSelector,
      fieldSelector: resolved.fieldSelector,
      onError: onWatchError,
      onRecover: onWatchRecover,
    });
    watch = started;
    // A new watch (new selector) knows no pod until its first list (its first change): until then no pod counts as gone.
    watch.onChange(() => {
      if (watch === started) listed = true;
      recompute();
    });
  };
  startWatch();

  return {
    current: () => current,
    synced: () => watch.synced,
    podState(name) {
      const found = watch.pod(name);
      if (!found) return listed ? 'gone' : 'unknown';
      if (isPodServing(found) && resolved.portOn(found) !== undefined) return 'serving';
      return hasStopped(found) ? 'gone' : 'not-serving';
    },
    onPods(listener) {
      podListeners.add(listener);
      return () => podListeners.delete(listener);
    },
    wait(timeoutMs, signal, notPod) {
      if (current && current.pod !== notPod) return Promise.resolve(current);
      const closed = (): DevloopError => new DevloopError('FORWARD_CLOSED', `${resolved.ref.kind}/${resolved.ref.name}: forward closed`);
      if (signal?.aborted) return Promise.reject(closed());
      return new Promise<TargetPod>((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(wake);
          signal?.removeEventListener('abort', onAbort);
        };
        const wake = (target: TargetPod): void => {
          if (target.pod === notPod) return;
          done();
          resolve(target);
        };
        const onAbort = (): void => {
          done();
          reject(closed());
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new DevloopError('FORWARD_NO_READY_POD', `no Ready pod for ${resolved.ref.kind}/${resolved.ref.name} in namespace ${resolved.namespace} after ${formatWait(timeoutMs)}`, {
              hint: `check the pods: kubectl get pods -n ${resolved.namespace}${resolved.labelSelector ? ` -l ${resolved.labelSelector}` : ''}; portForward[].holdTimeout sets how long a connection waits`,
            }),
          );
        }, timeoutMs);
        waiters.add(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    update(next) {
      const selectorChanged = next.labelSelector !== resolved.labelSelector || next.fieldSelector !== resolved.fieldSelector || next.namespace !== resolved.namespace;
      resolved = next;
      if (selectorChanged) {
        watch.close();
        startWatch();
      } else recompute();
    },
    close() {
      watch.close();
      listeners.clear();
      podListeners.clear();
    },
  };
}

/** The pod finished, or it is terminating and the kubelet reported every container stopped: it never answers again. */
function hasStopped(pod: V1Pod): boolean {
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return true;
  const statuses = pod.status?.containerStatuses ?? [];
  return Boolean(pod.metadata?.deletionTimestamp) && statuses.length > 0 && statuses.every((c) => !c.state?.running);
}

/** "400 ms", "1.5s", "30s" */
export function formatWait(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms % 1000 ? 1 : 0)}s`;
}
