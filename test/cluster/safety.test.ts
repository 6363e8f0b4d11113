/**
 * Safety cases against a REAL cluster (DEVLOOP_TEST_KUBECONFIG): prune/delete stay in their namespace,
 * a run overwritten by another run fails naming it, and a wrongly typed field is named with its type.
 * Self-contained: own namespaces `h-safety-<random>-{a,b}`, deleted afterwards; the busybox base image is
 * pushed to the test registry, which the cluster must be able to pull from (loopback registries are).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { busyboxBaseImage, dockerAvailable, servicesRequired, testRegistry } from '../support/services.js';
import { removeTemps, tempDir } from '../support/tmp.js';
import { devloop } from '../run/support.js';

const kubeconfig = process.env.DEVLOOP_TEST_KUBECONFIG;
if (!kubeconfig) {
  if (servicesRequired) throw new Error('test/cluster/safety.test.ts needs DEVLOOP_TEST_KUBECONFIG (DEVLOOP_TEST_REQUIRE_SERVICES=1)');
  console.log('test/cluster/safety.test.ts: skipped, DEVLOOP_TEST_KUBECONFIG is unset');
}

const suffix = randomBytes(3).toString('hex');
const NS_A = `h-safety-${suffix}-a`;
const NS_B = `h-safety-${suffix}-b`;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let images: [string, string];
const env = { KUBECONFIG: kubeconfig ?? '' };

const CONFIG = `apiVersion: devloop/v1
kind: Config
metadata: {name: safety}
build:
  artifacts:
    - image: web
      oci: {from: scratch}
manifests: ["k8s/*.yaml"]
deploy: {statusCheck: {timeout: 90s}}
`;
const manifest = (replicas = '1') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: web
          image: web
          command: [sh, -c, "touch /tmp/ready; exec sleep 3600"]
          readinessProbe: {exec: {command: [cat, /tmp/ready]}, initialDelaySeconds: 5, periodSeconds: 1}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {a: b}
`;

/** A project copy deploying `image` as artifact web (no build: --build-artifacts). */
async function project(image: string, replicas?: string): Promise<string> {
  const dir = await tempDir('devloop-cluster-safety-');
  await mkdir(join(dir, 'k8s'));
  await writeFile(join(dir, 'devloop.yaml'), CONFIG);
  await writeFile(join(dir, 'k8s', 'web.yaml'), manifest(replicas));
  await writeFile(join(dir, 'tags.json'), JSON.stringify({ builds: [{ image: 'web', tag: image }] }));
  return dir;
}
const deploy = (dir: string, namespace: string) => devloop(dir, ['deploy', '--build-artifacts', 'tags.json', '-n', namespace, '--output', 'json'], env, 150_000);
const exists = async (namespace: string): Promise<string[]> => [
  ...(await apps.listNamespacedDeployment({ namespace, labelSelector: 'devloop.dev/config=safety' })).items.map((d) => `deployment/${d.metadata!.name}`),
  ...(await core.listNamespacedConfigMap({ namespace, labelSelector: 'devloop.dev/config=safety' })).items.map((c) => `configmap/${c.metadata!.name}`),
];

describe.skipIf(!kubeconfig)('safety on a real cluster', () => {
  beforeAll(async () => {
    if (!(await dockerAvailable()) && !servicesRequired) throw new Error('docker is needed to make the busybox base image');
    const registry = await testRegistry();
    const tagged = await busyboxBaseImage(registry);
    const head = await fetch(`http://${registry}/v2/devloop-test/busybox/manifests/1`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
    });
    // The same image under two references: two "copies" whose pod templates differ.
    images = [tagged, `${registry}/devloop-test/busybox@${head.headers.get('docker-content-digest')}`];
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig!);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    for (const name of [NS_A, NS_B]) await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  }, 180_000);
  afterAll(async () => {
    for (const name of [NS_A, NS_B]) await core?.deleteNamespace({ name }).catch(() => undefined);
    await removeTemps();
  });

  it('deploy -n b keeps what deploy -n a deployed; delete -n b leaves a', async () => {
    const dir = await project(images[0]);
    expect((await deploy(dir, NS_A)).exitCode).toBe(0);
    const second = await deploy(dir, NS_B);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.events.filter((e) => e.type === 'progress' && String(e.message).startsWith('pruned'))).toEqual([]);
    expect((await exists(NS_A)).sort()).toEqual(['configmap/web-config', 'deployment/web']);
    const removed = await devloop(dir, ['delete', '-n', NS_B], env);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(await exists(NS_B)).toEqual([]);
    expect((await exists(NS_A)).sort()).toEqual(['configmap/web-config', 'deployment/web']);
  }, 240_000);

  it('of two copies deploying into one namespace, the overwritten one fails naming the other', async () => {
    const first = await project(images[0]);
    const second = await project(images[1]);
    const running = deploy(first, NS_B);
    // Wait until the first copy's template is applied, then apply the second over it.
    for (let i = 0; i < 300; i++) {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: NS_B }).catch(() => undefined);
      if (d?.spec?.template.spec?.containers[0]?.image === images[0]) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const other = await deploy(second, NS_B);
    expect(other.exitCode, other.stderr).toBe(0);
    const overwritten = await running;
    expect(overwritten.exitCode).toBe(1);
    const error = overwritten.events.find((e) => e.type === 'error')!;
    expect(error.code).toBe('STATUS_OVERWRITTEN');
    expect(error.message).toContain(`deployment/web in namespace ${NS_B} was changed by another devloop run (from `);
    expect(error.message).toContain(`:${second}, apply `);
  }, 240_000);

  it('a wrongly typed field is named with its expected type', async () => {
    const dir = await project(images[0], '"two"');
    const result = await deploy(dir, NS_B);
    expect(result.exitCode).toBe(1);
    const error = result.events.find((e) => e.type === 'error')!;
    expect(error).toMatchObject({ code: 'KUBE_INVALID', message: 'k8s/web.yaml:1 Deployment/web: rejected by the API server: spec.replicas: expected a number, got a string' });
  }, 120_000);
});
