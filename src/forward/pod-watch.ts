/**
 * A live view of the pods matching a selector: list, then watch from the list's resourceVersion,
 * and on any watch end list again. Forwarding and log streaming both react to its changes, so pod
 * readiness is pushed by the API server rather than polled.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.js';
import type { PodCandidate } from './select.js';

export interface PodWatchOptions {
  namespace: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Called when list/watch starts failing (once until it recovers); it keeps retrying, backoff capped by maxBackoffMs. */
  onError?: (error: Error) => void;
  /** Called when a list succeeds again after failures (the API server is back), before listeners run. */
  onRecover?: () => void;
  /** Cap of the delay between relist attempts. */
  maxBackoffMs?: number;
}

export interface PodWatch {
  /** Pods currently known, with the order in which they were first seen. */
  pods(): PodCandidate[];
  /** `listener` runs after every change (and once after the first list). Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  close(): void;
}

const RETRY_START_MS = 100;

export function watchPods(kube: KubeClient, options: PodWatchOptions): PodWatch {
  const store = new Map<string, PodCandidate>();
  const listeners = new Set<() => void>();
  let seq = 0;
  let closed = false;
  let abortWatch: (() => void) | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  let backoff = RETRY_START_MS;
  let failing = false;

  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  const upsert = (pod: V1Pod): void => {
    const name = pod.metadata?.name;
    if (!name) return;
    const known = store.get(name);
    // A pod deleted and recreated under the same name (pod/x, StatefulSets) counts as new.
    const sameUid = known && known.pod.metadata?.uid === pod.metadata?.uid;
    store.set(name, { pod, seq: sameUid ? known.seq : ++seq });
  };

  const cycle = async (): Promise<void> => {
    if (closed) return;
    let resourceVersion: string | undefined;
    try {
      const list = await kube.core.listNamespacedPod({
        namespace: options.namespace,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      });
      if (closed) return;
      const names = new Set<string>();
      for (const pod of list.items) {
        upsert(pod);
        if (pod.metadata?.name) names.add(pod.metadata.name);
      }
      for (const name of [...store.keys()]) if (!names.has(name)) store.delete(name);
      resourceVersion = list.metadata?.resourceVersion;
      markSynced();
      if (failing) {
        failing = false;
        options.onRecover?.();
      }
      notify();
    } catch (error) {
      return retry(error);
    }

    const watch = new kube.lib.Watch(kube.kc);
    const startedAt = Date.now();
    let relist = false;
    const path = `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods`;
    const query: Record<string, string | boolean> = { allowWatchBookmarks: true };
    if (options.labelSelector) query.labelSelector = options.labelSelector;
    if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
    if (resourceVersion) query.resourceVersion = resourceVersion;
    const onEvent = (type: string, object: V1Pod): void => {
      if (closed) return;
      if (type === 'ADDED' || type === 'MODIFIED') upsert(object);
      else if (type === 'DELETED' && object.metadata?.name) store.delete(object.metadata.name);
      else if (type === 'ERROR') {
        // Usually 410 Gone (resourceVersion too old): list again.
        relist = true;
        abortWatch?.();
        return;
      } else return;
      notify();
    };
    const onDone = (error: unknown): void => {
      abortWatch = undefined;
      if (closed) return;
      if (Date.now() - startedAt > 10_000 || relist) backoff = RETRY_START_MS;
      if (error && !isAbort(error)) retry(error);
      else schedule(relist ? 0 : RETRY_START_MS);
    };
    try {
      const controller = await watch.watch(path, query, onEvent, onDone);
      if (closed) controller.abort();
      else abortWatch = () => controller.abort();
    } catch (error) {
      retry(error);
    }
  };

  const schedule = (delayMs: number): void => {
    if (closed) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => void cycle(), delayMs);
  };
  const retry = (error: unknown): void => {
    if (closed) return;
    // Say it once per outage, not on every retry: onRecover closes the streak.
    if (!failing) options.onError?.(error instanceof Error ? error : new Error(String(error)));
    failing = true;
    schedule(backoff);
    backoff = Math.min(backoff * 2, maxBackoff);
  };

  void cycle();

  return {
    pods: () => [...store.values()],
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    synced,
    close() {
      closed = true;
      clearTimeout(retryTimer);
      abortWatch?.();
      listeners.clear();
    },
  };
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /aborted/i.test(error.message));
}
