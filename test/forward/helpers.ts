/**
 * Shared by the forward and logs tests and the bench: a fake cluster, a small app (Deployment +
 * Service), redeploys, and a plain HTTP GET that opens a fresh connection every time.
 */
import { request } from 'node:http';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import type { LoadedConfig, PortForwardConfig } from '../../src/config/types.js';
import type { DevloopEvent, DevloopEventBody } from '../../src/events/types.js';
import type { Emit } from '../../src/events/bus.js';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from '../support/fake-kube/index.js';

export const CONFIG_NAME = 'fwtest';

export interface Cluster {
  fake: FakeKube;
  kube: KubeClient;
  stop(): Promise<void>;
}

export async function startCluster(options: FakeKubeOptions = {}): Promise<Cluster> {
  const fake = await startFakeKube(options);
  const previous = process.env.KUBECONFIG;
  process.env.KUBECONFIG = fake.kubeconfigPath;
  try {
    const kube = await createKubeClient();
    return {
      fake,
      kube,
      stop: async () => {
        await fake.stop();
      },
    };
  } finally {
    if (previous === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previous;
  }
}

export interface AppOptions {
  name: string;
  /** The Service's port. */
  servicePort: number;
  /** targetPort: a name ("http") or a number. */
  targetPort?: string | number;
  containerPort?: number;
  /** Omit the Service's selector. */
  noSelector?: boolean;
  labels?: Record<string, string>;
}

export function app(options: AppOptions): { deployment: V1Deployment; service: V1Service } {
  const devloopLabels = { 'app.kubernetes.io/managed-by': 'devloop', 'devloop.dev/config': CONFIG_NAME, ...options.labels };
  const selector = { app: options.name };
  return {
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: options.name, labels: devloopLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...selector, ...devloopLabels } },
          spec: { containers: [{ name: options.name, image: `example.test/${options.name}:1`, ports: [{ name: 'http', containerPort: options.containerPort ?? 8080 }] }] },
        },
      },
    },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: options.name, labels: devloopLabels },
      spec: {
        ...(options.noSelector ? {} : { selector }),
        ports: [{ name: 'web', port: options.servicePort, targetPort: options.targetPort ?? 'http' }],
      },
    },
  };
}

export async function deploy(cluster: Cluster, objects: { deployment: V1Deployment; service: V1Service }): Promise<void> {
  const { kube, fake } = cluster;
  const apps = kube.kc.makeApiClient(kube.lib.AppsV1Api);
  await apps.createNamespacedDeployment({ namespace: kube.namespace, body: objects.deployment });
  await kube.core.createNamespacedService({ namespace: kube.namespace, body: objects.service });
  await waitForServingPods(fake, objects.deployment.metadata!.name!, 1);
}

/** Pod template change → the Deployment rolls out a new pod. */
export async function redeploy(cluster: Cluster, name: string, revision: number): Promise<void> {
  const { kube } = cluster;
  const apps = kube.kc.makeApiClient(kube.lib.AppsV1Api);
  const current = await apps.readNamespacedDeployment({ name, namespace: kube.namespace });
  current.spec!.template.metadata!.annotations = { ...current.spec!.template.metadata!.annotations, 'test/revision': String(revision) };
  await apps.replaceNamespacedDeployment({ name, namespace: kube.namespace, body: current });
}

/** Names of pods of app `name` that are Ready and not terminating, as the store has them now. */
export function servingPods(fake: FakeKube, name: string): string[] {
  return fake.objects
    .list('Pod', fake.namespace)
    .filter((p) => p.metadata.labels?.app === name && !p.metadata.deletionTimestamp)
    .filter((p) => (p.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.metadata.name!);
}

export async function waitForServingPods(fake: FakeKube, name: string, count: number, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = servingPods(fake, name);
    if (pods.length >= count) return pods;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} serving pods of ${name}`);
    await sleep(20);
  }
}

export function loadedConfig(portForward: Partial<PortForwardConfig>[] = []): LoadedConfig {
  return {
    config: {
      apiVersion: 'devloop/v1',
      kind: 'Config',
      metadata: { name: CONFIG_NAME },
      portForward: portForward.map((p) => ({ address: '127.0.0.1', ...p }) as PortForwardConfig),
    },
    file: '/tmp/devloop.yaml',
    dir: '/tmp',
    activeProfiles: [],
  } as unknown as LoadedConfig;
}

export function recorder(): { emit: Emit; events: DevloopEvent[] } {
  const events: DevloopEvent[] = [];
  return { events, emit: (body: DevloopEventBody) => events.push({ ...body, time: new Date().toISOString() } as DevloopEvent) };
}

/** GET over a new connection (no keep-alive), like a user's curl. */
export function httpGet(port: number, path = '/', timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every `everyMs` until it returns a value, at most `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
