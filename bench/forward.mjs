#!/usr/bin/env node
// Benchmark: time from "pod Ready" (as a watch on the API server sees it) to "first byte through the
// forward", against the in-repo fake API server (compiled to a cache folder first) with its real
// WebSocket port-forward protocol. Each sample: the Deployment is scaled to 0, a client connects to
// the forwarded local port and sends a request (devloop holds it: no Ready pod), the Deployment is
// scaled to 1, and the bench records when its own pod watch reports the new pod Ready and when the
// client gets the first response byte. Target: median ≤ 100 ms. Also prints the plain connect →
// first byte time on a steady forward, for reference.
// Needs `npm run build` (imports dist/). Bounded: 3-minute watchdog, every wait has a timeout.
//   node bench/forward.mjs [--samples 10]
import { connect } from 'node:net';
import { freePort, importDist, importFakeKube, requireDist, sleep, startWatchdog, summarize } from './_support.mjs';

const samples = Number(process.argv[process.argv.indexOf('--samples') + 1]) || 10;
const TARGET_MS = 100;

startWatchdog('forward', 3);
requireDist('forward');
const { startFakeKube } = await importFakeKube('forward', 'fake-kube-forward');
const fake = await startFakeKube();
process.env.KUBECONFIG = fake.kubeconfigPath;
const { createKubeClient } = await importDist('kube/client.js');
const { startPortForwards } = await importDist('forward/index.js');

const kube = await createKubeClient();
const apps = kube.kc.makeApiClient(kube.lib.AppsV1Api);
const namespace = kube.namespace;
const abort = new AbortController();
let session;
let stopWatch = () => {};

try {
  const labels = { app: 'bench', 'devloop.dev/config': 'bench' };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bench', labels },
      spec: {
        replicas: 1, selector: { matchLabels: { app: 'bench' } },
        template: { metadata: { labels }, spec: { containers: [{ name: 'bench', image: 'example.test/bench:1', ports: [{ name: 'http', containerPort: 8080 }] }] } },
      },
    },
  });
  await kube.core.createNamespacedService({
    namespace,
    body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'bench', labels }, spec: { selector: { app: 'bench' }, ports: [{ port: 8080, targetPort: 'http' }] } },
  });

  // The bench's own view of "Ready": a pod watch, independent of devloop's.
  const readyAt = new Map();
  const watch = new kube.lib.Watch(kube.kc);
  const controller = await watch.watch(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: 'app=bench' }, (type, pod) => {
    const ready = (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    if (type !== 'DELETED' && ready && !pod.metadata.deletionTimestamp && !readyAt.has(pod.metadata.name)) readyAt.set(pod.metadata.name, performance.now());
  }, () => {});
  stopWatch = () => controller.abort();

  const localPort = await freePort();
  const events = [];
  session = await startPortForwards({
    kube,
    loaded: { config: { metadata: { name: 'bench' }, portForward: [{ resource: 'service/bench', port: 8080, localPort, address: '127.0.0.1' }] }, file: '', dir: '', activeProfiles: [] },
    emit: (e) => events.push(e),
    signal: abort.signal,
    forwardAllServices: false,
  });
  await until(() => events.some((e) => e.type === 'forward' && e.status === 'ready'), 10_000, 'first ready');

  const steady = [];
  for (let i = 0; i < samples; i++) steady.push(await firstByte(localPort).then(({ sentAt, firstByteAt }) => firstByteAt - sentAt));

  const latencies = [];
  for (let i = 0; i < samples; i++) {
    await scale(0);
    await until(() => !fake.objects.list('Pod', namespace).some((p) => p.metadata.labels?.app === 'bench'), 10_000, 'pods gone');
    const known = new Set(readyAt.keys());
    const pending = firstByte(localPort); // held by devloop until a pod is Ready
    await sleep(50);
    await scale(1);
    const { firstByteAt } = await pending;
    const pod = [...readyAt.keys()].find((name) => !known.has(name));
    if (!pod) throw new Error('the new pod was never seen Ready');
    latencies.push(firstByteAt - readyAt.get(pod));
  }

  report('steady forward, connect → first byte', steady);
  const median = report('pod Ready (API watch) → first byte through the forward', latencies);
  console.log(`target ≤ ${TARGET_MS} ms: ${median <= TARGET_MS ? 'met' : 'NOT met'} (median)`);
  console.log(`local port ${localPort} kept for all ${samples} pod replacements: ${events.filter((e) => e.type === 'forward').every((e) => e.localPort === localPort)}`);
} finally {
  stopWatch();
  abort.abort();
  await session?.close();
  await fake.stop();
}
process.exit(0);

async function scale(replicas) {
  const current = await apps.readNamespacedDeployment({ name: 'bench', namespace });
  current.spec.replicas = replicas;
  await apps.replaceNamespacedDeployment({ name: 'bench', namespace, body: current });
}

/** Opens a connection, sends a GET at once, resolves at the first response byte (bounded). */
function firstByte(port) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no first byte within 15 s'));
    }, 15_000);
    let sentAt = 0;
    socket.once('connect', () => {
      sentAt = performance.now();
      socket.write('GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n');
    });
    socket.once('data', () => {
      const firstByteAt = performance.now();
      clearTimeout(timer);
      socket.destroy();
      resolve({ sentAt, firstByteAt });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function report(label, values) {
  const { median, p90, min, max } = summarize(values);
  console.log(`${label}, ${values.length} samples: median ${median.toFixed(1)} ms, p90 ${p90.toFixed(1)} ms, min ${min.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
  return median;
}

async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
