/**
 * ReplicaSet controller: keeps spec.replicas active pods (created from the template with
 * generateName `<rs>-`, controller ownerReference), deletes surplus pods not-ready-first, and reports
 * replicas / fullyLabeledReplicas / readyReplicas / availableReplicas / observedGeneration.
 */
import type { Registry } from '../registry.js';
import type { KubeObject } from '../types.js';
import type { EventRecorder } from './events.js';
import { isControlledBy, omitEmpty, podActive, podFromTemplate, podReady } from './util.js';

export class ReplicaSetController {
  constructor(
    private readonly registry: Registry,
    private readonly events: EventRecorder,
  ) {}

  reconcile(): void {
    const res = this.registry.res('apps/v1', 'ReplicaSet');
    const podRes = this.registry.res('v1', 'Pod');
    for (const rs of this.registry.list(res)) {
      if (rs.metadata.deletionTimestamp) continue;
      const pods = this.registry.list(podRes, rs.metadata.namespace).filter((p) => isControlledBy(p, rs));
      const active = pods.filter(podActive);
      const want: number = rs.spec.replicas ?? 1;
      if (active.length < want) {
        for (let i = active.length; i < want; i++) {
          try {
            const pod = this.registry.create(podRes, rs.metadata.namespace, podFromTemplate(rs, rs.spec.template, { generateName: `${rs.metadata.name}-` }), { manager: 'kube-controller-manager' });
            this.events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, 'replicaset-controller');
          } catch {
            break;
          }
        }
      } else if (active.length > want) {
        const rank = (p: KubeObject) => (!p.spec?.nodeName ? 0 : p.status?.phase === 'Pending' ? 1 : !podReady(p) ? 2 : 3);
        const victims = [...active]
          .sort((a, b) => rank(a) - rank(b) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))
          .slice(0, active.length - want);
        for (const pod of victims) {
          try {
            this.registry.delete(podRes, pod.metadata.namespace, pod.metadata.name!, {});
            this.events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, 'replicaset-controller');
          } catch {
            // already gone
          }
        }
      }
      const ready = active.filter(podReady).length;
      const status = omitEmpty({
        fullyLabeledReplicas: active.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: rs.metadata.generation,
      });
      // `replicas` is not omitempty in ReplicaSetStatus.
      try {
        this.registry.update(res, rs.metadata.namespace, rs.metadata.name!, { ...rs, status: { replicas: active.length, ...status } }, { manager: 'kube-controller-manager', subresource: 'status' });
      } catch {
        // deleted meanwhile
      }
    }
  }
}
