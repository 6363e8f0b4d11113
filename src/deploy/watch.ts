/**
 * List-then-watch of one collection: the caller sees the full current set of objects after every
 * change. A dropped stream resumes from the last resourceVersion seen; "410 Gone" (that version
 * was compacted away) starts over with a fresh list. Failures to reconnect are bounded.
 */
import type { DeployApi } from './api.js';
import { httpStatusOf } from './errors.js';
import { sleep } from './retry.js';

export interface WatchedObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export interface WatchTarget {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Consecutive failed (re)connections tolerated before the watch gives up. */
const MAX_CONSECUTIVE_FAILURES = 6;

/**
 * Calls `onChange` with the current objects (keyed namespace/name) after the initial list and after
 * every event, until `signal` aborts (resolves) or reconnecting keeps failing (rejects).
 */
export async function watchCollection(
  api: DeployApi,
  target: WatchTarget,
  onChange: (objects: ReadonlyMap<string, WatchedObject>) => void,
  signal: AbortSignal,
): Promise<void> {
  const resource = await api.resolve(target.apiVersion, target.kind);
  if (!resource) throw new Error(`no resource for kind ${target.kind} in ${target.apiVersion}`);
  const path = api.collectionPath(target.apiVersion, resource, target.namespace);
  const watch = new api.kube.lib.Watch(api.kube.kc);
  const objects = new Map<string, WatchedObject>();
  let resourceVersion: string | undefined;
  let failures = 0;

  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      try {
        const list = await api.objects.list(target.apiVersion, target.kind, target.namespace, undefined, undefined, undefined, target.fieldSelector, target.labelSelector);
        objects.clear();
        for (const item of list.items as unknown as WatchedObject[]) objects.set(keyOf(item), item);
        resourceVersion = list.metadata?.resourceVersion ?? '';
        onChange(objects);
      } catch (error) {
        if (signal.aborted) return;
        if (++failures >= MAX_CONSECUTIVE_FAILURES) throw error;
        await sleep(backoff(failures), signal);
        continue;
      }
    }
    const outcome = await new Promise<{ gone: boolean; error?: unknown; sawEvent: boolean }>((resolve) => {
      let sawEvent = false;
      let gone = false;
      let controller: AbortController | undefined;
      const stop = (): void => controller?.abort();
      signal.addEventListener('abort', stop, { once: true });
      const query: Record<string, string | boolean> = { allowWatchBookmarks: true };
      if (resourceVersion) query.resourceVersion = resourceVersion;
      if (target.labelSelector) query.labelSelector = target.labelSelector;
      if (target.fieldSelector) query.fieldSelector = target.fieldSelector;
      watch
        .watch(
          path,
          query,
          (phase: string, object: WatchedObject) => {
            sawEvent = true;
            if (phase === 'ERROR') {
              const code = (object as { code?: number }).code;
              if (code === 410) gone = true;
              controller?.abort();
              return;
            }
            const version = object?.metadata?.resourceVersion;
            if (version) resourceVersion = version;
            if (phase === 'BOOKMARK') return;
            if (phase === 'DELETED') objects.delete(keyOf(object));
            else objects.set(keyOf(object), object);
            onChange(objects);
          },
          (error: unknown) => {
            signal.removeEventListener('abort', stop);
            resolve({ gone: gone || httpStatusOf(error) === 410, error: error ?? undefined, sawEvent });
          },
        )
        .then((c) => {
          controller = c;
          if (signal.aborted) c.abort();
        })
        .catch((error: unknown) => resolve({ gone: false, error, sawEvent }));
    });
    if (signal.aborted) return;
    if (outcome.gone) {
      resourceVersion = undefined;
      continue;
    }
    // Servers end watches routinely (timeouts, restarts): reconnect from the last version seen.
    // Only failures to connect at all count toward giving up.
    failures = outcome.error && !outcome.sawEvent ? failures + 1 : 0;
    if (failures >= MAX_CONSECUTIVE_FAILURES) throw outcome.error;
    await sleep(failures > 0 ? backoff(failures) : outcome.sawEvent ? 0 : 50, signal);
  }
}

function backoff(failures: number): number {
  return Math.min(100 * 2 ** failures, 2000);
}

export function keyOf(object: WatchedObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
