/**
 * Log streaming for the pods devloop deployed: a pod watch on their labels decides which containers
 * to follow; each container gets one follow stream at a time, resumed without duplicates when it
 * drops, restarted when the container restarts, and closed when its pod is gone.
 */
import type { Log, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Emit } from '../events/bus.js';
import type { KubeClient } from '../kube/client.js';
import { watchPods } from '../forward/pod-watch.js';
import { LogCursor } from './cursor.js';
import { readinessReporter } from './ready.js';
import { streamOnce, type StreamEnd } from './stream.js';

export interface StartLogStreamsOptions {
  kube: KubeClient;
  emit: Emit;
  signal: AbortSignal;
  namespace: string;
  /** e.g. "devloop.dev/config=hello,devloop.dev/run-id=abc" */
  labelSelector: string;
  /** Retries of a dropped stream while its container still runs, before waiting for the next pod change. */
  maxRetries?: number;
}

export interface LogSession {
  /** Containers being followed right now, as "pod/container". */
  following(): string[];
  close(): Promise<void>;
}

const OPEN_TIMEOUT_MS = 10_000;

interface Tail {
  pod: string;
  uid: string;
  container: string;
  cursor: LogCursor;
  active?: AbortController;
  ended?: Promise<void>;
  retryTimer?: NodeJS.Timeout;
  failures: number;
  /** A container instance whose log was read to its end (or given up on): not streamed again. */
  doneInstance?: string;
  /** doneInstance was given up on after failures (not read to its end): retried once the API is back. */
  gaveUp?: boolean;
}

export function startLogStreams(options: StartLogStreamsOptions): LogSession {
  const { kube, emit, namespace } = options;
  const maxRetries = options.maxRetries ?? 6;
  const log: Log = new kube.lib.Log(kube.kc);
  const tails = new Map<string, Tail>();
  let closed = false;
  let closing: Promise<void> | undefined;

  const watch = watchPods(kube, {
    namespace,
    labelSelector: options.labelSelector,
    // The pod watch lists again after failing: the API server is back (after an outage, say), so
    // streams given up on while it was away get another chance, resuming from their cursors.
    onRecover: () => {
      for (const tail of tails.values()) {
        if (!tail.gaveUp) continue;
        tail.gaveUp = false;
        tail.doneInstance = undefined;
        tail.failures = 0;
      }
    },
    onError: (error) => {
      if (!closed) emit({ type: 'notice', level: 'warn', message: `watching pods for logs failed, retrying: ${error.message.split('\n')[0]}` });
    },
  });

  const stop = (key: string, tail: Tail): void => {
    clearTimeout(tail.retryTimer);
    tail.active?.abort();
    tails.delete(key);
  };

  const start = (tail: Tail, instance: string): void => {
    const controller = new AbortController();
    tail.active = controller;
    tail.ended = streamOnce(log, {
      namespace,
      pod: tail.pod,
      container: tail.container,
      cursor: tail.cursor,
      signal: controller.signal,
      openTimeoutMs: OPEN_TIMEOUT_MS,
      onLine: (line) => emit({ type: 'log', line, pod: tail.pod, container: tail.container }),
    }).then((end) => finished(tail, instance, end));
  };

  const finished = (tail: Tail, instance: string, end: StreamEnd): void => {
    tail.active = undefined;
    if (closed || end.reason === 'aborted' || tails.get(keyOf(tail.pod, tail.container)) !== tail) return;
    if (end.status === 404) return; // the pod is gone; its DELETED event removes the tail
    if (end.lines > 0) tail.failures = 0;
    const status = statusOf(findPod(tail.pod), tail.container);
    const stillRunning = Boolean(status?.state?.running) && instanceOf(status) === instance;
    if (end.reason === 'eof' && !stillRunning) {
      // The container stopped and its log was read to the end; a restart is a new instance.
      tail.doneInstance = instance;
      return;
    }
    tail.failures++;
    if (tail.failures > maxRetries) {
      tail.doneInstance = instance;
      tail.gaveUp = true;
      emit({ type: 'notice', level: 'warn', message: `log stream of ${tail.pod} ${tail.container} keeps failing (${describeEnd(end)}); waiting for the pod to change` });
      return;
    }
    // Dropped while the container runs (or refused for now): resume from the cursor after a pause.
    const delay = Math.min(100 * 2 ** (tail.failures - 1), 3_000);
    tail.retryTimer = setTimeout(() => {
      tail.retryTimer = undefined;
      reconcile();
    }, delay);
  };

  const findPod = (name: string): V1Pod | undefined => watch.pods().find((c) => c.pod.metadata?.name === name)?.pod;

  const reconcile = (): void => {
    if (closed) return;
    const wanted = new Set<string>();
    for (const { pod } of watch.pods()) {
      const name = pod.metadata?.name;
      const uid = pod.metadata?.uid ?? '';
      if (!name) continue;
      const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
      for (const container of containers) {
        const key = keyOf(name, container.name);
        wanted.add(key);
        let tail = tails.get(key);
        if (tail && tail.uid !== uid) {
          stop(key, tail); // same name, new pod (pod/x recreated): a fresh log
          tail = undefined;
        }
        if (!tail) {
          tail = { pod: name, uid, container: container.name, cursor: new LogCursor(), failures: 0 };
          tails.set(key, tail);
        }
        if (tail.active || tail.retryTimer) continue;
        const status = statusOf(pod, container.name);
        if (!status || !(status.state?.running || status.state?.terminated)) continue; // nothing to read yet
        const instance = instanceOf(status);
        if (tail.doneInstance === instance) continue;
        start(tail, instance);
      }
    }
    for (const [key, tail] of tails) if (!wanted.has(key)) stop(key, tail);
  };

  watch.onChange(reconcile);
  // The same watch tells the live status how many pods of each workload are ready.
  const reportReadiness = readinessReporter(emit);
  watch.onChange(() => {
    if (!closed) reportReadiness(watch.pods().map((c) => c.pod));
  });

  const session: LogSession = {
    following: () => [...tails.entries()].filter(([, t]) => t.active).map(([key]) => key),
    close() {
      if (!closing) {
        closed = true;
        options.signal.removeEventListener('abort', onAbort);
        watch.close();
        const ending = [...tails.values()].map((t) => t.ended);
        for (const [key, tail] of tails) stop(key, tail);
        closing = Promise.all(ending).then(() => undefined);
      }
      return closing;
    },
  };
  const onAbort = (): void => void session.close();
  if (options.signal.aborted) void session.close();
  else options.signal.addEventListener('abort', onAbort, { once: true });
  return session;
}

/** One line for a notice: client-node's ApiException messages span lines ("HTTP-Code: 500\nMessage: …"). */
function describeEnd(end: StreamEnd): string {
  const text = end.error?.message ?? end.reason;
  const message = /^Message: (.*)$/m.exec(text)?.[1];
  const line = (message ? `${message}${end.status !== undefined ? ` (HTTP ${end.status})` : ''}` : text).replace(/\s*\n\s*/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

function keyOf(pod: string, container: string): string {
  return `${pod}/${container}`;
}

function statusOf(pod: V1Pod | undefined, container: string): V1ContainerStatus | undefined {
  const statuses = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])];
  return statuses.find((s) => s.name === container);
}

/** One life of a container: a restart makes a new one (restartCount, containerID and start time change). */
function instanceOf(status: V1ContainerStatus | undefined): string {
  if (!status) return '';
  const started = status.state?.running?.startedAt ?? status.state?.terminated?.startedAt;
  return `${status.restartCount}:${status.containerID ?? ''}:${started ? new Date(started).getTime() : ''}`;
}
