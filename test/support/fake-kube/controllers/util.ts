/** Helpers shared by the workload controllers. */
import type { KubeObject, OwnerReference } from '../types.js';
import { safeHash } from '../registry.js';

export function controllerRef(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

export function isControlledBy(object: KubeObject, owner: KubeObject): boolean {
  return (object.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.metadata.uid);
}

export function podReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
}

/** Counted by controllers: not terminating and not finished. */
export function podActive(pod: KubeObject): boolean {
  return !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

/** Stable JSON (sorted keys) for hashing templates. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function templateHash(template: unknown): string {
  return safeHash(stableJson(template));
}

export function podFromTemplate(owner: KubeObject, template: KubeObject['spec'], extra: { name?: string; generateName?: string; labels?: Record<string, string> }): KubeObject {
  const meta = template?.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(extra.name ? { name: extra.name } : { generateName: extra.generateName ?? `${owner.metadata.name}-` }),
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}), ...(extra.labels ?? {}) },
      ...(meta.annotations ? { annotations: meta.annotations } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: structuredClone(template?.spec ?? {}),
  };
}

/** Resolves an int-or-percent (maxSurge/maxUnavailable) against a total. */
export function intOrPercent(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const text = String(value ?? '0');
  if (text.endsWith('%')) {
    const n = (Number(text.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(n) : Math.floor(n);
  }
  return Number(text) || 0;
}

/** Drops zero/empty fields the way `omitempty` does in the real status JSON. */
export function omitEmpty<T extends Record<string, unknown>>(status: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(status)) {
    if (v === 0 || v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    out[k] = v;
  }
  return out as T;
}

/** A condition list update that keeps lastTransitionTime when the status did not flip. */
export function setCondition(
  conditions: Record<string, unknown>[] | undefined,
  next: { type: string; status: string; reason?: string; message?: string },
  now: string,
  withUpdateTime: boolean,
): Record<string, unknown>[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const prev = index >= 0 ? list[index] : undefined;
  if (prev && prev.status === next.status && prev.reason === next.reason && prev.message === next.message) return list;
  const condition: Record<string, unknown> = {
    type: next.type,
    status: next.status,
    ...(withUpdateTime ? { lastUpdateTime: now } : {}),
    lastTransitionTime: prev && prev.status === next.status ? prev.lastTransitionTime : now,
    ...(next.reason ? { reason: next.reason } : {}),
    ...(next.message ? { message: next.message } : {}),
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}
