/**
 * File sync against a real cluster (DEVLOOP_TEST_KUBECONFIG): the sync module copies nested files into
 * a running busybox pod, replaces them, and deletes a file and a folder, through the cluster's exec
 * (v4.channel.k8s.io before Kubernetes 1.30, v5 from 1.30). Uses a fresh namespace, deleted after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import { syncToPods, type SyncRequest } from '../../src/sync/index.js';
import { execInContainer, type ExecTarget } from '../../src/sync/exec.js';
import type { BuildResult } from '../../src/build/types.js';
import { busyboxBaseImage, servicesRequired, testRegistry } from '../support/services.js';

const kubeconfig = process.env.DEVLOOP_TEST_KUBECONFIG;

// Without a cluster: skipped (the title says why), unless services are required (CI): then it fails.
describe.skipIf(!kubeconfig && !servicesRequired)('file sync on a real cluster (needs DEVLOOP_TEST_KUBECONFIG)', () => {
  const namespace = `devloop-sync-${randomBytes(3).toString('hex')}`;
  const runId = 'sync-test';
  let kube: KubeClient;
  let build: BuildResult;
  let target: ExecTarget;
  let local: string;

  beforeAll(async () => {
    if (!kubeconfig) throw new Error('DEVLOOP_TEST_REQUIRE_SERVICES=1 but DEVLOOP_TEST_KUBECONFIG is unset: point it at a kubeconfig');
    process.env.KUBECONFIG = kubeconfig;
    kube = await createKubeClient();
    const image = await busyboxBaseImage(await testRegistry());
    const colon = image.lastIndexOf(':');
    build = { image: 'busybox', repo: image.slice(0, colon), tag: image.slice(colon + 1), ref: image, cached: false };
    await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
    await kube.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'box', labels: { 'devloop.dev/run-id': runId } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'main', image, command: ['sleep', '3600'] }],
        },
      },
    });
    const deadline = Date.now() + 90_000;
    for (;;) {
      const pod = await kube.core.readNamespacedPod({ namespace, name: 'box' });
      if (pod.status?.containerStatuses?.[0]?.state?.running) break;
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
      if (Date.now() > deadline) throw new Error(`pod box did not start: ${waiting?.reason ?? pod.status?.phase} ${waiting?.message ?? ''}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    target = { namespace, pod: 'box', container: 'main' };
    local = await mkdtemp(join(tmpdir(), 'devloop-cluster-sync-'));
  });

  afterAll(async () => {
    await kube?.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    if (local) await rm(local, { recursive: true, force: true });
  });

  const request = (copy: SyncRequest['copy'], remove: SyncRequest['remove']): SyncRequest => ({
    kube,
    signal: new AbortController().signal,
    build,
    context: local,
    namespaces: [namespace],
    labelSelector: `devloop.dev/run-id=${runId}`,
    copy,
    remove,
  });

  async function inContainer(command: string[]): Promise<string> {
    const result = await execInContainer(kube, target, command);
    expect(result, result.stderr).toMatchObject({ exitCode: 0 });
    return result.stdout;
  }

  it('copies nested files into a folder the image does not have', async () => {
    await mkdir(join(local, 'public/css/deep'), { recursive: true });
    await writeFile(join(local, 'public/index.html'), '<h1>v1</h1>\n');
    await writeFile(join(local, 'public/css/deep/site.css'), 'body{}\n');
    const outcome = await syncToPods(
      request(
        [
          { local: join(local, 'public/index.html'), path: '/app/public/index.html', dest: '/app/public' },
          { local: join(local, 'public/css/deep/site.css'), path: '/app/public/css/deep/site.css', dest: '/app/public' },
        ],
        [],
      ),
    );
    expect(outcome.containers).toEqual([`${namespace}/box main`]);
    expect(await inContainer(['cat', '/app/public/index.html', '/app/public/css/deep/site.css'])).toBe('<h1>v1</h1>\nbody{}\n');
  });

  it('replaces a changed file', async () => {
    await writeFile(join(local, 'public/index.html'), '<h1>v2</h1>\n');
    await syncToPods(request([{ local: join(local, 'public/index.html'), path: '/app/public/index.html', dest: '/app/public' }], []));
    expect(await inContainer(['cat', '/app/public/index.html'])).toBe('<h1>v2</h1>\n');
  });

  it('deletes a file and a folder', async () => {
    await syncToPods(
      request(
        [],
        [
          { path: '/app/public/index.html', dest: '/app/public', dir: false },
          { path: '/app/public/css', dest: '/app/public', dir: true },
        ],
      ),
    );
    expect(await inContainer(['ls', '-A', '/app/public'])).toBe('');
  });
});
