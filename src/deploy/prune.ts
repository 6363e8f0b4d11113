/**
 * Prune: after a successful apply, delete objects carrying this config's labels (and this run id
 * in dev) that the rendered set no longer contains — a Service removed from the manifests goes.
 */
import type { Emit } from '../events/bus.js';
import { labelSelector } from '../render/labels.js';
import { refKey, refName, type DeployApi, type ObjectRef } from './api.js';
import { deleteObject } from './delete.js';
import { findLabeled } from './find.js';
import { COMMON_KINDS, kindKey, uniqueKinds, type KindRef } from './kinds.js';

export interface PruneOptions {
  api: DeployApi;
  /** What was just applied: never pruned. */
  applied: readonly ObjectRef[];
  configName: string;
  runId?: string;
  /** Kinds and namespaces of earlier deployments (from state.json), so removed kinds are found too. */
  previousKinds?: readonly KindRef[];
  previousNamespaces?: readonly string[];
  /** Also search the common kinds (default true); a caller with a trustworthy state.json may skip them. */
  commonKinds?: boolean;
  emit: Emit;
  signal: AbortSignal;
}

/** Deletes the leftovers; returns what was deleted. */
export async function pruneObjects(options: PruneOptions): Promise<ObjectRef[]> {
  const { api } = options;
  const keep = new Set(options.applied.map(refKey));
  const appliedKinds = uniqueKinds(options.applied);
  const kinds = uniqueKinds(appliedKinds, options.previousKinds ?? [], options.commonKinds === false ? [] : COMMON_KINDS);
  const mandatory = new Set(appliedKinds.map(kindKey));
  const namespaces = [
    ...new Set([api.kube.namespace, ...options.applied.flatMap((r) => (r.namespace ? [r.namespace] : [])), ...(options.previousNamespaces ?? [])]),
  ];
  const existing = await findLabeled({
    api,
    kinds,
    namespaces,
    labelSelector: labelSelector(options.configName, options.runId),
    optionalKinds: new Set(kinds.map(kindKey).filter((k) => !mandatory.has(k))),
    signal: options.signal,
  });
  const stale = existing.filter((ref) => !keep.has(refKey(ref)));
  for (const ref of stale) {
    options.signal.throwIfAborted();
    await deleteObject(api, ref, options.signal);
    options.emit({ type: 'progress', stage: 'prune', resource: refName(ref), message: `pruned ${refName(ref)}${ref.namespace ? ` in ${ref.namespace}` : ''}` });
  }
  return stale;
}
