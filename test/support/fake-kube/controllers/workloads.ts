/**
 * StatefulSet, DaemonSet and Job controllers, reduced to what rollout/status checks observe.
 *  - StatefulSet: pods `<name>-<ordinal>` with controller-revision-hash `<name>-<hash>`;
 *    OrderedReady creates/deletes one at a time waiting for readiness, Parallel does not; rolling
 *    update replaces the highest ordinal first. No ControllerRevision objects, no PVCs.
 *  - DaemonSet: the cluster has one node, so one pod; a template change replaces it.
 *  - Job: runs pods up to parallelism until `completions` succeeded (Complete) or more than
 *    backoffLimit failed (Failed, BackoffLimitExceeded).
 */
import type { Registry } from '../registry.js';
import { rfc3339 } from '../registry.js';
import type { KubeObject } from '../types.js';
import type { EventRecorder } from './events.js';
import { isControlledBy, omitEmpty, podActive, podFromTemplate, podReady, setCondition, templateHash } from './util.js';

function writeStatus(registry: Registry, apiVersion: string, kind: string, object: KubeObject, status: Record<string, unknown>): void {
  try {
    registry.update(registry.res(apiVersion, kind), object.metadata.namespace, object.metadata.name!, { ...object, status }, { manager: 'kube-controller-manager', subresource: 'status' });
  } catch {
    // deleted meanwhile
  }
}

export class StatefulSetController {
  constructor(
    private readonly registry: Registry,
    private readonly events: EventRecorder,
  ) {}

  reconcile(): void {
    const podRes = this.registry.res('v1', 'Pod');
    for (const sts of this.registry.list(this.registry.res('apps/v1', 'StatefulSet'))) {
      if (sts.metadata.deletionTimestamp) continue;
      const name = sts.metadata.name!;
      const ns = sts.metadata.namespace!;
      const revision = `${name}-${templateHash(sts.spec.template)}`;
      const replicas: number = sts.spec.replicas ?? 1;
      const ordered = (sts.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
      const partition: number = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
      const pods = this.registry.list(podRes, ns).filter((p) => isControlledBy(p, sts));
      const byOrdinal = new Map<number, KubeObject>();
      for (const p of pods) byOrdinal.set(Number(p.metadata.name!.slice(name.length + 1)), p);
      const healthy = (p: KubeObject | undefined) => Boolean(p && podActive(p) && podReady(p));
      let busy = false;

      // scale down: highest ordinal first
      for (const ordinal of [...byOrdinal.keys()].filter((o) => o >= replicas).sort((a, b) => b - a)) {
        if (ordered && busy) break;
        const pod = byOrdinal.get(ordinal)!;
        if (!pod.metadata.deletionTimestamp) this.deletePod(sts, pod);
        busy = true;
      }
      // create missing ordinals (in order, waiting for the previous one to be ready when OrderedReady)
      for (let ordinal = 0; ordinal < replicas && !(ordered && busy); ordinal++) {
        const pod = byOrdinal.get(ordinal);
        if (!pod) {
          this.createPod(sts, ordinal, revision);
          busy = true;
        } else if (ordered && !healthy(pod)) busy = true;
      }
      // rolling update: replace the highest ordinal still on an old revision
      if (!busy && (sts.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
        for (let ordinal = replicas - 1; ordinal >= partition; ordinal--) {
          const pod = byOrdinal.get(ordinal);
          if (pod && !pod.metadata.deletionTimestamp && pod.metadata.labels?.['controller-revision-hash'] !== revision) {
            this.deletePod(sts, pod);
            break;
          }
        }
      }

      const current = this.registry.list(podRes, ns).filter((p) => isControlledBy(p, sts) && !p.metadata.deletionTimestamp);
      const updated = current.filter((p) => p.metadata.labels?.['controller-revision-hash'] === revision).length;
      const ready = current.filter(podReady).length;
      let currentRevision: string = sts.status?.currentRevision ?? revision;
      if (updated === replicas && ready === replicas && current.length === replicas) currentRevision = revision;
      const currentReplicas = current.filter((p) => p.metadata.labels?.['controller-revision-hash'] === currentRevision).length;
      writeStatus(this.registry, 'apps/v1', 'StatefulSet', sts, {
        observedGeneration: sts.metadata.generation,
        replicas: current.length,
        ...omitEmpty({ readyReplicas: ready, currentReplicas, updatedReplicas: updated }),
        currentRevision,
        updateRevision: revision,
        collisionCount: 0,
        availableReplicas: ready,
      });
    }
  }

  private createPod(sts: KubeObject, ordinal: number, revision: string): void {
    const podName = `${sts.metadata.name}-${ordinal}`;
    const pod = podFromTemplate(sts, sts.spec.template, {
      name: podName,
      labels: { 'controller-revision-hash': revision, 'statefulset.kubernetes.io/pod-name': podName, 'apps.kubernetes.io/pod-index': String(ordinal) },
    });
    pod.spec.hostname = podName;
    if (sts.spec.serviceName) pod.spec.subdomain = sts.spec.serviceName;
    try {
      this.registry.create(this.registry.res('v1', 'Pod'), sts.metadata.namespace, pod, { manager: 'kube-controller-manager' });
      this.events.record(sts, 'Normal', 'SuccessfulCreate', `create Pod ${podName} in StatefulSet ${sts.metadata.name} successful`, 'statefulset-controller');
    } catch {
      // the previous pod of that name is still terminating
    }
  }

  private deletePod(sts: KubeObject, pod: KubeObject): void {
    try {
      this.registry.delete(this.registry.res('v1', 'Pod'), pod.metadata.namespace, pod.metadata.name!, {});
      this.events.record(sts, 'Normal', 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${sts.metadata.name} successful`, 'statefulset-controller');
    } catch {
      // already gone
    }
  }
}

export class DaemonSetController {
  constructor(
    private readonly registry: Registry,
    private readonly events: EventRecorder,
  ) {}

  reconcile(): void {
    const podRes = this.registry.res('v1', 'Pod');
    for (const ds of this.registry.list(this.registry.res('apps/v1', 'DaemonSet'))) {
      if (ds.metadata.deletionTimestamp) continue;
      const hash = templateHash(ds.spec.template);
      const pods = this.registry.list(podRes, ds.metadata.namespace).filter((p) => isControlledBy(p, ds));
      const active = pods.filter(podActive);
      const terminating = pods.some((p) => p.metadata.deletionTimestamp);
      if (!active.length && !terminating) {
        const pod = podFromTemplate(ds, ds.spec.template, {
          labels: { 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) },
        });
        try {
          const created = this.registry.create(podRes, ds.metadata.namespace, pod, { manager: 'kube-controller-manager' });
          this.events.record(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`, 'daemonset-controller');
        } catch {
          // retried next pass
        }
      }
      for (const pod of active) {
        if (pod.metadata.labels?.['controller-revision-hash'] !== hash) {
          try {
            this.registry.delete(podRes, pod.metadata.namespace, pod.metadata.name!, {});
            this.events.record(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, 'daemonset-controller');
          } catch {
            // already gone
          }
        }
      }
      const live = this.registry.list(podRes, ds.metadata.namespace).filter((p) => isControlledBy(p, ds) && podActive(p));
      const ready = live.filter(podReady).length;
      const updated = live.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash).length;
      writeStatus(this.registry, 'apps/v1', 'DaemonSet', ds, {
        currentNumberScheduled: live.length,
        numberMisscheduled: 0,
        desiredNumberScheduled: 1,
        numberReady: ready,
        observedGeneration: ds.metadata.generation,
        ...omitEmpty({ updatedNumberScheduled: updated, numberAvailable: ready, numberUnavailable: 1 - ready }),
      });
    }
  }
}

export class JobController {
  constructor(
    private readonly registry: Registry,
    private readonly events: EventRecorder,
  ) {}

  reconcile(): void {
    const podRes = this.registry.res('v1', 'Pod');
    for (const job of this.registry.list(this.registry.res('batch/v1', 'Job'))) {
      if (job.metadata.deletionTimestamp) continue;
      const conditions: Record<string, unknown>[] = job.status?.conditions ?? [];
      const finished = conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
      const pods = this.registry.list(podRes, job.metadata.namespace).filter((p) => isControlledBy(p, job));
      const active = pods.filter(podActive);
      const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
      const failed = pods.filter((p) => p.status?.phase === 'Failed').length;
      const completions: number = job.spec.completions ?? 1;
      const parallelism: number = job.spec.parallelism ?? 1;
      const now = rfc3339();
      let next = conditions;
      let completionTime = job.status?.completionTime;
      if (!finished && !job.spec.suspend) {
        if (failed > (job.spec.backoffLimit ?? 6)) {
          for (const pod of active) this.deletePod(pod);
          next = setCondition(next, { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }, now, false);
          next = setCondition(next, { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }, now, false);
          this.events.record(job, 'Warning', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', 'job-controller');
        } else if (succeeded >= completions) {
          completionTime = now;
          next = setCondition(next, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, now, false);
          next = setCondition(next, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, now, false);
          this.events.record(job, 'Normal', 'Completed', 'Job completed', 'job-controller');
        } else {
          const want = Math.min(parallelism, completions - succeeded) - active.length;
          for (let i = 0; i < want; i++) {
            try {
              const pod = this.registry.create(podRes, job.metadata.namespace, podFromTemplate(job, job.spec.template, { generateName: `${job.metadata.name}-` }), { manager: 'kube-controller-manager' });
              this.events.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, 'job-controller');
            } catch {
              break;
            }
          }
        }
      }
      const stillActive = this.registry.list(podRes, job.metadata.namespace).filter((p) => isControlledBy(p, job) && podActive(p));
      writeStatus(this.registry, 'batch/v1', 'Job', job, {
        ...(next.length ? { conditions: next } : {}),
        startTime: job.status?.startTime ?? now,
        ...(completionTime ? { completionTime } : {}),
        ...omitEmpty({ active: stillActive.length, succeeded, failed }),
        ready: stillActive.filter(podReady).length,
        terminating: pods.filter((p) => p.metadata.deletionTimestamp).length,
        uncountedTerminatedPods: {},
      });
    }
  }

  private deletePod(pod: KubeObject): void {
    try {
      this.registry.delete(this.registry.res('v1', 'Pod'), pod.metadata.namespace, pod.metadata.name!, {});
    } catch {
      // already gone
    }
  }
}
