/**
 * Pods ready per workload, for the live status: counted from the pods the log streams already watch
 * (no second watch), reported as `pods` events when a workload's counts change.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Emit } from '../events/bus.js';
import type { PodsEvent } from '../events/types.js';
import { isPodReady } from '../forward/select.js';

type Counts = Omit<PodsEvent, 'type'>;

/** "deployment/hello" for a pod of ReplicaSet hello-5f6db6b598; the owner for other controllers; "pod/x" for a bare pod. */
export function workloadOf(pod: V1Pod): string {
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return `pod/${pod.metadata?.name ?? ''}`;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) return `deployment/${owner.name.slice(0, -hash.length - 1)}`;
  return `${owner.kind.toLowerCase()}/${owner.name}`;
}

function workloadReadiness(pods: readonly V1Pod[]): Counts[] {
  const counts = new Map<string, Counts>();
  for (const pod of pods) {
    const namespace = pod.metadata?.namespace ?? '';
    const workload = workloadOf(pod);
    const key = `${namespace}/${workload}`;
    const entry = counts.get(key) ?? { workload, namespace, ready: 0, total: 0 };
    counts.set(key, entry);
    if (pod.metadata?.deletionTimestamp) continue; // terminating: on its way out
    entry.total += 1;
    if (isPodReady(pod)) entry.ready += 1;
  }
  return [...counts.values()];
}

/** Emits a `pods` event for each workload whose counts changed since the last call (0/0 once when its pods are gone). */
export function readinessReporter(emit: Emit): (pods: readonly V1Pod[]) => void {
  const last = new Map<string, Counts>();
  return (pods) => {
    const now = new Map(workloadReadiness(pods).map((c) => [`${c.namespace}/${c.workload}`, c]));
    for (const [key, counts] of now) {
      const before = last.get(key);
      if (before && before.ready === counts.ready && before.total === counts.total) continue;
      last.set(key, counts);
      emit({ type: 'pods', ...counts });
    }
    for (const [key, { workload, namespace }] of last) {
      if (now.has(key)) continue;
      last.delete(key);
      emit({ type: 'pods', workload, namespace, ready: 0, total: 0 });
    }
  };
}
