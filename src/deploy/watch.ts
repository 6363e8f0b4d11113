/**
 * The one list-then-watch loop of devloop (an informer's reflector), for every collection it
 * follows: list, then watch from the list's resourceVersion with bookmarks; an ERROR event
 * (usually 410 Gone: that version was compacted away) lists again. When a watch ends the loop
 * either resumes from the last version seen (`watchCollection`: apply, status, delete) or lists
 * again (the pod watcher, forward/pod-watch.ts, used by forwarding and log streaming: a restarted
 * API server may start its versions over). Failures back off; `maxFailures` in a row give up.
 */
import type { KubeClient } from '../kube/client.js';
import type { DeployApi } from './api.js';
import { httpStatusOf } from './errors.js';

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

/** Consecutive failed (re)connections tolerated before a collection watch gives up. */
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
  if (signal.aborted) return;
  const objects = new Map<string, WatchedObject>();
  await new Promise<void>((resolve, reject) => {
    const watch = listWatch<WatchedObject>({
      kube: api.kube,
      path: api.collectionPath(target.apiVersion, resource, target.namespace),
      list: async () => {
        const list = await api.objects.list(target.apiVersion, target.kind, target.namespace, undefined, undefined, undefined, target.fieldSelector, target.labelSelector);
        return { items: list.items as unknown as WatchedObject[], metadata: list.metadata };
      },
      labelSelector: target.labelSelector,
      fieldSelector: target.fieldSelector,
      onList(items) {
        objects.clear();
        for (const item of items) objects.set(keyOf(item), item);
        onChange(objects);
      },
      onEvent(type, object) {
        if (type === 'DELETED') objects.delete(keyOf(object));
        else objects.set(keyOf(object), object);
        onChange(objects);
      },
      afterEnd: 'resume',
      maxFailures: MAX_CONSECUTIVE_FAILURES,
      maxBackoffMs: 2_000,
      onGiveUp(error) {
        signal.removeEventListener('abort', stop);
        reject(error);
      },
    });
    const stop = (): void => {
      watch.close();
      resolve();
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}

export function keyOf(object: WatchedObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

export interface ListedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchOptions<T extends ListedObject> {
  kube: Pick<KubeClient, 'kc' | 'lib'>;
  /** The collection's path, e.g. `/api/v1/namespaces/ns/pods`. */
  path: string;
  /** Lists the same collection (with the same selectors). */
  list(): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Every object after a (re)list: the current set replaces what was known. */
  onList(items: T[]): void;
  onEvent(type: WatchEventType, object: T): void;
  /** After a watch ends: watch again from the last version seen, or list again. */
  afterEnd: 'resume' | 'relist';
  /** Failed lists or connections in a row before `onGiveUp` (and the loop stops); unbounded when absent. */
  maxFailures?: number;
  onGiveUp?(error: unknown): void;
  /** Cap of the delay between attempts after failures (doubling from 100 ms). */
  maxBackoffMs?: number;
  /** The first failure of a streak (not every retry). */
  onError?(error: Error): void;
  /** A list succeeded after failures (the API server is back), before `onList`. */
  onRecover?(): void;
}

const RETRY_START_MS = 100;

/** Starts the loop; it runs until `close()` (or until it gives up). */
export function listWatch<T extends ListedObject>(options: ListWatchOptions<T>): { close(): void } {
  let closed = false;
  let abortWatch: (() => void) | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  let backoff = RETRY_START_MS;
  let failing = false;
  let failures = 0;
  let resourceVersion: string | undefined;

  const cycle = async (): Promise<void> => {
    if (closed) return;
    if (resourceVersion === undefined) {
      try {
        const list = await options.list();
        if (closed) return;
        resourceVersion = list.metadata?.resourceVersion ?? '';
        if (failing) {
          failing = false;
          options.onRecover?.();
        }
        options.onList(list.items);
      } catch (error) {
        return retry(error);
      }
    }

    const watch = new options.kube.lib.Watch(options.kube.kc);
    const startedAt = Date.now();
    let relist = false;
    let sawEvent = false;
    const query: Record<string, string | boolean> = { allowWatchBookmarks: true };
    if (options.labelSelector) query.labelSelector = options.labelSelector;
    if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
    if (resourceVersion) query.resourceVersion = resourceVersion;
    const onEvent = (type: string, object: T): void => {
      if (closed) return;
      sawEvent = true;
      if (type === 'ERROR') {
        // Usually 410 Gone (resourceVersion too old): list again.
        relist = true;
        abortWatch?.();
        return;
      }
      const version = object?.metadata?.resourceVersion;
      if (version) resourceVersion = version;
      if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') options.onEvent(type, object);
    };
    const onDone = (error: unknown): void => {
      abortWatch = undefined;
      if (closed) return;
      if (relist || options.afterEnd === 'relist' || httpStatusOf(error) === 410) resourceVersion = undefined;
      if (Date.now() - startedAt > 10_000 || relist) backoff = RETRY_START_MS;
      // A watch that delivered events was connected: only failures in a row count toward giving up.
      if (sawEvent) failures = 0;
      if (error && !isAbort(error)) retry(error);
      else schedule(relist ? 0 : RETRY_START_MS);
    };
    try {
      const controller = await watch.watch(options.path, query, onEvent, onDone);
      if (closed) controller.abort();
      else abortWatch = () => controller.abort();
    } catch (error) {
      retry(error);
    }
  };

  const schedule = (delayMs: number): void => {
    if (closed) return;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => void cycle(), delayMs);
  };
  const retry = (error: unknown): void => {
    if (closed) return;
    failures += 1;
    if (options.maxFailures !== undefined && failures >= options.maxFailures) {
      close();
      options.onGiveUp?.(error);
      return;
    }
    // Say it once per outage, not on every retry: onRecover closes the streak.
    if (!failing) options.onError?.(error instanceof Error ? error : new Error(String(error)));
    failing = true;
    schedule(backoff);
    backoff = Math.min(backoff * 2, maxBackoff);
  };
  const close = (): void => {
    closed = true;
    clearTimeout(retryTimer);
    abortWatch?.();
  };

  void cycle();
  return { close };
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /aborted/i.test(error.message));
}
