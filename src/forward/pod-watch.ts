/**
 * A live view of the pods matching a selector, through the one list+watch loop (deploy/watch.ts
 * `listWatch`), listing again on any watch end. Forwarding and log streaming both react to its
 * changes, so pod readiness is pushed by the API server rather than polled.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { listWatch } from '../deploy/watch.js';
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
  /** The pod named `name`, if it is currently known. */
  pod(name: string): V1Pod | undefined;
  /** `listener` runs after every change (and once after the first list). Returns an unsubscribe. */
  onChange(listener: () => void): () => void;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  close(): void;
}

export function watchPods(kube: KubeClient, options: PodWatchOptions): PodWatch {
  const store = new Map<string, PodCandidate>();
  const listeners = new Set<() => void>();
  let seq = 0;
  let markSynced!: () => void;
  const synced = new Promise<void>((resolve) => (markSynced = resolve));

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

  // Unbounded: it keeps trying through an API server outage (onError once, onRecover after).
  const watch = listWatch<V1Pod>({
    kube,
    path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods`,
    list: () => kube.core.listNamespacedPod({ namespace: options.namespace, labelSelector: options.labelSelector, fieldSelector: options.fieldSelector }),
    labelSelector: options.labelSelector,
    fieldSelector: options.fieldSelector,
    onList(pods) {
      const names = new Set<string>();
      for (const pod of pods) {
        upsert(pod);
        if (pod.metadata?.name) names.add(pod.metadata.name);
      }
      for (const name of [...store.keys()]) if (!names.has(name)) store.delete(name);
      markSynced();
      notify();
    },
    onEvent(type, pod) {
      if (type !== 'DELETED') upsert(pod);
      else if (pod.metadata?.name) store.delete(pod.metadata.name);
      else return;
      notify();
    },
    afterEnd: 'relist',
    maxBackoffMs: options.maxBackoffMs ?? 5_000,
    onError: options.onError,
    onRecover: options.onRecover,
  });

  return {
    pods: () => [...store.values()],
    pod: (name) => store.get(name)?.pod,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    synced,
    close() {
      watch.close();
      listeners.clear();
    },
  };
}
