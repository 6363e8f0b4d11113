/**
 * Fault: a wrongly typed field (`replicas: "two"`) is named with the type expected — not the API
 * server's decoder dump, not a retried "HTTP 500". On every write path kube-apiserver v1.26 takes:
 * server-side apply (500), and without it create (400) and strategic merge patch (422, no field named).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { copyExampleProject, devloop } from '../run/support.js';

const DIGEST = `sha256:${'f'.repeat(64)}`;
const TAGS = { builds: [{ image: 'hello', tag: `registry.example.com/hello:t1@${DIGEST}` }, { image: 'quote', tag: `registry.example.com/quote:t1@${DIGEST}` }] };

let fake: FakeKube;
let project: { dir: string; remove(): Promise<void> };
let env: Record<string, string>;
let manifest: string;
let original: string;

beforeAll(async () => {
  fake = await startFakeKube();
  project = await copyExampleProject();
  env = { KUBECONFIG: fake.kubeconfigPath };
  await writeFile(join(project.dir, 'tags.json'), JSON.stringify(TAGS));
  manifest = join(project.dir, 'examples', 'hello', 'k8s', 'hello.yaml');
  original = await readFile(manifest, 'utf8');
});
afterAll(async () => {
  await fake?.stop();
  await project?.remove();
});

const deploy = () => devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json', '--status-check-timeout', '30s'], env);
const mistyped = () => writeFile(manifest, original.replace('replicas: 1', 'replicas: "two"'));

describe('KUBE_INVALID for a wrongly typed field', () => {
  it('server-side apply: names the field and the type, once, without a retry', async () => {
    await mistyped();
    fake.requests.length = 0;
    const result = await deploy();
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('examples/hello/k8s/hello.yaml:1 Deployment/hello: rejected by the API server: spec.replicas: expected a number, got a string');
    expect(result.stderr).not.toContain('HTTP 500');
    expect(result.stderr).not.toContain('typed patch object');
    expect(fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/hello'))).toHaveLength(1);
  });

  it('without server-side apply: create and strategic merge patch name the field, never dump the patch', async () => {
    fake.controls.setOldServer(true);
    try {
      // No object yet: create.
      const created = await deploy();
      expect(created.exitCode).toBe(1);
      expect(created.stderr).toContain('Deployment/hello: rejected by the API server: spec.replicas: expected an integer (int32), got a string');
      // The object exists: strategic merge patch (the server names no field; a dry-run create does).
      await writeFile(manifest, original);
      const good = await deploy();
      expect(good.exitCode, good.stderr).toBe(0);
      await mistyped();
      const patched = await deploy();
      expect(patched.exitCode).toBe(1);
      expect(patched.stderr).toContain('Deployment/hello: rejected by the API server: spec.replicas: expected an integer (int32), got a string');
      expect(patched.stderr).not.toContain('map[');
    } finally {
      fake.controls.setOldServer(false);
      await writeFile(manifest, original);
    }
  });
});
