/**
 * Prune: after a successful apply, delete objects carrying this config's labels (and this run id
 * in dev) that the rendered set no longer contains — a Service removed from the manifests goes.
 * Only inside the scope record.ts gives (this target's namespaces), never another target's objects.
 */
import type { Emit } from '../events/bus.js';
import { labelSelector } from '../render/labels.js';
import { refKey, refName, type DeployApi, type ObjectRef } from './api.js';
import { deleteObject } from './delete.js';
import { findLabeled } from './find.js';
import { kindKey, uniqueKinds } from './kinds.js';
import type { CleanupScope } from './record.js';

export interface PruneOptions {
  api: DeployApi;
  /** What was just applied: never pruned. */
  applied: readonly ObjectRef[];
  configName: string;
  runId?: string;
  /** Where to look and what to spare (record.ts `pruneScope`). */
  scope: CleanupScope;
  emit: Emit;
  signal: AbortSignal;
}

/** Deletes the leftovers; returns what was deleted. */
export async function pruneObjects(options: PruneOptions): Promise<ObjectRef[]> {
  const { api, scope } = options;
  const keep = new Set([...options.applied.map(refKey), ...scope.keep]);
  const appliedKinds = uniqueKinds(options.applied);
  const kinds = uniqueKinds(appliedKinds, scope.kinds);
  const mandatory = new Set(appliedKinds.map(kindKey));
  const existing = await findLabeled({
    api,
    kinds,
    namespaces: scope.namespaces,
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
