/**
 * Status-check failures on a real cluster: the kubelet's and scheduler's own answers (CrashLoopBackOff,
 * ErrImagePull/ImagePullBackOff, FailedScheduling), each explained in one error naming what failed.
 * No build: the manifests use the busybox base image directly (or an image that does not exist).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { devloop, stackLines, tempDir, type CliRun } from '../e2e/support.js';
import { busyboxBaseImage, testRegistry } from '../support/services.js';
import { clusterPresent, openCluster, type Cluster } from './support.js';

const present = await clusterPresent();

/** A project `name` whose only manifest is a Deployment `name` with this pod spec (YAML, indented for `spec:`). */
async function project(root: string, name: string, podSpec: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, 'k8s'), { recursive: true });
  await writeFile(join(dir, 'devloop.yaml'), `apiVersion: devloop/v1\nkind: Config\nmetadata: {name: ${name}}\nmanifests: ["k8s/*.yaml"]\n`);
  await writeFile(
    join(dir, 'k8s', 'app.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 0
${podSpec}`,
  );
  return dir;
}

function errorOf(result: CliRun): { code: string; message: string; hint?: string } {
  const error = result.events.find((e) => e.type === 'error');
  expect(error, result.stdout.slice(-3000) + result.stderr).toBeDefined();
  return error as unknown as { code: string; message: string; hint?: string };
}

describe.skipIf(!present)('status-check failures on a real cluster', () => {
  let cluster: Cluster;
  let root: { dir: string; remove(): Promise<void> };
  let base: string;
  let registry: string;
  const runs = new Map<string, Promise<CliRun>>();

  beforeAll(async () => {
    cluster = await openCluster('status');
    root = await tempDir('devloop-cluster-status-');
    registry = await testRegistry();
    base = await busyboxBaseImage(registry);
    const specs: Record<string, string> = {
      crash: `      containers:
        - name: app
          image: ${base}
          command: ["sh", "-c", "echo crash-line-1; echo crash-line-2 >&2; exit 3"]
          # Without a probe a container that exits at once can be Ready for an instant, and the rollout
          # then counts as available (seen once here, under load, as a run that exited 0).
          readinessProbe: {exec: {command: ["cat", "/ready"]}, periodSeconds: 1}
`,
      pull: `      containers:
        - name: app
          image: ${registry}/devloop-test/does-not-exist:1
`,
      unschedulable: `      nodeSelector: {devloop.dev/no-such-node: "true"}
      containers:
        - name: app
          image: ${base}
          command: ["sleep", "3600"]
`,
    };
    // The three failures are independent: run them at once (each waits on the cluster, not on CPU).
    for (const [name, spec] of Object.entries(specs)) {
      const dir = await project(root.dir, name, spec);
      runs.set(name, devloop(dir, ['run', '-n', cluster.namespace, '-o', 'json', '--status-check-timeout', '90s'], cluster.env, 150_000));
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.allSettled(runs.values());
    await cluster?.dispose();
    await root?.remove();
  });

  it('crash loop: STATUS_CRASH_LOOP naming the container, after its last log lines', async () => {
    const result = await runs.get('crash')!;
    expect(result.exitCode).toBe(1);
    const error = errorOf(result);
    expect(error.code).toBe('STATUS_CRASH_LOOP');
    expect(error.message).toMatch(/^deployment\/crash: container app of pod crash-[a-z0-9-]+ keeps crashing \(CrashLoopBackOff, exit code 3, \d+ restarts?\)/);
    const logs = result.events.filter((e) => e.type === 'log' && e.container === 'app').map((e) => e.line);
    expect(logs).toEqual(expect.arrayContaining(['crash-line-1', 'crash-line-2']));
    expect(result.events.findIndex((e) => e.type === 'log' && e.line === 'crash-line-2')).toBeLessThan(result.events.findIndex((e) => e.type === 'error'));
    expect(stackLines(result.stdout + result.stderr)).toEqual([]);
  }, 150_000);

  it('image pull failure: STATUS_IMAGE_PULL naming the image and its registry', async () => {
    const result = await runs.get('pull')!;
    expect(result.exitCode).toBe(1);
    const error = errorOf(result);
    expect(error.code).toBe('STATUS_IMAGE_PULL');
    expect(error.message).toContain(`cannot pull image ${registry}/devloop-test/does-not-exist:1 from registry ${registry}`);
  }, 150_000);

  it('unschedulable: STATUS_UNSCHEDULABLE with the scheduler\'s reason', async () => {
    const result = await runs.get('unschedulable')!;
    expect(result.exitCode).toBe(1);
    const error = errorOf(result);
    expect(error.code).toBe('STATUS_UNSCHEDULABLE');
    expect(error.message).toMatch(/^deployment\/unschedulable: pod unschedulable-[a-z0-9-]+ cannot be scheduled: 0\/1 nodes are available: 1 node\(s\) didn't match Pod's node affinity\/selector/);
  }, 150_000);
});
