/**
 * One accepted TCP connection ↔ one port-forward WebSocket to a pod, through client-node's
 * PortForward (channel 0 = data, channel 1 = error, each opened with the 2-byte port). The result
 * says how the connection ended, so the listener can tell a failed connection from a finished one.
 */
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { PortForward } from '@kubernetes/client-node';

export interface BridgeResult {
  ok: boolean;
  /**
   * False when the WebSocket never opened: nothing reached the pod and the local socket is left
   * untouched, so the caller may try another pod with the same connection.
   */
  opened: boolean;
  /** Why it failed: the API's error channel text, the upgrade failure, or a timeout. */
  error?: string;
}

/** The parts of the `ws` WebSocket that client-node hands back and the bridge uses. */
interface ForwardSocket {
  readyState: number;
  close(): void;
  terminate?(): void;
  once(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface BridgeOptions {
  namespace: string;
  pod: string;
  port: number;
  /** Bound on the WebSocket upgrade; client-node has none of its own. */
  connectTimeoutMs: number;
}

export function bridgeConnection(portForward: PortForward, socket: Socket, options: BridgeOptions): Promise<BridgeResult> {
  return new Promise<BridgeResult>((resolve) => {
    let finished = false;
    let ws: ForwardSocket | undefined;
    let errorText = '';
    const finish = (result: BridgeResult): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.off('close', onClose);
      resolve(result);
    };
    // A failed connection is reset so the local client sees an error, not an empty reply.
    const fail = (message: string): void => {
      finish({ ok: false, opened: true, error: message });
      socket.destroy();
      if (ws && ws.readyState <= 1) ws.close();
    };

    const errors = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        errorText += chunk.toString('utf8');
        callback();
      },
    });
    const timer = setTimeout(
      () => finish({ ok: false, opened: false, error: `port-forward to pod ${options.pod} did not open within ${options.connectTimeoutMs} ms` }),
      options.connectTimeoutMs,
    );

    const onClose = (): void => {
      if (ws && ws.readyState <= 1) ws.close();
      finish({ ok: errorText === '', opened: ws !== undefined, error: errorText || undefined });
    };
    socket.on('error', () => undefined); // resets from the client end the connection via 'close'
    socket.once('close', onClose);

    portForward
      .portForward(options.namespace, options.pod, [options.port], socket, errors, socket)
      .then((opened) => {
        ws = opened as unknown as ForwardSocket;
        if (finished) {
          ws.close();
          return;
        }
        ws.on('error', (error) => fail(`port-forward to pod ${options.pod} failed: ${error.message}`));
        ws.once('close', () => {
          // The error channel carries the kubelet's reason ("error forwarding port 8080 to pod …").
          if (errorText) fail(errorText.trim());
          else {
            finish({ ok: true, opened: true });
            socket.end();
          }
        });
      })
      .catch((error: unknown) => finish({ ok: false, opened: false, error: `port-forward to pod ${options.pod} failed: ${describeUpgradeError(error)}` }));
  });
}

function describeUpgradeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  // ws reports handshake failures as an ErrorEvent-like object with `message`.
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}
