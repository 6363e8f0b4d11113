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
import { ClientBytes } from './replay.js';
import type { ResolvedResource } from './resolve.js';
import { followTarget, formatWait, type ForwardTarget, type TargetPod } from './target.js';

/**
 * After a pod failed a connection before answering, how long to wait for the watch to report it
 * gone (so the replay goes elsewhere) before trying that pod again.
 */
const SAME_POD_GRACE_MS = 1_000;
/** Attempts of one connection, over all pods, before it is failed. */
const MAX_ATTEMPTS = 5;
/** Attempts of one connection on one pod (a second one for a transient error). */
const MAX_TRIES_PER_POD = 2;
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
  /** Client bytes kept until the pod's first response byte, for a replay on another pod. */
  replayMaxBytes: number;
}

export interface Forward {
  readonly spec: ForwardSpec;
  /** The port actually bound, fixed for the forward's life. */
  readonly localPort: number;
  target(): string | undefined;
  /** Connections accepted / failed, and attempts replayed on another pod, since start (tests, bench). */
  stats(): { connections: number; failed: number; replayed: number };
  update(resolved: ResolvedResource): void;
  /**
   * Ends the client connections bridged to these pods (gracefully: the client opens a new one). A
   * live update restarted their process: the kubelet closes such streams only about a second later,
   * and a keep-alive client would send its next request into a connection that is already dead.
   */
  endConnections(pods: ReadonlySet<string>): void;
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
  /** The pod each connection is bridged to now. */
  const bridged = new Map<Socket, string>();
  const closing = new AbortController();
  const stats = { connections: 0, failed: 0, replayed: 0 };
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
    socket.on('error', () => undefined); // a reset from the client ends the connection via 'close'
    const client = new ClientBytes(socket, timeouts.replayMaxBytes);
    const gone = new AbortController();
    socket.once('close', () => gone.abort());
    const signal = AbortSignal.any([gone.signal, closing.signal]);
    // The pod's answer, or the reason it had none, handed to the client as is.
    const giveUp = (pod: string, result: BridgeResult): void => {
      if (result.end === 'closed') {
        socket.end();
        return;
      }
      // A reset, so the client sees an error, not a truncated answer.
      stats.failed++;
      socket.destroy();
      if (target.current()?.pod === pod) event('error', { pod, message: `connection failed: ${result.error}` });
    };
    const tries = new Map<string, number>();
    let last: { pod: string; result: BridgeResult } | undefined;

    for (let attempt = 1; ; attempt++) {
      await raceTimeout(target.synced(), SYNC_WAIT_MS);
      let pod: TargetPod;
      try {
        pod = await podFor(last?.pod, signal);
      } catch (error) {
        if (signal.aborted) return;
        stats.failed++;
        socket.destroy();
        event('error', { message: (error as Error).message });
        return;
      }
      if (last && pod.pod === last.pod) {
        // The pod that failed is still the one to use. A stream it closed without a word is its
        // answer; an error is tried once more there (transient), not more.
        if (last.result.end === 'closed' || (tries.get(pod.pod) ?? 0) >= MAX_TRIES_PER_POD) return giveUp(last.pod, last.result);
      }
      tries.set(pod.pod, (tries.get(pod.pod) ?? 0) + 1);
      if (attempt > 1) stats.replayed++;
      bridged.set(socket, pod.pod);
      const result = await bridgeTo(pod, socket, client, signal);
      client.detach();
      if (result.end === 'aborted' || signal.aborted) return;
      if (!result.responded && client.replayable && attempt < MAX_ATTEMPTS) {
        // Nothing came back (refused, reset, killed with its pod, upgrade refused): what the client
        // sent goes to the next Ready pod.
        last = { pod: pod.pod, result };
        continue;
      }
      return giveUp(pod.pod, result);
    }
  };

  /**
   * One attempt of a connection on `pod`. The pod watch ends an attempt whose pod can no longer
   * answer: its stream may never end by itself (a deleted pod's port-forward can stay open and
   * silent). Before the stream opens nothing was sent, so a pod that stopped serving is left at once;
   * after, only a pod that is gone (deleted from the API, or terminating with every container
   * stopped): a terminating pod that still runs may yet answer what it received.
   */
  const bridgeTo = (pod: TargetPod, socket: Socket, client: ClientBytes, signal: AbortSignal): Promise<BridgeResult> => {
    const podLost = new AbortController();
    let opened = false;
    const checkPod = (): void => {
      const state = target.podState(pod.pod);
      if (state === 'gone' || (!opened && state === 'not-serving')) podLost.abort();
    };
    const unwatch = target.onPods(checkPod);
    checkPod();
    return bridgeConnection(options.portForward, client.attach(), {
      namespace: resolved.namespace,
      pod: pod.pod,
      port: pod.port,
      connectTimeoutMs: timeouts.connectTimeoutMs,
      signal,
      podLost: podLost.signal,
      onOpen: () => {
        opened = true;
        checkPod();
      },
      onData: (chunk) => {
        client.responded();
        socket.write(chunk);
      },
    }).finally(unwatch);
  };

  /**
   * The pod for the next attempt. After a failure on pod P: another Ready pod, waiting up to
   * SAME_POD_GRACE_MS for the watch to report P gone, then P again if it is still the one. While
   * no pod is Ready the connection is held, up to podWaitMs.
   */
  const podFor = async (failedPod: string | undefined, signal: AbortSignal): Promise<TargetPod> => {
    const deadline = Date.now() + timeouts.podWaitMs;
    // A waiter is woken with the pod that just became the target; a later event of the same batch
    // may already have taken it back (Ready, then deleted): only the target as it is now counts.
    const still = (pod: TargetPod | undefined): TargetPod | undefined => (pod && target.current()?.pod === pod.pod ? target.current() : undefined);
    if (failedPod) {
      const other = still(await target.wait(SAME_POD_GRACE_MS, signal, failedPod).catch(() => undefined));
      if (other) return other;
    }
    for (;;) {
      const current = target.current();
      if (current) return current;
      if (!waitingAnnounced) {
        waitingAnnounced = true;
        event('reconnecting', { message: `no Ready pod yet; holding connections up to ${formatWait(timeouts.podWaitMs)}` });
      }
      const next = still(await target.wait(Math.max(0, deadline - Date.now()), signal));
      if (next) return next;
    }
  };

  let closed: Promise<void> | undefined;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => (sockets.delete(socket), bridged.delete(socket)));
    handle(socket).catch((error: unknown) => {
      // A bug in one connection must not take the session down: fail that connection, say why.
      socket.destroy();
      if (!closing.signal.aborted) event('error', { message: `connection failed: ${(error as Error).message}` });
    });
  });

  return {
    spec,
    localPort,
    target: () => target.current()?.pod,
    stats: () => ({ ...stats }),
    update: (next) => target.update(next),
    endConnections(pods) {
      for (const [socket, pod] of bridged) if (pods.has(pod)) socket.end();
    },
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
