/** Kinds devloop looks at when pruning and deleting, besides the ones it applied (recorded in state.json). */

export interface KindRef {
  apiVersion: string;
  kind: string;
}

/** Namespaced kinds people commonly deploy; listing them by label finds leftovers state.json forgot. */
export const COMMON_KINDS: readonly KindRef[] = [
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'batch/v1', kind: 'CronJob' },
  { apiVersion: 'v1', kind: 'Pod' },
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ConfigMap' },
  { apiVersion: 'v1', kind: 'Secret' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' },
];

export function kindKey(kind: KindRef): string {
  return `${kind.apiVersion}/${kind.kind}`;
}

/** Distinct kinds, first occurrence wins, order kept. */
export function uniqueKinds(...lists: readonly (readonly KindRef[])[]): KindRef[] {
  const seen = new Map<string, KindRef>();
  for (const list of lists) for (const k of list) if (!seen.has(kindKey(k))) seen.set(kindKey(k), { apiVersion: k.apiVersion, kind: k.kind });
  return [...seen.values()];
}
