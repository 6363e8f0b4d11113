/**
 * Real cluster (DEVLOOP_TEST_KUBECONFIG): the forward of `devloop run --tail` while the pods behind
 * it are replaced. A request every 100 ms on a fresh connection (every fifth one to a CGI that
 * answers after 2 s, so some are in flight when a pod is killed) while the serving pod is deleted
 * 10 times with 2 replicas, then 4 times with 1 replica (a gap with no Ready pod). Not one request
 * may fail.
 *
 * Self-contained: its own namespace (deleted at the end), a busybox httpd app from the test
 * registry, the CLI as a child process (`npm run build` first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDevloop, tempDir, type RunningCli } from '../e2e/support.js';
import { busyboxBaseImage, freePort, testRegistry } from '../support/services.js';
import { httpGet } from '../forward/helpers.js';
import { until } from './support.js';

const kubeconfig = process.env.DEVLOOP_TEST_KUBECONFIG || undefined;
const required = process.env.DEVLOOP_TEST_REQUIRE_SERVICES === '1';
if (!kubeconfig && !required) console.log('test/cluster/forward-replace: skipped (set DEVLOOP_TEST_KUBECONFIG to a disposable cluster\'s kubeconfig)');

/** The CGI answers after this long: longer than a pod takes to die after its deletion (~1 s). */
const SLOW_S = 2;
/** The waits between replacements poll faster than the shared default: 14 rounds of three waits each. */
const POLL_MS = 100;

function manifests(image: string): string {
  const cgi = ['#!/bin/sh', `sleep ${SLOW_S}`, `printf 'Content-Type: text/plain\\r\\n\\r\\nslow from %s\\n' "$POD_NAME"`].join('\n');
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: web-cgi}
data:
  slow: ${JSON.stringify(cgi)}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: web
          image: ${image}
          env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
          # Exits at once on SIGTERM, as most apps do: the pod dies ~1 s after its deletion.
          command: [sh, -c, 'echo "fast from $POD_NAME" > /www/index.html; trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait']
          ports: [{name: http, containerPort: 8080}]
          readinessProbe: {httpGet: {path: /index.html, port: http}, periodSeconds: 1}
          volumeMounts: [{name: cgi, mountPath: /www/cgi-bin}]
      # 493 = 0o755 (devloop reads YAML 1.2, where 0755 is decimal)
      volumes: [{name: cgi, configMap: {name: web-cgi, defaultMode: 493}}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`;
}

describe.runIf(kubeconfig || required)('real cluster: the forward while pods are replaced', () => {
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  const namespace = `devloop-test-fwreplace-${randomBytes(3).toString('hex')}`;
  let project: Awaited<ReturnType<typeof tempDir>> | undefined;
  let cli: RunningCli | undefined;
  let localPort = 0;

  beforeAll(async () => {
    if (!kubeconfig) throw new Error('DEVLOOP_TEST_REQUIRE_SERVICES=1 but DEVLOOP_TEST_KUBECONFIG is unset: this test needs a real cluster');
    kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: namespace, labels: { 'devloop.dev/test': 'cluster' } } } });
    const image = await busyboxBaseImage(await testRegistry());
    project = await tempDir('devloop-fwreplace-');
    localPort = await freePort();
    await mkdir(join(project.dir, 'k8s'));
    await writeFile(join(project.dir, 'k8s', 'app.yaml'), manifests(image));
    await writeFile(
      join(project.dir, 'devloop.yaml'),
      `apiVersion: devloop/v1\nkind: Config\nmetadata: {name: fwreplace}\nmanifests: ["k8s/*.yaml"]\nportForward:\n  - {resource: service/web, port: 80, localPort: ${localPort}}\n`,
    );
    cli = startDevloop(project.dir, ['run', '--tail', '-n', namespace, '-o', 'json'], { KUBECONFIG: kubeconfig });
    const ready = await cli.waitFor((e) => e.type === 'forward' && e.status === 'ready', 90_000);
    expect(ready.localPort).toBe(localPort);
  }, 150_000);

  afterAll(async () => {
    if (cli) await cli.signal('SIGINT', 20_000).catch(() => cli?.kill());
    await core?.deleteNamespace({ name: namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    await project?.remove();
  });

  /** Names of the Ready, not terminating pods of the app. */
  const readyPods = async (): Promise<string[]> => {
    const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
    return list.items
      .filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((p) => p.metadata!.name!);
  };

  /**
   * Open loop: a request every 100 ms whatever the others do, every fifth one slow, while the
   * serving pod is deleted `rounds` times. A round ends when the pod is replaced and the requests
   * in flight at its deletion have settled (so no request is cut twice).
   */
  async function replace(replicas: number, rounds: number): Promise<{ requests: number; failures: string[] }> {
    let requests = 0;
    let lastServer: string | undefined;
    const failures: string[] = [];
    const inFlight = new Set<Promise<void>>();
    const one = (path: string): void => {
      requests++;
      const started = Date.now();
      // Held connections may wait up to 30 s (the hold timeout): the client waits longer.
      const done = httpGet(localPort, path, 45_000).then(
        (body) => {
          if (path === '/') lastServer = /from (\S+)/.exec(body)?.[1];
        },
        (error: Error) => void failures.push(`${new Date().toISOString()} ${path}: ${error.message} after ${Date.now() - started} ms`),
      );
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    };
    let polling = true;
    const poller = (async () => {
      for (let tick = 0; polling; tick++) {
        one(tick % 5 === 4 ? '/cgi-bin/slow' : '/');
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      for (let round = 1; round <= rounds; round++) {
        const victim = await until('a response naming its pod', () => lastServer, 30_000, POLL_MS);
        const cut = [...inFlight];
        await core.deleteNamespacedPod({ name: victim, namespace });
        lastServer = undefined;
        // Replaced: `replicas` Ready pods again, without the victim, and the forward answering from one of them.
        await until(`pod ${victim} replaced`, async () => {
          const ready = await readyPods();
          return ready.length >= replicas && !ready.includes(victim) && lastServer && lastServer !== victim ? true : undefined;
        }, 60_000, POLL_MS);
        let settled = false;
        void Promise.all(cut).then(() => (settled = true));
        await until('the requests in flight at the deletion to settle', () => (settled ? true : undefined), 60_000, POLL_MS);
      }
    } finally {
      polling = false;
      await poller;
      await Promise.all([...inFlight]);
    }
    return { requests, failures };
  }

  it('2 replicas, the serving pod deleted 10 times, then 1 replica deleted 4 times: 0 failed requests', async () => {
    const two = await replace(2, 10);
    console.log(`real cluster, 2 replicas, 10 pod deletions: ${two.requests} requests, ${two.failures.length} failed (${((100 * two.failures.length) / two.requests).toFixed(2)} %)`);

    await apps.patchNamespacedDeployment(
      { name: 'web', namespace, body: { spec: { replicas: 1 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await until('1 Ready pod', async () => ((await readyPods()).length === 1 ? true : undefined), 60_000, POLL_MS);
    const one = await replace(1, 4);
    console.log(`real cluster, 1 replica, 4 pod deletions: ${one.requests} requests, ${one.failures.length} failed (${((100 * one.failures.length) / one.requests).toFixed(2)} %)`);

    expect(two.failures).toEqual([]);
    expect(one.failures).toEqual([]);
    expect(two.requests).toBeGreaterThan(50);
  }, 180_000);
});
