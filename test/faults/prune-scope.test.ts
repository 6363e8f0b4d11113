/**
 * Fault: prune and delete stay inside the namespace a command deploys to. `deploy -n a` then
 * `deploy -n b` must not prune a's objects; `delete -n b` leaves a; `delete -n a` removes a.
 * The built CLI against the fake API server (tags given, no Docker).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { copyExampleProject, devloop } from '../run/support.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const TAGS = { builds: [{ image: 'hello', tag: `registry.example.com/hello:t1@${DIGEST}` }, { image: 'quote', tag: `registry.example.com/quote:t1@${DIGEST}` }] };
const NAMES = ['hello', 'quote'];

let fake: FakeKube;
let project: { dir: string; remove(): Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeKube();
  project = await copyExampleProject();
  env = { KUBECONFIG: fake.kubeconfigPath };
  await writeFile(join(project.dir, 'tags.json'), JSON.stringify(TAGS));
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(fake.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const name of ['a', 'b']) await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
});
afterAll(async () => {
  await fake?.stop();
  await project?.remove();
});

const present = (namespace: string): string[] =>
  NAMES.flatMap((name) => [
    ...(fake.objects.get('apps/v1', 'Deployment', namespace, name) ? [`deployment/${name}`] : []),
    ...(fake.objects.get('v1', 'Service', namespace, name) ? [`service/${name}`] : []),
  ]);
const ALL = ['deployment/hello', 'service/hello', 'deployment/quote', 'service/quote'];

describe('prune and delete scope', () => {
  it('deploying to namespace b keeps what was deployed to namespace a, and records both', async () => {
    const first = await devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json', '-n', 'a'], env);
    expect(first.exitCode, first.stderr).toBe(0);
    const second = await devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json', '-n', 'b'], env);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).not.toContain('pruned');
    expect(present('a').sort()).toEqual([...ALL].sort());
    expect(present('b').sort()).toEqual([...ALL].sort());
    const state = JSON.parse(await readFile(join(project.dir, '.devloop', 'state.json'), 'utf8')) as { deployments: { namespace: string }[] };
    expect(state.deployments.map((d) => d.namespace).sort()).toEqual(['a', 'b']);
  });

  it('a removed Service is still pruned, but only in the namespace deployed to', async () => {
    const file = join(project.dir, 'examples', 'hello', 'k8s', 'quote.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.split('\n---\n')[0] + '\n');
    try {
      const result = await devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json', '-n', 'b'], env);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toContain('pruned service/quote in b');
      expect(fake.objects.get('v1', 'Service', 'b', 'quote')).toBeUndefined();
      expect(fake.objects.get('v1', 'Service', 'a', 'quote')).toBeDefined();
    } finally {
      await writeFile(file, original);
    }
  });

  it('delete -n b removes b only and says where the config is still deployed; delete -n a removes the rest', async () => {
    const deleteB = await devloop(project.dir, ['delete', '-n', 'b'], env);
    expect(deleteB.exitCode, deleteB.stderr).toBe(0);
    expect(present('b')).toEqual([]);
    expect(present('a').sort()).toEqual([...ALL].sort());
    const again = await devloop(project.dir, ['delete', '-n', 'b'], env);
    expect(again.stderr).toContain('nothing to delete');
    expect(again.stderr).toContain('devloop delete -n a');
    const deleteA = await devloop(project.dir, ['delete', '-n', 'a'], env);
    expect(deleteA.exitCode, deleteA.stderr).toBe(0);
    expect(present('a')).toEqual([]);
    expect(existsSync(join(project.dir, '.devloop', 'state.json'))).toBe(false);
  });
});
