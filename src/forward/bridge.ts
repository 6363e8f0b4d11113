/**
 * One attempt of one accepted TCP connection: a port-forward WebSocket to one pod through
 * client-node's PortForward (channel 0 = data, channel 1 = error, each opened with the 2-byte port).
 * It never touches the local socket: the caller decides, from the result, whether the connection
 * is over or may be replayed on another pod (nothing came back yet).
 */
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import type { PortForward } from '@kubernetes/client-node';

export interface BridgeResult {
  /** How the stream ended: the pod side closed it, it failed, or the client / forward went away. */
  end: 'closed' | 'failed' | 'aborted';
  /** At least one byte came back from the pod (the connection can no longer move to another pod). */
  responded: boolean;
  /** Why it failed: the API's error channel text, the upgrade failure, or a timeout. */
  error?: string;
}

/** The parts of the `ws` WebSocket that client-node hands back and the bridge uses. */
interface ForwardSocket {
  readyState: number;
  close(): void;
  once(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface BridgeOptions {
  namespace: string;
  pod: string;
  port: number;
  /** Bound on the WebSocket upgrade; client-node has none of its own. */
  connectTimeoutMs: number;
  /** The client closed its socket, or the forward is closing. */
  signal: AbortSignal;
  /**
   * The pod can no longer answer (the pod watch says so): the attempt fails at once. Its stream
   * cannot be trusted to end by itself: a real kubelet may keep the port-forward of a deleted pod
   * open, with nothing ever coming back.
   */
  podLost?: AbortSignal;
  /** The WebSocket is open: from now on the client's bytes reach the pod. */
  onOpen?(): void;
  /** Bytes from the pod, in order. */
  onData(chunk: Buffer): void;
}

export function bridgeConnection(portForward: PortForward, input: Readable, options: BridgeOptions): Promise<BridgeResult> {
  return new Promise<BridgeResult>((resolve) => {
    let finished = false;
    let ws: ForwardSocket | undefined;
    let errorText = '';
    let responded = false;
    const finish = (end: BridgeResult['end'], error?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      options.podLost?.removeEventListener('abort', onLost);
      if (ws && ws.readyState <= 1) ws.close();
      resolve({ end, responded, error });
    };
    const onAbort = (): void => finish('aborted');
    // After an answer began, the pod's going ends the stream as its close would; before, it is a failure (replayable).
    const onLost = (): void => (responded ? finish('closed') : finish('failed', `pod ${options.pod} went away before answering`));

    const output = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        // The port prefix arrives as an empty chunk: only real bytes count as an answer.
        if (chunk.length > 0 && !finished) {
          responded = true;
          options.onData(chunk);
        }
        callback();
      },
    });
    const errors = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        errorText += chunk.toString('utf8');
        callback();
      },
    });
    const timer = setTimeout(
      () => finish('failed', `port-forward to pod ${options.pod} did not open within ${options.connectTimeoutMs} ms`),
      options.connectTimeoutMs,
    );
    // The client may be gone already (it connected and closed while an earlier attempt failed).
    if (options.signal.aborted) return finish('aborted');
    options.signal.addEventListener('abort', onAbort, { once: true });
    if (options.podLost?.aborted) return onLost();
    options.podLost?.addEventListener('abort', onLost, { once: true });

    portForward
      .portForward(options.namespace, options.pod, [options.port], output, errors, input)
      .then((opened) => {
        ws = opened as unknown as ForwardSocket;
        if (finished) {
          ws.close();
          return;
        }
        clearTimeout(timer);
        options.onOpen?.();
        ws.on('error', (error) => finish('failed', `port-forward to pod ${options.pod} failed: ${error.message}`));
        // The error channel carries the kubelet's reason ("error forwarding port 8080 to pod …").
        ws.once('close', () => (errorText.trim() ? finish('failed', errorText.trim()) : finish('closed')));
      })
      .catch((error: unknown) => finish('failed', `port-forward to pod ${options.pod} failed: ${describeUpgradeError(error)}`));
  });
}

function describeUpgradeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  // ws reports handshake failures as an ErrorEvent-like object with `message`.
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
