/**
 * Delete: remove everything a config deployed (found by its labels), wait until the API no longer
 * has it. Deleting what is already gone is fine, so running it twice is a no-op.
 */
import type { Emit } from '../events/bus.js';
import { DevloopError } from '../errors.js';
import { labelSelector } from '../render/labels.js';
import { refKey, refName, type DeployApi, type ObjectRef } from './api.js';
import { explainKubeError, httpStatusOf } from './errors.js';
import { findLabeled } from './find.js';
import { COMMON_KINDS, kindKey, uniqueKinds, type KindRef } from './kinds.js';
import { withRetry } from './retry.js';
import { watchCollection } from './watch.js';

const DEFAULT_DELETE_TIMEOUT_MS = 60_000;

/**
 * Deletes one object; absent objects are not an error. `Background`: its dependents go after it.
 * `Foreground`: it stays (with a deletionTimestamp) until the garbage collector deleted them, and
 * its controller, like theirs, creates nothing meanwhile.
 */
export async function deleteObject(api: DeployApi, ref: ObjectRef, signal?: AbortSignal, propagation: 'Background' | 'Foreground' = 'Background'): Promise<boolean> {
  try {
    await withRetry(
      () =>
        api.objects.delete(
          { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } },
          undefined,
          undefined,
          undefined,
          undefined,
          propagation,
        ),
      { signal },
    );
    return true;
  } catch (error) {
    if (httpStatusOf(error) === 404) return false;
    throw explainKubeError(error, api.kube, { action: 'delete', object: `${ref.kind}/${ref.name}` });
  }
}

export interface DeleteOptions {
  api: DeployApi;
  configName: string;
  /** Only this dev session's objects when given. */
  runId?: string;
  /** Kinds (besides the common ones) and namespaces to look in, e.g. from state.json. */
  kinds?: readonly KindRef[];
  namespaces?: readonly string[];
  /** refKeys to leave alone: objects another target's record still lists (record.ts `deleteScope`). */
  keep?: ReadonlySet<string>;
  emit: Emit;
  signal: AbortSignal;
  timeoutMs?: number;
}

/**
 * Deletes every object labeled for this config (and run) in the foreground, waits until they are
 * gone (a Deployment: once its ReplicaSets and pods are), and looks again until a look finds none:
 * with dependents deleted in the background, a ReplicaSet replaced deleted pods until the garbage
 * collector removed it, and those pods outlived `devloop delete`. Returns what was deleted.
 */
export async function deleteDeployed(options: DeleteOptions): Promise<ObjectRef[]> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DELETE_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const deleted = new Map<string, ObjectRef>();
  for (;;) {
    const found = await findOurs(options);
    if (found.length === 0) return [...deleted.values()];
    if (Date.now() > deadline) {
      throw new DevloopError('DELETE_TIMEOUT', `still present after ${Math.round(timeoutMs / 1000)}s: ${found.map(refName).join(', ')}`, {
        hint: 'a controller keeps creating them, or finalizers hold them; check `kubectl get … -o yaml`',
      });
    }
    const round: ObjectRef[] = [];
    // Namespaces last: deleting one takes everything in it, and workloads first keeps pods from restarting.
    for (const ref of [...found.filter((r) => r.kind !== 'Namespace'), ...found.filter((r) => r.kind === 'Namespace')]) {
      options.signal.throwIfAborted();
      if (!(await deleteObject(options.api, ref, options.signal, 'Foreground'))) continue;
      round.push(ref);
      if (deleted.has(refKey(ref))) continue; // still terminating from an earlier round
      deleted.set(refKey(ref), ref);
      options.emit({ type: 'progress', stage: 'delete', resource: refName(ref), message: `deleting ${refName(ref)}${ref.namespace ? ` in ${ref.namespace}` : ''}` });
    }
    await waitUntilGone(options.api, round, options.signal, Math.max(1, deadline - Date.now()), timeoutMs);
  }
}

/** The objects labeled for this config (and run) that no other record keeps. */
async function findOurs(options: DeleteOptions): Promise<ObjectRef[]> {
  const { api } = options;
  const kinds = uniqueKinds(options.kinds ?? [], COMMON_KINDS);
  const found = await findLabeled({
    api,
    kinds,
    namespaces: [...new Set([api.kube.namespace, ...(options.namespaces ?? [])])],
    labelSelector: labelSelector(options.configName, options.runId),
    optionalKinds: new Set(kinds.map(kindKey)),
    signal: options.signal,
  });
  return options.keep ? found.filter((r) => !options.keep!.has(refKey(r))) : found;
}

/** Watches each object until the API reports it deleted (finalizers may keep it a while). */
async function waitUntilGone(api: DeployApi, refs: readonly ObjectRef[], signal: AbortSignal, timeoutMs: number, shownTimeoutMs = timeoutMs): Promise<void> {
  if (refs.length === 0) return;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const remaining = new Set(refs);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        const names = [...remaining].map(refName).join(', ');
        reject(new DevloopError('DELETE_TIMEOUT', `still present after ${Math.round(shownTimeoutMs / 1000)}s: ${names}`, { hint: 'finalizers may be holding them; check `kubectl get … -o yaml`' }));
      }, timeoutMs);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      for (const ref of refs) {
        watchCollection(
          api,
          { apiVersion: ref.apiVersion, kind: ref.kind, namespace: ref.namespace, fieldSelector: `metadata.name=${ref.name}` },
          (objects) => {
            if (objects.size > 0) return;
            remaining.delete(ref);
            if (remaining.size === 0) resolve();
          },
          stop.signal,
        ).catch((error: unknown) => reject(explainKubeError(error, api.kube, { action: 'watch', object: `${ref.kind}/${ref.name}` })));
      }
    });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    stop.abort();
  }
}
