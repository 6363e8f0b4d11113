/** Finding what devloop deployed: objects of the given kinds carrying a label selector. */
import { refKey, type DeployApi, type ObjectRef } from './api.js';
import { explainKubeError, httpStatusOf } from './errors.js';
import type { KindRef } from './kinds.js';
import { withRetry } from './retry.js';

export interface FindOptions {
  api: DeployApi;
  kinds: readonly KindRef[];
  /** Namespaces to look in for namespaced kinds. */
  namespaces: readonly string[];
  labelSelector: string;
  /** Kinds the server lacks, or the user may not list, are skipped for these (not an error). */
  optionalKinds?: ReadonlySet<string>;
  signal?: AbortSignal;
}

/**
 * Objects matching the selector, without the ones a controller owns (pods of a Deployment carry
 * its template's labels but belong to it). Deduplicated, in kinds order.
 */
export async function findLabeled(options: FindOptions): Promise<ObjectRef[]> {
  // Kinds are listed concurrently (a handful of requests); results keep the kinds' order.
  const perKind = await Promise.all(options.kinds.map((kind) => listKind(options, kind)));
  const found = new Map<string, ObjectRef>();
  for (const refs of perKind) for (const ref of refs) found.set(refKey(ref), ref);
  return [...found.values()];
}

async function listKind(options: FindOptions, kind: KindRef): Promise<ObjectRef[]> {
  const { api } = options;
  const optional = options.optionalKinds?.has(`${kind.apiVersion}/${kind.kind}`) ?? false;
  const resource = await api.resolve(kind.apiVersion, kind.kind).catch((error: unknown) => {
    if (optional) return undefined;
    throw explainKubeError(error, api.kube, { action: 'discovery', object: kind.kind });
  });
  if (!resource) return [];
  const scopes = resource.namespaced ? options.namespaces : [undefined];
  const refs: ObjectRef[] = [];
  for (const namespace of scopes) {
    let items: { metadata?: { name?: string; namespace?: string; ownerReferences?: unknown[] } }[];
    try {
      const list = await withRetry(
        () => api.objects.list(kind.apiVersion, kind.kind, namespace, undefined, undefined, undefined, undefined, options.labelSelector),
        { signal: options.signal },
      );
      items = list.items;
    } catch (error) {
      const status = httpStatusOf(error);
      if (optional && (status === 403 || status === 404 || status === 405)) continue;
      throw explainKubeError(error, api.kube, { action: `list ${kind.kind}`, object: namespace ? `namespace ${namespace}` : undefined });
    }
    for (const item of items) {
      if (!item.metadata?.name) continue;
      // Pods of a Deployment carry its template's labels but belong to it.
      if ((item.metadata.ownerReferences ?? []).length > 0) continue;
      const ref: ObjectRef = { apiVersion: kind.apiVersion, kind: kind.kind, name: item.metadata.name };
      if (resource.namespaced) ref.namespace = item.metadata.namespace ?? namespace;
      refs.push(ref);
    }
  }
  return refs;
}
