/**
 * A fake Kubernetes API server for tests: a real HTTPS server on 127.0.0.1 that
 * @kubernetes/client-node talks to through a real kubeconfig file. See README.md for what is faithful
 * and what is simplified.
 *
 *   const kube = await startFakeKube();
 *   process.env.KUBECONFIG = kube.kubeconfigPath;   // or pass it to devloop
 *   …
 *   kube.controls.failImage(/broken/, 'ImagePullBackOff');
 *   await kube.stop();
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { certificate } from './tls.js';
import { Store } from './store.js';
import { Discovery } from './discovery.js';
import { Registry } from './registry.js';
import { Kubelet, type FailureMode } from './controllers/kubelet.js';
import { ControllerManager } from './controllers/manager.js';
import { ApiServer, type RequestFilter, type RequestLogEntry } from './server.js';
import { SimulatedRuntime } from './simulated-runtime.js';
import type { PodRuntime } from './runtime.js';
import type { ObjectReader, ServerVersion } from './context.js';
import type { KubeObject } from './types.js';

export type { PodRuntime, ContainerStart, ContainerExit, Endpoint, PodKey, ExecIO } from './runtime.js';
export type { SubresourceContext, ObjectReader, ServerVersion } from './context.js';
export type { RequestLogEntry, RequestFilter } from './server.js';
export type { FailureMode } from './controllers/kubelet.js';
export type { KubeObject, FakePod, Status } from './types.js';
export { SimulatedRuntime } from './simulated-runtime.js';
export { LogBuffer } from './logbuffer.js';
export { podKeyOf } from './runtime.js';

export interface FakeKubeOptions {
  /** What runs pods' containers. Default: a new SimulatedRuntime (HTTP servers on 127.0.0.1). */
  runtime?: PodRuntime;
  /** The kubeconfig context's namespace (created if missing). Default "default". */
  namespace?: string;
  /** The kubeconfig context (and cluster/user) name. Default "fake". */
  contextName?: string;
  /** Behave like a pre-1.16 server: reject application/apply-patch+yaml with 415. */
  oldServer?: boolean;
  /**
   * The Kubernetes version served on /version and followed where servers differ by version: exec
   * negotiates `v5.channel.k8s.io` (stdin half-close) from 1.30, only v4 and older before. Default v1.30.4.
   */
  version?: string;
  /** Speeds of the simulated cluster, in ms (defaults in brackets). */
  timing?: Partial<Timing>;
}

export interface Timing {
  /** Scheduled → containers started [15]. */
  podStartMs: number;
  /** First image-pull / crash back-off; doubles per retry up to 8x [60]. */
  backoffMs: number;
  /** How long a simulated crashing container runs before it exits 1 [20]. */
  crashRunMs: number;
  /** Graceful pod termination time before the pod object goes [10]. */
  terminationMs: number;
  /** Interval of BOOKMARK events on watches that allow them [1000]. */
  bookmarkMs: number;
}

export interface FakeKubeControls {
  /** Pods whose container image matches fail this way until clearFailures() (later rules win). */
  failImage(match: string | RegExp, mode: FailureMode): void;
  /** Forget every failImage rule; failing pods recover on their next back-off retry, NotReady ones at the next pass. */
  clearFailures(): void;
  /** The next `n` requests (matching `filter`) get a Status with this code instead of being served. */
  failNextRequests(n: number, status: 500 | 409 | 503, filter?: RequestFilter): void;
  /** Ends every open watch stream (clients must resume from their last resourceVersion). */
  dropWatches(): void;
  setOldServer(old: boolean): void;
  /**
   * Port-forwards to a pod that is deleted stall instead of being reset: the WebSocket stays open and
   * nothing more comes back, no error, no close (seen on a real v1.26 kubelet/containerd for requests
   * in flight on a deleted pod). Off by default.
   */
  stallPortForwardsOfGonePods(on: boolean): void;
  /** A crash or eviction: the pod disappears at once (no graceful termination); its controller replaces it. */
  deletePod(namespace: string, name: string): Promise<void>;
  /** Forget the watch history, so a watch from any older resourceVersion gets 410 Expired. */
  compactWatchHistory(): void;
  /** Sends a BOOKMARK now on every watch that allows bookmarks. */
  sendBookmarks(): void;
  /**
   * An API server outage: `true` stops listening (connections are refused) and resets every open
   * connection (watches, log streams, port-forwards); `false` listens again on the same port. The
   * store and controllers (and the pods' containers) keep running, as on a real control plane restart.
   */
  setUnavailable(down: boolean): Promise<void>;
}

export interface FakeKube {
  /** https://127.0.0.1:<port> */
  url: string;
  /** A kubeconfig file (cluster with CA data, user with a bearer token, context with namespace). */
  kubeconfigPath: string;
  contextName: string;
  namespace: string;
  /** The bearer token the server demands (401 Status without it). */
  token: string;
  /** PEM of the server's self-signed certificate (also in the kubeconfig). */
  caCert: string;
  /** TLS connections the server accepted so far. */
  connections(): number;
  runtime: PodRuntime;
  objects: ObjectReader;
  /** Every request served, oldest first (clear it with `requests.length = 0`). */
  requests: RequestLogEntry[];
  controls: FakeKubeControls;
  /** Resolves when `predicate` holds for the object (polls the store; rejects after timeoutMs). */
  waitFor(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    predicate: (object: KubeObject | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<KubeObject | undefined>;
  stop(): Promise<void>;
}

function parseVersion(version: string): ServerVersion {
  const match = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!match) throw new Error(`fake-kube: version "${version}" is not like v1.26.5`);
  return { major: Number(match[1]), minor: Number(match[2]), gitVersion: `v${match[1]}.${match[2]}.${match[3]}` };
}

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const timing: Timing = { podStartMs: 15, backoffMs: 60, crashRunMs: 20, terminationMs: 10, bookmarkMs: 1000, ...options.timing };
  const contextName = options.contextName ?? 'fake';
  const namespace = options.namespace ?? 'default';
  const token = randomBytes(16).toString('hex');
  const ownsRuntime = !options.runtime;
  const runtime = options.runtime ?? new SimulatedRuntime();

  const store = new Store();
  const discovery = new Discovery();
  const registry = new Registry(store, discovery);
  registry.bootstrap([namespace]);
  const kubelet = new Kubelet(registry, runtime, timing);
  const manager = new ControllerManager(registry, kubelet);
  const tls = await certificate();
  const server = new ApiServer({
    registry, runtime, kubelet, token, tls, oldServer: options.oldServer ?? false, bookmarkMs: timing.bookmarkMs, version: parseVersion(options.version ?? 'v1.30.4'),
  });
  const port = await server.listen();
  manager.start();

  const url = `https://127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'fake-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      clusters: [{ name: contextName, cluster: { server: url, 'certificate-authority-data': Buffer.from(tls.cert).toString('base64') } }],
      users: [{ name: contextName, user: { token } }],
      contexts: [{ name: contextName, context: { cluster: contextName, user: contextName, namespace } }],
      'current-context': contextName,
    }),
  );

  const objects: ObjectReader = {
    get: (apiVersion, kind, ns, name) => registry.peek(apiVersion, kind, ns, name),
    list: (kind, ns) => registry.peekList(kind, ns),
  };

  let stopped = false;
  return {
    url,
    kubeconfigPath,
    contextName,
    namespace,
    token,
    caCert: tls.cert,
    connections: () => server.connectionsAccepted,
    runtime,
    objects,
    requests: server.requestLog,
    controls: {
      failImage: (match, mode) => kubelet.failImage(match, mode),
      clearFailures: () => kubelet.clearFailures(),
      failNextRequests: (n, status, filter) => server.failNext(n, status, filter),
      dropWatches: () => server.dropWatches(),
      setOldServer: (old) => server.setOldServer(old),
      stallPortForwardsOfGonePods: (on) => server.stallPortForwardsOfGonePods(on),
      deletePod: (ns, name) => kubelet.evict(ns, name),
      compactWatchHistory: () => store.compact(),
      sendBookmarks: () => server.sendBookmarks(),
      setUnavailable: (down) => server.setUnavailable(down),
    },
    async waitFor(apiVersion, kind, ns, name, predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const object = registry.peek(apiVersion, kind, ns, name);
        if (predicate(object)) return object;
        if (Date.now() > deadline) {
          throw new Error(`fake-kube: timed out after ${timeoutMs}ms waiting for ${kind} ${ns ? `${ns}/` : ''}${name}; last seen: ${JSON.stringify(object?.status ?? object ?? null)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      manager.stop();
      await kubelet.stop();
      await server.close();
      if (ownsRuntime) await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
