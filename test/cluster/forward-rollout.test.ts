/**
 * The forward during a rollout (issue 11, rebuild path), on a real cluster: `devloop dev` rebuilds after a
 * change, and new connections reach the new version as soon as its pod is Ready, while the old pod is
 * still terminating (a 30 s preStop keeps it Running, and its app still answers). The iteration ends `ok`
 * without waiting for the old pod to go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killAll, type RunningCli } from '../e2e/support.js';
import { freePort } from '../support/services.js';
import { clusterPresent, get, iteration, openCluster, shellApp, startDevServing, until, type Cluster, type ShellApp } from './support.js';

const present = await clusterPresent();

describe.skipIf(!present)('the forward during a rollout on a real cluster', () => {
  let cluster: Cluster;
  let app: ShellApp;
  let dev: RunningCli;
  let url: string;

  beforeAll(async () => {
    cluster = await openCluster('fwroll');
    const localPort = await freePort();
    app = await shellApp('fwroll', { extraConfig: `portForward:\n  - {resource: service/web, port: 80, localPort: ${localPort}}\n` });
    // Old pods take long to go: a preStop hook runs 30 s before the container gets SIGTERM (the app serves meanwhile).
    const manifest = join(app.dir, 'k8s', 'app.yaml');
    const text = await readFile(manifest, 'utf8');
    await writeFile(
      manifest,
      text
        .replace('terminationGracePeriodSeconds: 2', 'terminationGracePeriodSeconds: 45')
        .replace('          image: web\n', '          image: web\n          lifecycle: {preStop: {exec: {command: [sleep, "30"]}}}\n'),
    );
    ({ dev, url } = await startDevServing(app.dir, ['-n', cluster.namespace, '--debounce', '100'], { ...cluster.env, ...app.env }));
  }, 240_000);
  afterAll(async () => {
    await killAll();
    await cluster?.dispose();
    await app?.remove();
  });

  it('new connections reach the new pod once it is Ready, while the old pod is still terminating', async () => {
    expect((await get(`${url}/version`))?.trim()).toBe('v1');
    const oldPods = (await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: 'app=web' })).items.map((p) => p.metadata!.name!);
    expect(oldPods).toHaveLength(1);

    const from = dev.events.length;
    await writeFile(join(app.dir, 'web', 'www', 'version'), 'v2\n');
    // A fresh connection every 100 ms until one answers v2.
    await until('v2 through the forward', async () => (await get(`${url}/version`, 2_000))?.trim() === 'v2', 90_000);
    const old = await cluster.core.readNamespacedPod({ name: oldPods[0]!, namespace: cluster.namespace });
    expect(old.metadata?.deletionTimestamp, 'the old pod is terminating, not gone').toBeDefined();
    expect(old.status?.containerStatuses?.[0]?.state?.running, 'its container still runs (preStop)').toBeDefined();
    // Every connection from now on gets the new version: the old pod, still running, is never picked again.
    for (let i = 0; i < 10; i++) expect((await get(`${url}/version`))?.trim()).toBe('v2');

    const ok = await dev.waitFor(iteration('ok', 2), 60_000, from);
    const switched = dev.events.slice(from).find((e) => e.type === 'forward' && e.status === 'ready');
    expect(switched?.pod).not.toBe(oldPods[0]);
    // The iteration did not wait for the old pod to go: it is still there (terminating) now.
    const still = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: 'app=web' });
    expect(still.items.map((p) => p.metadata!.name), JSON.stringify(ok)).toContain(oldPods[0]);
  }, 150_000);
});
