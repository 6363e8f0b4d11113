/**
 * The little schema knowledge the fake needs: which lists are merged by key (strategic merge patch's
 * patchMergeKey, server-side apply's listType=map + listMapKeys) and which are atomic. Looked up by
 * the path of field names from the object root (list positions skipped). Custom resources have no
 * schema here: all their lists are atomic, as for a CRD without x-kubernetes-list-type.
 */

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

export interface ListKeys {
  /** strategic-merge-patch merge key(s) */
  smp?: string[];
  /** server-side-apply list-map keys */
  ssa?: string[];
  /** a list of scalars merged as a set (finalizers) */
  set?: boolean;
}

export function listKeys(path: readonly string[], custom: boolean): ListKeys {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (last === 'ownerReferences' && parent === 'metadata' && path.length === 2) return { smp: ['uid'], ssa: ['uid'] };
  if (last === 'finalizers' && parent === 'metadata' && path.length === 2) return { set: true };
  if (custom) return {};
  if (CONTAINER_LISTS.has(last ?? '')) return { smp: ['name'], ssa: ['name'] };
  if (last === 'ports') {
    if (CONTAINER_LISTS.has(path[path.length - 2] ?? '')) return { smp: ['containerPort'], ssa: ['containerPort', 'protocol'] };
    if (parent === 'spec') return { smp: ['port'], ssa: ['port', 'protocol'] };
    return {};
  }
  switch (last) {
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
      return { smp: ['name'], ssa: ['name'] };
    case 'volumeMounts':
      return { smp: ['mountPath'], ssa: ['mountPath'] };
    case 'volumeDevices':
      return { smp: ['devicePath'], ssa: ['devicePath'] };
    case 'hostAliases':
      return { smp: ['ip'], ssa: ['ip'] };
    case 'conditions':
      return { smp: ['type'], ssa: ['type'] };
    case 'topologySpreadConstraints':
      return { smp: ['topologyKey'], ssa: ['topologyKey', 'whenUnsatisfiable'] };
    default:
      return {};
  }
}

/** Key fields a server-side-apply item identity uses when the applied item leaves them to defaults. */
export function defaultedKey(field: string, path: readonly string[]): unknown {
  if (field === 'protocol' && path[path.length - 1] === 'ports') return 'TCP';
  return undefined;
}

/** Fields the object's owner never "manages": identity and server-set metadata. */
export const SYSTEM_METADATA = new Set([
  'name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generateName',
]);
