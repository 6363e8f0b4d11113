/**
 * One follow request for one container's log through client-node's `Log`, split into lines, with
 * the timestamps (asked for so resuming is exact) stripped before they are handed on.
 */
import { Writable, type Readable } from 'node:stream';
import type { Log } from '@kubernetes/client-node';
import type { LogCursor } from './cursor.js';
import { splitTimestamp } from './cursor.js';

export interface StreamOnceOptions {
  namespace: string;
  pod: string;
  container: string;
  cursor: LogCursor;
  onLine: (text: string) => void;
  signal: AbortSignal;
  /** Bound on getting the response headers; client-node's Log has none of its own. */
  openTimeoutMs: number;
}

export interface StreamEnd {
  /** eof: the server ended the stream (the container stopped, usually); error: it failed or dropped. */
  reason: 'eof' | 'error' | 'aborted';
  /** HTTP status of a refused request (400 waiting to start, 404 pod gone). */
  status?: number;
  error?: Error;
  lines: number;
}

const KUBELET_LOG_GONE = /^unable to retrieve container logs for \S+$/;

export function streamOnce(log: Log, options: StreamOnceOptions): Promise<StreamEnd> {
  return new Promise<StreamEnd>((resolve) => {
    let lines = 0;
    let partial = '';
    let settled = false;
    let abortRequest: (() => void) | undefined;
    const accept = options.cursor.begin();

    const emitLine = (raw: string): void => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      const stamped = splitTimestamp(line);
      // The kubelet's answer for a container whose log is gone (removed after it stopped), sent as the
      // body without a timestamp: the end of that log, not a line of it (counted, it reset the retry
      // backoff and was printed every 100 ms until the pod was deleted).
      if (!stamped && KUBELET_LOG_GONE.test(line)) return settle({ reason: 'eof' });
      if (stamped && !accept(stamped.ns)) return;
      lines++;
      options.onLine(stamped ? stamped.text : line);
    };
    const settle = (end: Omit<StreamEnd, 'lines'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(openTimer);
      options.signal.removeEventListener('abort', onAbort);
      if (partial !== '' && end.reason !== 'aborted') emitLine(partial);
      partial = '';
      abortRequest?.();
      resolve({ ...end, lines });
    };
    const onAbort = (): void => settle({ reason: 'aborted' });

    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (!settled) {
          const text = partial + chunk.toString('utf8');
          const pieces = text.split('\n');
          partial = pieces.pop() ?? '';
          for (const piece of pieces) emitLine(piece);
        }
        callback();
      },
      final(callback) {
        settle({ reason: 'eof' });
        callback();
      },
    });
    // client-node pipes the response body into `sink` but does not forward its errors: a dropped
    // connection would otherwise leave this stream open forever.
    sink.on('pipe', (source: Readable) => {
      source.once('error', (error: Error) => settle({ reason: 'error', error }));
      source.once('close', () =>
        settle(source.readableEnded ? { reason: 'eof' } : { reason: 'error', error: new Error('log stream closed before its end') }),
      );
    });

    const openTimer = setTimeout(() => settle({ reason: 'error', error: new Error(`no answer within ${options.openTimeoutMs} ms`) }), options.openTimeoutMs);
    if (options.signal.aborted) return settle({ reason: 'aborted' });
    options.signal.addEventListener('abort', onAbort, { once: true });

    const since = options.cursor.sinceTime();
    log
      .log(options.namespace, options.pod, options.container, sink, { follow: true, timestamps: true, ...(since ? { sinceTime: since } : {}) })
      .then((controller) => {
        abortRequest = () => controller.abort();
        if (settled) controller.abort();
        else clearTimeout(openTimer);
      })
      .catch((error: unknown) => {
        const status = (error as { code?: number }).code;
        settle({ reason: 'error', status: typeof status === 'number' ? status : undefined, error: error instanceof Error ? error : new Error(String(error)) });
      });
  });
}
