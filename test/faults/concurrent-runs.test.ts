/**
 * Fault: two copies of a project deploy into one namespace. The run whose objects were applied over
 * while it waited must fail naming the object and who changed it — not report "healthy" for the
 * other copy's image. The same for any other writer that changes the images (named from managedFields).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { copyExampleProject, devloop } from '../run/support.js';

const DIGEST = `sha256:${'e'.repeat(64)}`;
const tags = (hello: string) => ({ builds: [{ image: 'hello', tag: `registry.example.com/${hello}:t1@${DIGEST}` }, { image: 'quote', tag: `registry.example.com/quote:t1@${DIGEST}` }] });

let fake: FakeKube;
let copyA: { dir: string; remove(): Promise<void> };
let copyB: { dir: string; remove(): Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeKube();
  copyA = await copyExampleProject();
  copyB = await copyExampleProject();
  env = { KUBECONFIG: fake.kubeconfigPath };
  await writeFile(join(copyA.dir, 'tags.json'), JSON.stringify(tags('hello-a')));
  await writeFile(join(copyB.dir, 'tags.json'), JSON.stringify(tags('hello-b')));
});
afterAll(async () => {
  await fake?.stop();
  await copyA?.remove();
  await copyB?.remove();
});

const imageIs = (match: string) => (d: unknown) =>
  ((d as { spec?: { template?: { spec?: { containers?: { image?: string }[] } } } } | undefined)?.spec?.template?.spec?.containers?.[0]?.image ?? '').includes(match);

describe('objects changed by someone else during the status wait', () => {
  it('of two runs into one namespace, the overwritten one fails naming the other; the other is healthy', async () => {
    // A's pods never get ready, so A is still waiting when B applies over it.
    fake.controls.failImage(/hello-a/, 'NotReady');
    const runA = devloop(copyA.dir, ['deploy', '--build-artifacts', 'tags.json', '--status-check-timeout', '60s', '--output', 'json'], env);
    await fake.waitFor('apps/v1', 'Deployment', 'default', 'hello', imageIs('hello-a'), 30_000);
    const b = await devloop(copyB.dir, ['deploy', '--build-artifacts', 'tags.json', '--status-check-timeout', '60s'], env);
    expect(b.exitCode, b.stderr).toBe(0);
    const a = await runA;
    expect(a.exitCode, a.stdout).toBe(1);
    const error = a.events.find((e) => e.type === 'error')!;
    expect(error.code).toBe('STATUS_OVERWRITTEN');
    expect(error.message).toContain(`deployment/hello in namespace default was changed by another devloop run (from `);
    expect(error.message).toContain(`:${copyB.dir}, apply `);
    expect(error.message).toContain(`it now runs registry.example.com/hello-b:t1@${DIGEST} instead of registry.example.com/hello-a:t1@${DIGEST}`);
    expect(a.events.at(-1)).toMatchObject({ type: 'iteration', status: 'error' });
    fake.controls.clearFailures();
  });

  it('another writer changing the image fails the wait and is named by its field manager', async () => {
    fake.controls.failImage(/hello-a/, 'NotReady');
    const runA = devloop(copyA.dir, ['deploy', '--build-artifacts', 'tags.json', '--status-check-timeout', '60s'], env);
    await fake.waitFor('apps/v1', 'Deployment', 'default', 'hello', imageIs('hello-a'), 30_000);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(fake.kubeconfigPath);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await apps.patchNamespacedDeployment(
      { name: 'hello', namespace: 'default', fieldManager: 'kubectl-edit', body: { spec: { template: { spec: { containers: [{ name: 'hello', image: 'registry.example.com/edited:1' }] } } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    const a = await runA;
    expect(a.exitCode, a.stderr).toBe(1);
    expect(a.stderr).toContain('deployment/hello in namespace default was changed by field manager "kubectl-edit" (Update');
    expect(a.stderr).toContain('it now runs registry.example.com/edited:1 instead of registry.example.com/hello-a');
    fake.controls.clearFailures();
  });
});
