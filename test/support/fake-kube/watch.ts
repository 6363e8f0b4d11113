/**
 * Watch streams: newline-delimited JSON events `{"type":…,"object":…}` over a chunked 200 response,
 * as the API server's watch cache serves them:
 *  - no resourceVersion (or "0"): synthetic ADDED events for what exists, then changes;
 *  - resourceVersion=N: every change after N, or one ERROR event carrying a 410 Expired Status
 *    ("too old resource version") when history no longer reaches back to N;
 *  - selectors are applied to both the old and new object, so an object leaving the selection is
 *    sent as DELETED and one entering it as ADDED;
 *  - timeoutSeconds ends the stream; allowWatchBookmarks gets periodic BOOKMARK events.
 */
import type { ServerResponse } from 'node:http';
import type { Registry } from './registry.js';
import type { ResourceInfo } from './discovery.js';
import { apiVersionOf } from './discovery.js';
import type { Matcher } from './selectors.js';
import type { StoreEvent } from './store.js';
import { statuses } from './status.js';
import type { KubeObject } from './types.js';

export interface WatchRequest {
  res: ResourceInfo;
  namespace: string | undefined;
  matcher: Matcher;
  resourceVersion: string | null;
  timeoutSeconds?: number;
  bookmarks: boolean;
}

export interface OpenWatch {
  /** Ends the stream the way a dropped connection does (the client sees EOF). */
  drop(): void;
  bookmark(): void;
}

export function serveWatch(registry: Registry, request: WatchRequest, res: ServerResponse, bookmarkMs: number, onEnd: () => void): OpenWatch {
  const { res: info, namespace, matcher } = request;
  const key = registry.key(info);
  const apiVersion = apiVersionOf(info);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();

  let ended = false;
  let lastRv = registry.store.resourceVersion;
  const send = (type: string, object: unknown) => {
    if (!ended) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const shape = (object: KubeObject): KubeObject => ({ ...object, apiVersion, kind: info.kind });
  const inScope = (object: KubeObject) => !info.namespaced || namespace === undefined || object.metadata.namespace === namespace;

  const deliver = (event: StoreEvent) => {
    lastRv = event.rv;
    if (event.resource !== key) return;
    if (!inScope(event.object)) return;
    const now = matcher(event.object);
    const before = event.previous ? matcher(event.previous) : false;
    if (event.type === 'ADDED') {
      if (now) send('ADDED', shape(event.object));
    } else if (event.type === 'MODIFIED') {
      if (now && before) send('MODIFIED', shape(event.object));
      else if (now) send('ADDED', shape(event.object));
      else if (before) send('DELETED', shape(event.object));
    } else if (before || now) send('DELETED', shape(event.object));
  };

  let bookmarkTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let unsubscribe: () => void = () => {};
  const finish = () => {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(bookmarkTimer);
    clearTimeout(timeoutTimer);
    res.end();
    onEnd();
  };

  const rv = request.resourceVersion;
  if (!rv || rv === '0') {
    for (const object of registry.list(info, namespace)) if (matcher(object)) send('ADDED', object);
    unsubscribe = registry.subscribe(deliver);
  } else {
    const from = Number(rv);
    const backlog = Number.isFinite(from) ? registry.store.since(from) : 'expired';
    if (backlog === 'expired') {
      send('ERROR', statuses.gone(`too old resource version: ${rv} (${registry.store.oldestResumable})`));
      // The real server leaves the client to close after the error; ending is equivalent for clients.
      setImmediate(finish);
      return { drop: finish, bookmark: () => {} };
    }
    for (const event of backlog) deliver(event);
    unsubscribe = registry.subscribe(deliver);
  }

  const bookmark = () => {
    if (request.bookmarks) send('BOOKMARK', { kind: info.kind, apiVersion, metadata: { resourceVersion: String(lastRv) } });
  };
  bookmarkTimer = setInterval(bookmark, bookmarkMs);
  bookmarkTimer.unref();
  timeoutTimer = request.timeoutSeconds ? setTimeout(finish, request.timeoutSeconds * 1000) : undefined;
  res.on('close', finish);
  return { drop: finish, bookmark };
}
