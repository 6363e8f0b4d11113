/**
 * The resources the fake serves and the discovery documents describing them (/api, /apis,
 * /api/v1, /apis/<group>/<version>). Shapes follow what a 1.30 server returns, including the
 * `<resource>/<subresource>` entries (clients must skip those: they share the parent's kind).
 * Applying a CustomResourceDefinition adds its resources; deleting it removes them.
 */
import type { KubeObject } from './types.js';

export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, as in URLs. */
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** Subresource names: status, scale, log, exec, portforward… */
  subresources: string[];
  /** metadata.generation is kept (bumped when anything but metadata/status changes). */
  generation: boolean;
  /** Served from a CRD: list items keep apiVersion/kind, strategic merge patch is refused. */
  custom: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NO_COLLECTION = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

type Def = [name: string, kind: string, namespaced: boolean, shortNames: string[], subresources: string[], generation: boolean, verbs?: string[]];

const BUILT_IN: Record<string, Def[]> = {
  v1: [
    ['bindings', 'Binding', true, [], [], false, ['create']],
    ['configmaps', 'ConfigMap', true, ['cm'], [], false],
    ['endpoints', 'Endpoints', true, ['ep'], [], false],
    ['events', 'Event', true, ['ev'], [], false],
    ['namespaces', 'Namespace', false, ['ns'], ['finalize', 'status'], false, NO_COLLECTION],
    ['nodes', 'Node', false, ['no'], ['proxy', 'status'], false],
    ['persistentvolumeclaims', 'PersistentVolumeClaim', true, ['pvc'], ['status'], false],
    ['persistentvolumes', 'PersistentVolume', false, ['pv'], ['status'], false],
    ['pods', 'Pod', true, ['po'], ['attach', 'binding', 'ephemeralcontainers', 'eviction', 'exec', 'log', 'portforward', 'proxy', 'status'], false],
    ['replicationcontrollers', 'ReplicationController', true, ['rc'], ['scale', 'status'], true],
    ['secrets', 'Secret', true, [], [], false],
    ['serviceaccounts', 'ServiceAccount', true, ['sa'], ['token'], false],
    ['services', 'Service', true, ['svc'], ['proxy', 'status'], false, NO_COLLECTION],
  ],
  'apps/v1': [
    ['controllerrevisions', 'ControllerRevision', true, [], [], false],
    ['daemonsets', 'DaemonSet', true, ['ds'], ['status'], true],
    ['deployments', 'Deployment', true, ['deploy'], ['scale', 'status'], true],
    ['replicasets', 'ReplicaSet', true, ['rs'], ['scale', 'status'], true],
    ['statefulsets', 'StatefulSet', true, ['sts'], ['scale', 'status'], true],
  ],
  'batch/v1': [
    ['cronjobs', 'CronJob', true, ['cj'], ['status'], true],
    ['jobs', 'Job', true, [], ['status'], true],
  ],
  'networking.k8s.io/v1': [
    ['ingressclasses', 'IngressClass', false, [], [], true],
    ['ingresses', 'Ingress', true, ['ing'], ['status'], true],
    ['networkpolicies', 'NetworkPolicy', true, ['netpol'], [], true],
  ],
  'rbac.authorization.k8s.io/v1': [
    ['clusterrolebindings', 'ClusterRoleBinding', false, [], [], false],
    ['clusterroles', 'ClusterRole', false, [], [], false],
    ['rolebindings', 'RoleBinding', true, [], [], false],
    ['roles', 'Role', true, [], [], false],
  ],
  'apiextensions.k8s.io/v1': [['customresourcedefinitions', 'CustomResourceDefinition', false, ['crd', 'crds'], ['status'], true]],
  'policy/v1': [['poddisruptionbudgets', 'PodDisruptionBudget', true, ['pdb'], ['status'], true]],
  'autoscaling/v2': [['horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, ['hpa'], ['status'], false]],
  'coordination.k8s.io/v1': [['leases', 'Lease', true, [], [], false]],
};

const SUBRESOURCE_KIND: Record<string, string> = {
  scale: 'Scale', attach: 'PodAttachOptions', binding: 'Binding', eviction: 'Eviction', exec: 'PodExecOptions',
  log: 'Pod', portforward: 'PodPortForwardOptions', proxy: 'PodProxyOptions', token: 'TokenRequest',
};

function split(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function apiVersionOf(info: { group: string; version: string }): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

export class Discovery {
  private readonly resources: ResourceInfo[] = [];

  constructor() {
    for (const [apiVersion, defs] of Object.entries(BUILT_IN)) {
      const { group, version } = split(apiVersion);
      for (const [name, kind, namespaced, shortNames, subresources, generation, verbs] of defs) {
        this.resources.push({
          group, version, name, kind, namespaced, subresources, generation, custom: false,
          singularName: kind.toLowerCase(),
          verbs: verbs ?? ALL_VERBS,
          ...(shortNames.length ? { shortNames } : {}),
        });
      }
    }
  }

  byPath(group: string, version: string, name: string): ResourceInfo | undefined {
    return this.resources.find((r) => r.group === group && r.version === version && r.name === name);
  }

  byKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    const { group, version } = split(apiVersion);
    return this.resources.find((r) => r.group === group && r.version === version && r.kind === kind);
  }

  /** By kind alone (first group that has it): for the test-facing `objects.list(kind)`. */
  byKindOnly(kind: string): ResourceInfo | undefined {
    return this.resources.find((r) => r.kind === kind);
  }

  /** Every version served for a group+resource (storage is shared between them). */
  all(): ResourceInfo[] {
    return [...this.resources];
  }

  hasGroupVersion(group: string, version: string): boolean {
    return this.resources.some((r) => r.group === group && r.version === version);
  }

  /** Registers (or refreshes) the resources of an Established CRD. */
  addCRD(crd: KubeObject): void {
    this.removeCRD(crd);
    const spec = crd.spec ?? {};
    const names = spec.names ?? {};
    const statusSub = (v: KubeObject['spec']) => (v?.subresources?.status ? ['status'] : []);
    const scaleSub = (v: KubeObject['spec']) => (v?.subresources?.scale ? ['scale'] : []);
    for (const v of (spec.versions ?? []) as KubeObject['spec'][]) {
      if (v?.served === false) continue;
      this.resources.push({
        group: spec.group,
        version: v.name,
        name: names.plural,
        singularName: names.singular ?? String(names.kind ?? '').toLowerCase(),
        kind: names.kind,
        namespaced: spec.scope !== 'Cluster',
        verbs: ALL_VERBS,
        ...(names.shortNames?.length ? { shortNames: names.shortNames } : {}),
        ...(names.categories?.length ? { categories: names.categories } : {}),
        subresources: [...statusSub(v), ...scaleSub(v)],
        generation: true,
        custom: true,
      });
    }
  }

  removeCRD(crd: KubeObject): void {
    const spec = crd.spec ?? {};
    for (let i = this.resources.length - 1; i >= 0; i--) {
      const r = this.resources[i]!;
      if (r.custom && r.group === spec.group && r.name === spec.names?.plural) this.resources.splice(i, 1);
    }
  }

  // ---- discovery documents ----

  apiVersions(serverAddress: string): unknown {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }

  private groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const r of this.resources) {
      if (!r.group) continue;
      const versions = groups.get(r.group) ?? [];
      if (!versions.includes(r.version)) versions.push(r.version);
      groups.set(r.group, versions);
    }
    return groups;
  }

  private group(name: string, versions: string[]): unknown {
    const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions: entries, preferredVersion: entries[0] };
  }

  apiGroupList(): unknown {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...this.groups()].map(([name, versions]) => this.group(name, versions)),
    };
  }

  apiGroup(name: string): unknown | undefined {
    const versions = this.groups().get(name);
    return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...(this.group(name, versions) as object) } : undefined;
  }

  resourceList(group: string, version: string): unknown | undefined {
    const mine = this.resources.filter((r) => r.group === group && r.version === version).sort((a, b) => a.name.localeCompare(b.name));
    if (!mine.length) return undefined;
    const resources: unknown[] = [];
    for (const r of mine) {
      resources.push({
        name: r.name,
        singularName: r.singularName,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        ...(r.shortNames ? { shortNames: r.shortNames } : {}),
        ...(r.categories ? { categories: r.categories } : r.group === 'apps' || r.kind === 'Pod' || r.kind === 'Service' || r.kind === 'Job' ? { categories: ['all'] } : {}),
      });
      for (const sub of r.subresources) {
        resources.push({
          name: `${r.name}/${sub}`,
          singularName: '',
          namespaced: r.namespaced,
          kind: SUBRESOURCE_KIND[sub] ?? r.kind,
          ...(sub === 'scale' ? { group: 'autoscaling', version: 'v1' } : {}),
          verbs: sub === 'status' || sub === 'scale' ? ['get', 'patch', 'update'] : sub === 'log' ? ['get'] : sub === 'exec' || sub === 'portforward' || sub === 'attach' || sub === 'proxy' ? ['create', 'get'] : ['create'],
        });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
  }
}
