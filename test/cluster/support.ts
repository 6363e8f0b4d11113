/**
 * The real-cluster suite's access to its cluster: the kubeconfig from DEVLOOP_TEST_KUBECONFIG, a fresh
 * namespace per test file (deleted in afterAll), API reads through @kubernetes/client-node (no kubectl:
 * CI has none), and a small shell-app project (busybox httpd, built by dockerd, pushed to the test
 * registry). The CLI itself runs through test/e2e/support.ts (`devloop`, `startDevloop`).
 */
import * as k8s from '@kubernetes/client-node';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxBaseImage, testRegistry } from '../support/services.js';
import { servicesPresent, startDevloop, tempDir, type CliEvent, type RunningCli } from '../e2e/support.js';

/** The cluster's kubeconfig, or undefined (test/cluster/global-setup.ts printed why the suite is skipped). */
export const kubeconfigPath = process.env.DEVLOOP_TEST_KUBECONFIG || undefined;

/** Whether this file can run: a cluster, dockerd and a registry (a missing one fails under DEVLOOP_TEST_REQUIRE_SERVICES=1). */
export async function clusterPresent(): Promise<boolean> {
  if (!kubeconfigPath) return false;
  return servicesPresent({ docker: true, go: false });
}

export interface Cluster {
  namespace: string;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  objects: k8s.KubernetesObjectApi;
  /** Environment for the CLI child: this cluster's kubeconfig. */
  env: Record<string, string>;
  dispose(): Promise<void>;
}

/** Connects and creates a namespace `devloop-test-<prefix>-<random>`; dispose() deletes it (without waiting). */
export async function openCluster(prefix: string): Promise<Cluster> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath!);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const namespace = `devloop-test-${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'devloop.dev/test': 'cluster' } } } });
  return {
    namespace,
    kc,
    core,
    apps: kc.makeApiClient(k8s.AppsV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
    env: { KUBECONFIG: kubeconfigPath! },
    async dispose() {
      await core.deleteNamespace({ name: namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    },
  };
}

/** Polls `probe` (every `pollMs`) until it returns a truthy value; the API is the judge, not a sleep. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs: number, pollMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Pods of `app` in the namespace that are not terminating. */
export async function livePods(cluster: Cluster, app: string): Promise<k8s.V1Pod[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: `app=${app}` });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

export const isReady = (pod: k8s.V1Pod): boolean =>
  pod.status?.phase === 'Running' && Boolean(pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));

/** Names of the objects in the namespace carrying devloop's labels, as "Kind/name" (Deployments, ReplicaSets, Pods, Services, ConfigMaps). */
export async function labeled(cluster: Cluster, selector = 'app.kubernetes.io/managed-by=devloop'): Promise<string[]> {
  const ns = { namespace: cluster.namespace, labelSelector: selector };
  const [deployments, pods, services, configMaps] = await Promise.all([
    cluster.apps.listNamespacedDeployment(ns),
    cluster.core.listNamespacedPod(ns),
    cluster.core.listNamespacedService(ns),
    cluster.core.listNamespacedConfigMap(ns),
  ]);
  return [
    ...deployments.items.map((o) => `Deployment/${o.metadata!.name}`),
    ...pods.items.map((o) => `Pod/${o.metadata!.name}`),
    ...services.items.map((o) => `Service/${o.metadata!.name}`),
    ...configMaps.items.map((o) => `ConfigMap/${o.metadata!.name}`),
  ].sort();
}

export interface ShellApp {
  dir: string;
  /** Environment for the CLI: DEVLOOP_DEFAULT_REPO (a fresh repository per project). */
  env: Record<string, string>;
  base: string;
  remove(): Promise<void>;
}

export interface ShellAppOptions {
  /** Deployment replicas. */
  replicas?: number;
  /** Extra YAML documents appended to k8s/app.yaml. */
  extraManifests?: string;
  /** Extra top-level devloop.yaml text (e.g. portForward). */
  extraConfig?: string;
}

/**
 * Deployment + Service `web` for an image `web` serving on 8080 (port `http`; the Service maps 80 to it),
 * 2 s grace, readiness probed every second on `readinessPath`.
 */
export function webManifests(options: { replicas: number; readinessPath: string }): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: ${options.replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: web
          image: web
          ports: [{name: http, containerPort: 8080}]
          readinessProbe:
            httpGet: {path: ${options.readinessPath}, port: http}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;
}

/** Matches the `iteration` event of iteration `n` with `status` (start, ok, error). */
export const iteration = (status: string, n: number) => (e: CliEvent) => e.type === 'iteration' && e.status === status && e.n === n;

/**
 * `devloop dev` with `args` in `dir` (JSON events): resolves once iteration 1 is ok and a forward is
 * ready, with the forward's URL.
 */
export async function startDevServing(dir: string, args: string[], env: Record<string, string>): Promise<{ dev: RunningCli; url: string }> {
  const dev = startDevloop(dir, ['dev', ...args, '-o', 'json'], env);
  await dev.waitFor(iteration('ok', 1), 180_000);
  const ready = await dev.waitFor((e) => e.type === 'forward' && e.status === 'ready', 30_000);
  return { dev, url: `http://127.0.0.1:${Number(ready.localPort)}` };
}

/**
 * A project with one docker artifact `web`: busybox httpd serving `www/` on 8080 (readiness probe on
 * `/version`, 2 s grace, exits on SIGTERM), printing `starting <pod> version=<www/version>` at start and one line per
 * request; `www/public/**` syncs to /www/public. Deployment + Service `web` (port 80 → 8080).
 */
export async function shellApp(name: string, options: ShellAppOptions = {}): Promise<ShellApp> {
  const registry = await testRegistry();
  const base = await busyboxBaseImage(registry);
  const project = await tempDir(`devloop-cluster-${name}-`);
  const dir = project.dir;
  await mkdir(join(dir, 'web', 'www', 'public'), { recursive: true });
  await mkdir(join(dir, 'k8s'), { recursive: true });
  await writeFile(join(dir, 'web', 'www', 'version'), 'v1\n');
  await writeFile(join(dir, 'web', 'www', 'public', 'page.txt'), 'page one\n');
  await writeFile(
    join(dir, 'web', 'Dockerfile'),
    `ARG BASE
FROM \${BASE}
COPY www /www
# -v logs each request on stderr. SIGTERM stops the server at once, like most apps (busybox httpd as
# PID 1 would ignore it and serve until killed): a deleted pod refuses connections right away.
CMD ["sh", "-c", "echo starting $HOSTNAME version=$(cat /www/version); httpd -f -v -p 8080 -h /www & trap 'kill $!; exit 0' TERM; wait"]
`,
  );
  await writeFile(
    join(dir, 'k8s', 'app.yaml'),
    `${webManifests({ replicas: options.replicas ?? 1, readinessPath: '/version' })}${options.extraManifests ? `---\n${options.extraManifests}` : ''}`,
  );
  await writeFile(
    join(dir, 'devloop.yaml'),
    `apiVersion: devloop/v1
kind: Config
metadata: {name: ${name}}
build:
  tagPolicy: inputDigest
  push: true
  artifacts:
    - image: web
      context: web
      docker:
        buildArgs: {BASE: "${base}"}
      sync:
        - {src: "www/public/**", dest: /www/public}
manifests: ["k8s/*.yaml"]
deploy:
  statusCheck: {timeout: 90s}
${options.extraConfig ?? ''}`,
  );
  const repo = `${registry}/devloop-cluster-${name}-${randomBytes(3).toString('hex')}`;
  return {
    dir,
    base,
    env: { DEVLOOP_DEFAULT_REPO: repo },
    async remove() {
      await removeRepoImages(repo);
      await project.remove();
    },
  };
}

/** Removes the images devloop built into `repo` from dockerd (they stay there otherwise; one repository per project). */
export async function removeRepoImages(repo: string): Promise<void> {
  const images = await execa('docker', ['images', '-q', '--filter', `reference=${repo}/*`], { reject: false });
  const ids = [...new Set(String(images.stdout).split('\n').filter(Boolean))];
  if (ids.length) await execa('docker', ['rmi', '--force', ...ids], { reject: false, timeout: 60_000 });
}

/** One GET with a short timeout: the body, or undefined when the request failed. */
export async function get(url: string, timeoutMs = 3_000): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return response.ok ? await response.text() : undefined;
  } catch {
    return undefined;
  }
}
