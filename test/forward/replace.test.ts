/**
 * The forward while pods are replaced, against the fake API server (real WebSocket port-forward
 * protocol, pods killed by the fake kubelet): no request may fail. Requests in flight on a pod that
 * dies before answering are replayed on the next Ready pod; terminating pods are never picked; with
 * one replica, connections are held across the gap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { startForward, type Forward, type ForwardTimeouts } from '../../src/forward/forwarder.js';
import { DEFAULT_FORWARD_TIMEOUTS } from '../../src/forward/index.js';
import { resolveResource } from '../../src/forward/resolve.js';
import type { SimulatedRuntime } from '../support/fake-kube/index.js';
import { freePort } from '../support/services.js';
import { app, deploy, eventually, httpGet, recorder, sleep, startCluster, waitForServingPods, type Cluster } from './helpers.js';

/** How long GET /slow takes (/slow?ms=N: N ms): long enough that a pod is always killed with some in flight. */
const SLOW_MS = 300;

interface Started {
  forward: Forward;
  events: ReturnType<typeof recorder>['events'];
}

async function forwardTo(cluster: Cluster, name: string, timeouts: Partial<ForwardTimeouts> = {}): Promise<Started> {
  const { emit, events } = recorder();
  const resource = `service/${name}`;
  const resolved = await resolveResource(cluster.kube, resource, 80, cluster.kube.namespace);
  const forward = await startForward({
    kube: cluster.kube,
    portForward: new cluster.kube.lib.PortForward(cluster.kube.kc),
    spec: { resource, port: 80, address: '127.0.0.1', localPort: await freePort() },
    resolved,
    emit,
    timeouts: { ...DEFAULT_FORWARD_TIMEOUTS, ...timeouts },
  });
  return { forward, events };
}

async function deployReplicas(cluster: Cluster, name: string, replicas: number): Promise<void> {
  const objects = app({ name, servicePort: 80, targetPort: 'http' });
  objects.deployment.spec!.replicas = replicas;
  await deploy(cluster, objects);
  await waitForServingPods(cluster.fake, name, replicas);
}

/** GET /slow answers after SLOW_MS; requests with x-id are the replay probes below. */
function installHandler(cluster: Cluster, seen: Map<string, string[]>): void {
  const runtime = cluster.fake.runtime as SimulatedRuntime;
  runtime.setHandler(async (pod, _container, req, res) => {
    const name = pod.metadata.name!;
    if (req.url?.startsWith('/slow')) {
      await sleep(Number(/ms=(\d+)/.exec(req.url)?.[1] ?? SLOW_MS));
      res.end(`slow from ${name}\n`);
      return true;
    }
    const id = req.headers['x-id'];
    if (typeof id !== 'string') return false;
    const body = await readBody(req);
    const pods = seen.get(id) ?? [];
    seen.set(id, [...pods, name]);
    const mode = req.headers['x-mode'];
    if (pods.length === 0 && mode === 'die-before-answer') {
      // The pod dies with the request read and nothing answered (a rollout killing it).
      await cluster.fake.controls.deletePod(cluster.fake.namespace, name);
      return true;
    }
    if (pods.length === 0 && mode === 'hang') {
      // Read, never answered: the test deletes this pod meanwhile.
      await new Promise((resolve) => req.socket.once('close', resolve));
      return true;
    }
    if (pods.length === 0 && mode === 'die-after-first-byte') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      await new Promise<void>((resolve) => res.write('partial ', () => resolve()));
      await cluster.fake.controls.deletePod(cluster.fake.namespace, name);
      return true;
    }
    res.end(`${name} ${body.length} ${sha256(body)}`);
    return true;
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** POST `body` over a new connection; resolves with the response body of a 200. */
function post(port: number, body: Buffer, headers: Record<string, string>, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/echo', method: 'POST', agent: false, timeout: timeoutMs, headers: { Connection: 'close', 'Content-Length': String(body.length), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Open loop, like a user's browser: every 100 ms a GET / and a GET /slow on fresh connections,
 * whatever the others are doing, while the current pod is deleted `rounds` times.
 */
async function replaceUnderLoad(cluster: Cluster, name: string, forward: Forward, rounds: number): Promise<{ ok: number; failed: number; failures: string[] }> {
  const core = cluster.kube.core;
  let ok = 0;
  const failures: string[] = [];
  const slowAnsweredBy = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const one = (path: string): void => {
    const done = httpGet(forward.localPort, path, 15_000).then(
      (body) => {
        ok++;
        if (path === '/slow') slowAnsweredBy.add(/from (\S+)/.exec(body)?.[1] ?? body);
      },
      (error: Error) => void failures.push(`${path}: ${error.message}`),
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  let polling = true;
  const poller = (async () => {
    while (polling) {
      one('/');
      one('/slow');
      await sleep(100);
    }
  })();
  try {
    await eventually(() => (ok > 0 ? true : undefined));
    for (let round = 1; round <= rounds; round++) {
      const victim = await eventually(() => forward.target());
      await core.deleteNamespacedPod({ name: victim, namespace: cluster.kube.namespace });
      // Replaced: the forward is on another pod and that pod has answered a slow request.
      await eventually(() => {
        const now = forward.target();
        return now && now !== victim && slowAnsweredBy.has(now) ? true : undefined;
      }, 15_000);
    }
  } finally {
    polling = false;
    await poller;
    await Promise.all([...inFlight]);
  }
  return { ok, failed: failures.length, failures };
}

describe('the forward while pods are replaced (fake API server)', () => {
  let cluster: Cluster;
  const seen = new Map<string, string[]>();

  beforeAll(async () => {
    cluster = await startCluster();
    installHandler(cluster, seen);
    await deployReplicas(cluster, 'web', 2);
    await deployReplicas(cluster, 'echo', 2);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('2 replicas, the serving pod deleted 10 times: no request fails, those cut by a dying pod are replayed', async () => {
    const { forward } = await forwardTo(cluster, 'web');
    try {
      const result = await replaceUnderLoad(cluster, 'web', forward, 10);
      const { replayed } = forward.stats();
      console.log(`fake API, 2 replicas, 10 pod deletions: ${result.ok + result.failed} requests, ${result.failed} failed, ${replayed} replayed`);
      expect(result.failures).toEqual([]);
      expect(result.ok).toBeGreaterThan(20);
      // /slow requests were in flight when their pod was killed: replays did happen.
      expect(replayed).toBeGreaterThan(0);
      expect(forward.stats().failed).toBe(0);
    } finally {
      await forward.close();
    }
  }, 90_000);

  it('a pod that dies with the request read and unanswered: the request and its body go to the next Ready pod', async () => {
    const { forward } = await forwardTo(cluster, 'echo');
    try {
      const first = forward.target()!;
      const body = randomBytes(300 * 1024); // several socket chunks
      const answer = await post(forward.localPort, body, { 'x-id': 'replay-1', 'x-mode': 'die-before-answer' });
      const [pod, length, digest] = answer.split(' ');
      expect(seen.get('replay-1')![0]).toBe(first);
      expect(pod).not.toBe(first);
      expect(seen.get('replay-1')).toEqual([first, pod]);
      expect(Number(length)).toBe(body.length);
      expect(digest).toBe(sha256(body));
      expect(forward.stats()).toMatchObject({ failed: 0, replayed: 1 });
      await waitForServingPods(cluster.fake, 'echo', 2);
    } finally {
      await forward.close();
    }
  });

  it('a connection lasting longer than connectTimeoutMs is not cut (the bound is on the upgrade only)', async () => {
    const { forward } = await forwardTo(cluster, 'web', { connectTimeoutMs: 150 });
    const streams = () => cluster.fake.requests.filter((r) => r.path.endsWith('/portforward')).length;
    try {
      const before = streams();
      expect(await httpGet(forward.localPort, '/slow?ms=1500')).toMatch(/^slow from web-/);
      // One stream, kept open for the whole answer.
      expect(streams() - before).toBe(1);
      expect(forward.stats()).toMatchObject({ failed: 0, replayed: 0 });
    } finally {
      await forward.close();
    }
  });

  it('a client that leaves while its connection waits for a retry (API down) leaves the forward serving', async () => {
    const { forward } = await forwardTo(cluster, 'web');
    try {
      await cluster.fake.controls.setUnavailable(true);
      // The first attempt fails at once (the API refuses); the client goes during the wait before the retry.
      const sockets = await Promise.all([0, 1, 2].map(() => new Promise<Socket>((resolve) => { const s = connect(forward.localPort, '127.0.0.1', () => resolve(s)); })));
      await eventually(() => (forward.stats().connections >= 3 ? true : undefined));
      await sleep(300);
      for (const socket of sockets) socket.destroy();
      await cluster.fake.controls.setUnavailable(false);
      expect(await httpGet(forward.localPort)).toMatch(/^hello from web-/);
      expect(forward.stats().failed).toBe(0);
    } finally {
      await cluster.fake.controls.setUnavailable(false);
      await forward.close();
    }
  });

  it('no replay once the pod has answered a byte: the client sees the cut, no other pod gets the request', async () => {
    const { forward } = await forwardTo(cluster, 'echo');
    try {
      const first = forward.target()!;
      await expect(post(forward.localPort, Buffer.from('once'), { 'x-id': 'answered-1', 'x-mode': 'die-after-first-byte' })).rejects.toThrow();
      expect(seen.get('answered-1')).toEqual([first]);
      expect(forward.stats()).toMatchObject({ failed: 0, replayed: 0 });
      await waitForServingPods(cluster.fake, 'echo', 2);
    } finally {
      await forward.close();
    }
  });

  it('no replay past replayMaxBytes: a larger request cut by its pod fails and is not sent again', async () => {
    const { forward } = await forwardTo(cluster, 'echo', { replayMaxBytes: 64 * 1024 });
    try {
      const first = forward.target()!;
      await expect(post(forward.localPort, randomBytes(200 * 1024), { 'x-id': 'big-1', 'x-mode': 'die-before-answer' })).rejects.toThrow();
      expect(seen.get('big-1')).toEqual([first]);
      expect(forward.stats().replayed).toBe(0);
      // Under the bound the same request is replayed.
      await waitForServingPods(cluster.fake, 'echo', 2);
      const small = randomBytes(32 * 1024);
      const [pod, , digest] = (await post(forward.localPort, small, { 'x-id': 'small-1', 'x-mode': 'die-before-answer' })).split(' ');
      expect(seen.get('small-1')).toEqual([expect.any(String), pod]);
      expect(digest).toBe(sha256(small));
      await waitForServingPods(cluster.fake, 'echo', 2);
    } finally {
      await forward.close();
    }
  });
});

describe('the forward with 1 replica, pods slow to start (fake API server)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // A new pod needs 300 ms to start and the old one is killed 100 ms after its deletion: a gap
    // with no Ready pod at all, and /slow requests cut in flight that can only go to the new pod.
    cluster = await startCluster({ timing: { podStartMs: 300, terminationMs: 100 } });
    installHandler(cluster, new Map());
    await deployReplicas(cluster, 'solo', 1);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('deleted 5 times: connections arriving in the gap are held, those cut are replayed on the new pod, none fails', async () => {
    const { forward, events } = await forwardTo(cluster, 'solo');
    try {
      const result = await replaceUnderLoad(cluster, 'solo', forward, 5);
      const { replayed } = forward.stats();
      console.log(`fake API, 1 replica, 5 pod deletions: ${result.ok + result.failed} requests, ${result.failed} failed, ${replayed} replayed`);
      expect(result.failures).toEqual([]);
      expect(replayed).toBeGreaterThan(0);
      // There was a gap, and the forward said it was holding.
      expect(events.some((e) => e.type === 'forward' && e.status === 'reconnecting')).toBe(true);
    } finally {
      await forward.close();
    }
  }, 90_000);
});

describe('the forward and terminating pods (fake API server)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // Deleted pods keep serving for 1 s, like an app that finishes its requests after SIGTERM.
    cluster = await startCluster({ timing: { terminationMs: 1_000 } });
    await deployReplicas(cluster, 'pair', 2);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('a terminating pod that still answers is never picked', async () => {
    const { forward } = await forwardTo(cluster, 'pair');
    try {
      const victim = forward.target()!;
      await cluster.kube.core.deleteNamespacedPod({ name: victim, namespace: cluster.kube.namespace });
      await eventually(() => (forward.target() && forward.target() !== victim ? true : undefined));
      const terminating = () => cluster.fake.objects.list('Pod', cluster.fake.namespace).find((p) => p.metadata.name === victim && p.metadata.deletionTimestamp);
      expect(terminating()).toBeDefined();
      const answers: string[] = [];
      while (terminating() && answers.length < 50) answers.push(await httpGet(forward.localPort));
      expect(answers.length).toBeGreaterThan(0);
      expect(answers.filter((a) => a.includes(victim))).toEqual([]);
    } finally {
      await forward.close();
    }
  });
});

describe('the forward and a port-forward that stalls when its pod is deleted (fake API server)', () => {
  let cluster: Cluster;
  const seen = new Map<string, string[]>();

  beforeAll(async () => {
    cluster = await startCluster();
    // As a real v1.26 kubelet did: the stream of a request in flight on a deleted pod stays open, silent.
    cluster.fake.controls.stallPortForwardsOfGonePods(true);
    installHandler(cluster, seen);
    await deployReplicas(cluster, 'stall', 2);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('a request stuck on a pod that is deleted is replayed on the next Ready pod as soon as the pod is gone', async () => {
    const { forward } = await forwardTo(cluster, 'stall');
    try {
      const body = Buffer.from('stuck once');
      const answer = post(forward.localPort, body, { 'x-id': 'stall-1', 'x-mode': 'hang' }, 5_000);
      const first = await eventually(() => seen.get('stall-1')?.[0]);
      const deletedAt = Date.now();
      await cluster.kube.core.deleteNamespacedPod({ name: first, namespace: cluster.kube.namespace });
      const [pod, length] = (await answer).split(' ');
      expect(pod).not.toBe(first);
      expect(seen.get('stall-1')).toEqual([first, pod]);
      expect(Number(length)).toBe(body.length);
      // Moved when the watch said the pod was gone, not at some timeout.
      expect(Date.now() - deletedAt).toBeLessThan(2_000);
      expect(forward.stats()).toMatchObject({ failed: 0, replayed: 1 });
    } finally {
      await forward.close();
    }
  });

  it('a request stuck when every pod is deleted is served by a replacement pod once one is Ready', async () => {
    const { forward } = await forwardTo(cluster, 'stall', { podWaitMs: 20_000 });
    try {
      await waitForServingPods(cluster.fake, 'stall', 2);
      const answer = post(forward.localPort, Buffer.from('held'), { 'x-id': 'stall-2', 'x-mode': 'hang' }, 5_000);
      const first = await eventually(() => seen.get('stall-2')?.[0]);
      // Every pod deleted at once (a replacement round): the request waits for a new one.
      const pods = cluster.fake.objects.list('Pod', cluster.fake.namespace).filter((p) => p.metadata.name?.startsWith('stall-'));
      await Promise.all(pods.map((p) => cluster.kube.core.deleteNamespacedPod({ name: p.metadata.name!, namespace: cluster.kube.namespace })));
      const [pod] = (await answer).split(' ');
      expect(pods.map((p) => p.metadata.name)).not.toContain(pod);
      expect(seen.get('stall-2')).toEqual([first, pod]);
      expect(forward.stats().failed).toBe(0);
    } finally {
      await forward.close();
    }
  });
});
