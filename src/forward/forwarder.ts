/**
 * One forward: a local listener devloop owns plus the pod it currently points at. The listener is
 * bound once and kept for the whole session; only the target behind it changes, so a redeploy never
 * moves or briefly closes the local port.
 */
import { createServer, type Socket } from 'node:net';
import type { PortForward } from '@kubernetes/client-node';
import type { Emit } from '../events/bus.js';
import type { ForwardEvent } from '../events/types.js';
import type { KubeClient } from '../kube/client.js';
import { bindFirstFree } from './listen.js';
import { bridgeConnection, type BridgeResult } from './bridge.js';
import type { ResolvedResource } from './resolve.js';
import { followTarget, formatWait, type ForwardTarget, type TargetPod } from './target.js';

/** How long a connection whose pod vanished before the upgrade waits for another pod. */
const RETRY_WAIT_MS = 1_000;
/** Bound on waiting for the first pod list. */
const SYNC_WAIT_MS = 10_000;

function raceTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

export interface ForwardSpec {
  /** As written by the user ("service/hello"); events name the forward by it. */
  resource: string;
  /** As written by the user: a number or a port name. */
  port: number | string;
  address: string;
  /** Requested local port; the bound one may be higher when it is taken. */
  localPort: number;
}

export interface ForwardTimeouts {
  /** How long a connection is held while no pod is Ready before it is refused. */
  podWaitMs: number;
  /** Bound on opening the port-forward WebSocket for one connection. */
  connectTimeoutMs: number;
}

export interface Forward {
  readonly spec: ForwardSpec;
  /** The port actually bound, fixed for the forward's life. */
  readonly localPort: number;
  target(): string | undefined;
  /** Connections accepted / failed since start (for tests and the bench). */
  stats(): { connections: number; failed: number };
  update(resolved: ResolvedResource): void;
  close(): Promise<void>;
}

export interface StartForwardOptions {
  kube: KubeClient;
  portForward: PortForward;
  spec: ForwardSpec;
  resolved: ResolvedResource;
  emit: Emit;
  timeouts: ForwardTimeouts;
  /** Ports already bound by this session. */
  reserved?: ReadonlySet<number>;
}

export async function startForward(options: StartForwardOptions): Promise<Forward> {
  const { spec, emit, timeouts, resolved } = options;
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  const stats = { connections: 0, failed: 0 };
  const server = createServer({ noDelay: true });
  const localPort = await bindFirstFree(server, spec.address, spec.localPort, { owner: spec.resource, reserved: options.reserved });

  const event = (status: ForwardEvent['status'], extra: { pod?: string; message?: string } = {}): void =>
    emit({ type: 'forward', resource: spec.resource, port: spec.port, localPort, address: spec.address, status, ...extra });

  if (localPort !== spec.localPort) {
    const message = `localPort ${spec.localPort} is in use, forwarding ${spec.resource} on ${localPort}`;
    emit({ type: 'notice', level: 'warn', message, hint: 'this choice is kept until devloop exits' });
  }

  const target: ForwardTarget = followTarget(
    options.kube,
    resolved,
    (error) => {
      if (!closing.signal.aborted) event('reconnecting', { message: `watching pods failed, retrying: ${error.message.split('\n')[0]}` });
    },
    () => {
      // The API server answers again (after an outage): say the forward is back, or the last word
      // would stay "reconnecting" while the same pod keeps serving.
      const pod = target.current();
      if (pod && !closing.signal.aborted) event('ready', { pod: pod.pod, message: `watching pods again; serving from pod ${pod.pod}` });
    },
  );
  let waitingAnnounced = false;
  target.onChange((next, previous) => {
    if (next) {
      waitingAnnounced = false;
      event('ready', { pod: next.pod, message: previous ? `now serving from pod ${next.pod} (was ${previous.pod})` : undefined });
    } else if (previous) {
      waitingAnnounced = true;
      event('reconnecting', { message: `pod ${previous.pod} is gone; waiting for a Ready pod` });
    }
  });

  // Start with the pods listed, so the first `ready` comes before the caller goes on and an early
  // connection is not told "no Ready pod" while the list is on its way.
  await raceTimeout(target.synced(), SYNC_WAIT_MS);

  const handle = async (socket: Socket): Promise<void> => {
    stats.connections++;
    await raceTimeout(target.synced(), SYNC_WAIT_MS);
    let pod = target.current();
    if (!pod) {
      if (!waitingAnnounced) {
        waitingAnnounced = true;
        event('reconnecting', { message: `no Ready pod yet; holding connections up to ${formatWait(timeouts.podWaitMs)}` });
      }
      try {
        pod = await target.wait(timeouts.podWaitMs, closing.signal);
      } catch (error) {
        stats.failed++;
        socket.destroy();
        if (!closing.signal.aborted) event('error', { message: (error as Error).message });
        return;
      }
    }
    if (socket.destroyed) return;
    let result = await bridge(socket, pod);
    if (!result.ok && !result.opened && !socket.destroyed && !closing.signal.aborted) {
      // The upgrade failed before anything reached the pod (it was just deleted, typically during
      // a rollout): the same connection can go to the next Ready pod instead.
      const failedPod = pod.pod;
      const next = await target.wait(Math.min(timeouts.podWaitMs, RETRY_WAIT_MS), closing.signal, failedPod).catch(() => undefined);
      if (next && !socket.destroyed) {
        pod = next;
        result = await bridge(socket, next);
      }
    }
    if (!result.opened) socket.destroy();
    if (result.ok || closing.signal.aborted) return;
    stats.failed++;
    // A connection cut because its pod went away is expected during a rollout: the ready/
    // reconnecting events already say so. Anything else is worth a line.
    if (target.current()?.pod === pod.pod) event('error', { pod: pod.pod, message: `connection failed: ${result.error}` });
  };

  const bridge = (socket: Socket, pod: TargetPod): Promise<BridgeResult> =>
    bridgeConnection(options.portForward, socket, {
      namespace: resolved.namespace,
      pod: pod.pod,
      port: pod.port,
      connectTimeoutMs: timeouts.connectTimeoutMs,
    });

  let closed: Promise<void> | undefined;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    void handle(socket);
  });

  return {
    spec,
    localPort,
    target: () => target.current()?.pod,
    stats: () => ({ ...stats }),
    update: (next) => target.update(next),
    close() {
      closed ??= (async () => {
        closing.abort();
        target.close();
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await done;
        event('stopped');
      })();
      return closed;
    },
  };
}
