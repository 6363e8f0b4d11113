/**
 * Deployment controller (pkg/controller/deployment, much reduced): one ReplicaSet per pod template
 * (`<name>-<pod-template-hash>`), rolling update within maxSurge/maxUnavailable or Recreate, revision
 * annotations, and the status clients wait on: observedGeneration, replicas, updatedReplicas,
 * readyReplicas, availableReplicas, unavailableReplicas (zeros omitted, like the real JSON) and the
 * Available / Progressing conditions, including ProgressDeadlineExceeded after
 * spec.progressDeadlineSeconds without progress (measured in ms, so small values work in tests).
 */
import type { Registry } from '../registry.js';
import { rfc3339 } from '../registry.js';
import type { KubeObject } from '../types.js';
import type { EventRecorder } from './events.js';
import { controllerRef, intOrPercent, isControlledBy, omitEmpty, templateHash } from './util.js';

const REVISION = 'deployment.kubernetes.io/revision';

export class DeploymentController {
  /** uid → when the rollout last progressed (ms) and the status tuple then. */
  private readonly progress = new Map<string, { at: number; tuple: string }>();

  constructor(
    private readonly registry: Registry,
    private readonly events: EventRecorder,
  ) {}

  reconcile(): void {
    const res = this.registry.res('apps/v1', 'Deployment');
    for (const d of this.registry.list(res)) {
      if (d.metadata.deletionTimestamp) continue;
      this.sync(d);
    }
  }

  private sync(d: KubeObject): void {
    const rsRes = this.registry.res('apps/v1', 'ReplicaSet');
    const ns = d.metadata.namespace!;
    const desired: number = d.spec.replicas ?? 1;
    const template = structuredClone(d.spec.template ?? {});
    const hash = templateHash(template);
    let rss = this.registry.list(rsRes, ns).filter((rs) => isControlledBy(rs, d) && !rs.metadata.deletionTimestamp);
    const revisions = rss.map((rs) => Number(rs.metadata.annotations?.[REVISION] ?? 0));
    const maxRevision = revisions.length ? Math.max(...revisions) : 0;
    let newRS = rss.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    let created = false;

    const rolling = (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    let maxSurge = rolling ? intOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%', desired, true) : 0;
    let maxUnavailable = rolling ? intOrPercent(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', desired, false) : 0;
    if (rolling && maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    if (!rolling) maxSurge = 0;

    if (!newRS) {
      const labels = { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash };
      const oldActive = rss.some((rs) => (rs.spec.replicas ?? 0) > 0);
      const body: KubeObject = {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels,
          annotations: {
            [REVISION]: String(maxRevision + 1),
            'deployment.kubernetes.io/desired-replicas': String(desired),
            'deployment.kubernetes.io/max-replicas': String(desired + maxSurge),
          },
          ownerReferences: [controllerRef(d)],
        },
        spec: {
          replicas: oldActive ? 0 : desired,
          ...(d.spec.minReadySeconds ? { minReadySeconds: d.spec.minReadySeconds } : {}),
          selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
          template: { ...template, metadata: { ...(template.metadata ?? {}), labels } },
        },
      };
      try {
        newRS = this.registry.create(rsRes, ns, body, { manager: 'kube-controller-manager' });
        created = true;
        if (body.spec.replicas > 0) this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${newRS.metadata.name} to ${body.spec.replicas}`, 'deployment-controller');
      } catch {
        return;
      }
      rss = [...rss, newRS];
    } else if (Number(newRS.metadata.annotations?.[REVISION] ?? 0) < maxRevision) {
      // Rolled back to an older template: it becomes the newest revision again.
      newRS = this.scale(newRS, newRS.spec.replicas, d, { [REVISION]: String(maxRevision + 1) });
    }
    const oldRSs = rss.filter((rs) => rs.metadata.uid !== newRS!.metadata.uid);
    const replicasOf = (rs: KubeObject): number => rs.spec.replicas ?? 0;
    const availableOf = (rs: KubeObject): number => rs.status?.availableReplicas ?? 0;

    if (!rolling) {
      if (oldRSs.some((rs) => replicasOf(rs) > 0)) {
        for (const rs of oldRSs) if (replicasOf(rs) > 0) this.scale(rs, 0, d);
      } else if (oldRSs.every((rs) => (rs.status?.replicas ?? 0) === 0) && replicasOf(newRS) !== desired) {
        newRS = this.scale(newRS, desired, d);
      }
    } else {
      const total = rss.reduce((n, rs) => n + replicasOf(rs), 0);
      if (replicasOf(newRS) > desired) newRS = this.scale(newRS, desired, d);
      else if (replicasOf(newRS) < desired) {
        const up = Math.min(desired + maxSurge - total, desired - replicasOf(newRS));
        if (up > 0) newRS = this.scale(newRS, replicasOf(newRS) + up, d);
      }
      const minAvailable = desired - maxUnavailable;
      const allReplicas = replicasOf(newRS) + oldRSs.reduce((n, rs) => n + replicasOf(rs), 0);
      const newUnavailable = replicasOf(newRS) - availableOf(newRS);
      let cleanup = allReplicas - minAvailable - newUnavailable;
      const sorted = [...oldRSs].sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
      const scaledTo = new Map<string, number>(sorted.map((rs) => [rs.metadata.uid!, replicasOf(rs)]));
      for (const rs of sorted) {
        if (cleanup <= 0) break;
        const unhealthy = Math.max(0, replicasOf(rs) - availableOf(rs));
        const n = Math.min(cleanup, unhealthy);
        if (n > 0) {
          scaledTo.set(rs.metadata.uid!, replicasOf(rs) - n);
          cleanup -= n;
        }
      }
      const available = rss.reduce((n, rs) => n + availableOf(rs), 0);
      let down = available - minAvailable;
      for (const rs of sorted) {
        if (down <= 0) break;
        const current = scaledTo.get(rs.metadata.uid!)!;
        const n = Math.min(down, current);
        if (n > 0) {
          scaledTo.set(rs.metadata.uid!, current - n);
          down -= n;
        }
      }
      for (const rs of sorted) if (scaledTo.get(rs.metadata.uid!) !== replicasOf(rs)) this.scale(rs, scaledTo.get(rs.metadata.uid!)!, d);
    }

    this.writeStatus(d, newRS, rsRes, maxUnavailable, created);
  }

  private scale(rs: KubeObject, replicas: number, d: KubeObject, annotations: Record<string, string> = {}): KubeObject {
    const rsRes = this.registry.res('apps/v1', 'ReplicaSet');
    const from = rs.spec.replicas ?? 0;
    const next = structuredClone(rs);
    next.spec.replicas = replicas;
    next.metadata.annotations = { ...next.metadata.annotations, ...annotations, 'deployment.kubernetes.io/desired-replicas': String(d.spec.replicas ?? 1) };
    try {
      const stored = this.registry.update(rsRes, rs.metadata.namespace, rs.metadata.name!, next, { manager: 'kube-controller-manager' });
      if (replicas > from) this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata.name} to ${replicas} from ${from}`, 'deployment-controller');
      if (replicas < from) this.events.record(d, 'Normal', 'ScalingReplicaSet', `Scaled down replica set ${rs.metadata.name} to ${replicas} from ${from}`, 'deployment-controller');
      return stored;
    } catch {
      return rs;
    }
  }

  private writeStatus(d: KubeObject, newRS: KubeObject, rsRes: ReturnType<Registry['res']>, maxUnavailable: number, created: boolean): void {
    const res = this.registry.res('apps/v1', 'Deployment');
    const desired: number = d.spec.replicas ?? 1;
    const rss = this.registry.list(rsRes, d.metadata.namespace).filter((rs) => isControlledBy(rs, d));
    const fresh = rss.find((rs) => rs.metadata.uid === newRS.metadata.uid) ?? newRS;
    const sum = (f: (rs: KubeObject) => number) => rss.reduce((n, rs) => n + f(rs), 0);
    const replicas = sum((rs) => rs.status?.replicas ?? 0);
    const updated = fresh.status?.replicas ?? 0;
    const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const unavailable = Math.max(0, sum((rs) => rs.spec.replicas ?? 0) - available);
    const now = rfc3339();
    const nowMs = Date.now();

    const uid = d.metadata.uid!;
    const tuple = `${fresh.metadata.uid}|${replicas}|${updated}|${ready}|${available}`;
    const last = this.progress.get(uid);
    const progressed = created || !last || last.tuple !== tuple;
    if (progressed) this.progress.set(uid, { at: nowMs, tuple });
    const since = progressed ? nowMs : last!.at;

    const conditions: Record<string, unknown>[] = structuredClone(d.status?.conditions ?? []);
    const upsert = (c: Record<string, unknown>, touch: boolean) => {
      const i = conditions.findIndex((x) => x.type === c.type);
      const prev = i >= 0 ? conditions[i] : undefined;
      const same = prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message;
      if (same && !touch) return;
      const next = {
        type: c.type,
        status: c.status,
        lastUpdateTime: same && !touch ? prev!.lastUpdateTime : now,
        lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
        reason: c.reason,
        message: c.message,
      };
      if (i >= 0) conditions[i] = next;
      else conditions.push(next);
    };

    const isAvailable = available >= desired - maxUnavailable;
    upsert(
      isAvailable
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      false,
    );
    const name = fresh.metadata.name;
    const complete = updated === desired && replicas === desired && available === desired;
    const prevProgressing = conditions.find((c) => c.type === 'Progressing');
    const deadline = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
    if (complete) {
      upsert({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }, false);
    } else if (created) {
      upsert({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${name}"` }, true);
    } else if (progressed) {
      upsert({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.` }, true);
    } else if (prevProgressing?.reason !== 'ProgressDeadlineExceeded' && nowMs - since > deadline) {
      upsert({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.` }, true);
    }
    const order = ['Available', 'Progressing'];
    conditions.sort((a, b) => order.indexOf(String(a.type)) - order.indexOf(String(b.type)));

    const status = {
      ...omitEmpty({
        observedGeneration: d.metadata.generation,
        replicas,
        updatedReplicas: updated,
        readyReplicas: ready,
        availableReplicas: available,
        unavailableReplicas: unavailable,
      }),
      conditions,
    };
    try {
      this.registry.update(res, d.metadata.namespace, d.metadata.name!, { ...d, status }, { manager: 'kube-controller-manager', subresource: 'status' });
    } catch {
      // deleted meanwhile
    }
  }
}
