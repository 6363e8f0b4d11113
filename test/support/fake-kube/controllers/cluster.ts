/**
 * Cluster-level controllers:
 *  - garbage collector: objects whose owners (by uid) are all gone are deleted (background
 *    cascading); owners being deleted in the foreground keep their `foregroundDeletion` finalizer
 *    until their dependents are gone;
 *  - namespace controller: a terminating namespace's contents are deleted, then the namespace;
 *  - service account controller: every active namespace gets a "default" ServiceAccount;
 *  - endpoints controller: each Service with a selector gets an Endpoints object listing the
 *    matching pods (ready ones under addresses, others under notReadyAddresses).
 */
import type { Registry } from '../registry.js';
import type { KubeObject } from '../types.js';
import { mapMatcher } from '../selectors.js';

export class GarbageCollector {
  constructor(private readonly registry: Registry) {}

  reconcile(): void {
    const all = this.registry.everything();
    const uids = new Set(all.map(({ object }) => object.metadata.uid));
    for (const { res, object } of all) {
      const owners = object.metadata.ownerReferences ?? [];
      if (owners.length && !object.metadata.deletionTimestamp && owners.every((o) => !uids.has(o.uid))) {
        this.tryDelete(res, object, {});
      }
      if (object.metadata.deletionTimestamp && (object.metadata.finalizers ?? []).includes('foregroundDeletion')) {
        const dependents = all.filter(({ object: d }) => (d.metadata.ownerReferences ?? []).some((o) => o.uid === object.metadata.uid));
        if (!dependents.length) {
          const next = structuredClone(object);
          next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== 'foregroundDeletion');
          try {
            this.registry.update(res, object.metadata.namespace, object.metadata.name!, next, { manager: 'kube-controller-manager' });
          } catch {
            // gone already
          }
        } else {
          for (const d of dependents) if (!d.object.metadata.deletionTimestamp) this.tryDelete(d.res, d.object, { propagationPolicy: 'Foreground' });
        }
      }
    }
  }

  private tryDelete(res: ReturnType<Registry['res']>, object: KubeObject, options: { propagationPolicy?: 'Foreground' }): void {
    try {
      this.registry.delete(res, object.metadata.namespace, object.metadata.name!, options);
    } catch {
      // gone already
    }
  }
}

export class NamespaceController {
  constructor(private readonly registry: Registry) {}

  reconcile(): void {
    const nsRes = this.registry.res('v1', 'Namespace');
    const saRes = this.registry.res('v1', 'ServiceAccount');
    const all = this.registry.everything();
    for (const ns of this.registry.list(nsRes)) {
      const name = ns.metadata.name!;
      if (ns.metadata.deletionTimestamp) {
        const contents = all.filter(({ res, object }) => res.namespaced && object.metadata.namespace === name);
        for (const { res, object } of contents) {
          if (object.metadata.deletionTimestamp) continue;
          try {
            this.registry.delete(res, name, object.metadata.name!, {});
          } catch {
            // gone already
          }
        }
        if (!contents.length) this.registry.finalizeNow(nsRes, ns);
        continue;
      }
      if (!this.registry.find(saRes, name, 'default')) {
        try {
          this.registry.create(saRes, name, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } }, { manager: 'kube-controller-manager' });
        } catch {
          // raced with deletion
        }
      }
    }
  }
}

const MANAGED = 'endpoints.kubernetes.io/last-change-trigger-time';

export class EndpointsController {
  constructor(private readonly registry: Registry) {}

  reconcile(): void {
    const svcRes = this.registry.res('v1', 'Service');
    const epRes = this.registry.res('v1', 'Endpoints');
    const podRes = this.registry.res('v1', 'Pod');
    const services = this.registry.list(svcRes);
    const wanted = new Set<string>();
    for (const svc of services) {
      const selector = svc.spec?.selector as Record<string, string> | undefined;
      if (!selector || !Object.keys(selector).length || svc.spec?.type === 'ExternalName') continue;
      const ns = svc.metadata.namespace!;
      wanted.add(`${ns}/${svc.metadata.name}`);
      const matches = mapMatcher(selector);
      const pods = this.registry.list(podRes, ns).filter((p) => matches(p.metadata.labels) && p.status?.podIP && !p.metadata.deletionTimestamp);
      const address = (p: KubeObject) => ({
        ip: p.status.podIP,
        nodeName: p.spec.nodeName,
        targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
      });
      const ready = pods.filter((p) => (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'));
      const notReady = pods.filter((p) => !ready.includes(p));
      const ports = (svc.spec.ports ?? []).map((port: { name?: string; port: number; targetPort?: number | string; protocol?: string }) => {
        let target = port.targetPort ?? port.port;
        if (typeof target === 'string') {
          const named = pods
            .flatMap((p) => (p.spec.containers ?? []).flatMap((c: { ports?: { name?: string; containerPort: number }[] }) => c.ports ?? []))
            .find((cp: { name?: string }) => cp.name === target);
          target = named?.containerPort ?? 0;
        }
        return { ...(port.name ? { name: port.name } : {}), port: target, protocol: port.protocol ?? 'TCP' };
      });
      const subsets = pods.length
        ? [{ ...(ready.length ? { addresses: ready.map(address) } : {}), ...(notReady.length ? { notReadyAddresses: notReady.map(address) } : {}), ports }]
        : undefined;
      const body: KubeObject = {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: {
          name: svc.metadata.name,
          namespace: ns,
          ...(svc.metadata.labels ? { labels: svc.metadata.labels } : {}),
          annotations: { [MANAGED]: svc.metadata.creationTimestamp ?? '' },
        },
        ...(subsets ? { subsets } : {}),
      };
      const existing = this.registry.find(epRes, ns, svc.metadata.name!);
      try {
        if (!existing) this.registry.create(epRes, ns, body, { manager: 'kube-controller-manager' });
        else this.registry.update(epRes, ns, svc.metadata.name!, { ...body, metadata: { ...existing.metadata, labels: body.metadata.labels, annotations: body.metadata.annotations } }, { manager: 'kube-controller-manager' });
      } catch {
        // namespace terminating
      }
    }
    for (const ep of this.registry.list(epRes)) {
      const key = `${ep.metadata.namespace}/${ep.metadata.name}`;
      if (wanted.has(key) || ep.metadata.deletionTimestamp || !ep.metadata.annotations?.[MANAGED]) continue;
      if (services.some((s) => `${s.metadata.namespace}/${s.metadata.name}` === key)) continue; // selector-less Service: user-managed
      try {
        this.registry.delete(epRes, ep.metadata.namespace, ep.metadata.name!, {});
      } catch {
        // gone
      }
    }
  }
}
