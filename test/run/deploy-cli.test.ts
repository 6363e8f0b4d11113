/**
 * `devloop deploy --build-artifacts`, `render` and `delete` end to end: the built CLI against the
 * fake API server (no Docker needed: the tags are given).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { copyExampleProject, devloop } from './support.js';

const DIGEST = `sha256:${'b'.repeat(64)}`;
// Not a loopback registry: the fake treats it as pullable (loopback ones it checks like a kubelet).
const HELLO = `registry.example.com/hello:t1@${DIGEST}`;
const QUOTE = `registry.example.com/quote:t1@${DIGEST}`;

let fake: FakeKube;
let project: { dir: string; remove(): Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeKube();
  project = await copyExampleProject();
  env = { KUBECONFIG: fake.kubeconfigPath };
  await writeFile(join(project.dir, 'tags.json'), JSON.stringify({ builds: [{ image: 'hello', tag: HELLO }, { image: 'quote', tag: QUOTE }] }));
});
afterAll(async () => {
  await fake?.stop();
  await project?.remove();
});

describe('devloop deploy / render / delete', () => {
  it('render --build-artifacts prints labeled YAML with the given references', async () => {
    const result = await devloop(project.dir, ['render', '--build-artifacts', 'tags.json'], env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`image: ${HELLO}`);
    expect(result.stdout).toContain('devloop.dev/config: hello');
    expect(result.stdout.split('\n---\n')).toHaveLength(4);
    const json = await devloop(project.dir, ['render', '--output', 'json'], env);
    expect(json.exitCode).toBe(2);
  });

  it('deploys, records state, and ends --output json with iteration ok', async () => {
    const result = await devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json', '--output', 'json'], env);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.events[0]).toMatchObject({ type: 'iteration', n: 1, status: 'start' });
    const last = result.events.at(-1)!;
    expect(last).toMatchObject({ type: 'iteration', n: 1, status: 'ok' });
    expect((last.stages as { stage: string }[]).map((s) => s.stage)).toEqual(['render', 'apply', 'prune', 'status']);
    const deployment = fake.objects.get('apps/v1', 'Deployment', 'default', 'hello') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(deployment.spec.template.spec.containers[0]!.image).toBe(HELLO);
    const state = JSON.parse(await readFile(join(project.dir, '.devloop', 'state.json'), 'utf8'));
    expect(state.deployments).toHaveLength(1);
    expect(state.deployments[0]).toMatchObject({ configName: 'hello', kubeContext: 'fake', namespace: 'default', phase: 'deployed' });
    expect(state.deployments[0].objects).toHaveLength(4);
  });

  it('prunes a Service removed from the manifests on the next deploy', async () => {
    const file = join(project.dir, 'examples', 'hello', 'k8s', 'quote.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.split('\n---\n')[0] + '\n');
    try {
      const result = await devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json'], env);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(fake.objects.get('v1', 'Service', 'default', 'quote')).toBeUndefined();
      expect(fake.objects.get('v1', 'Service', 'default', 'hello')).toBeDefined();
    } finally {
      await writeFile(file, original);
    }
  });

  it('delete removes everything; a second delete is a no-op with exit 0', async () => {
    const first = await devloop(project.dir, ['delete'], env);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(fake.objects.get('apps/v1', 'Deployment', 'default', 'hello')).toBeUndefined();
    expect(fake.objects.get('apps/v1', 'Deployment', 'default', 'quote')).toBeUndefined();
    expect(fake.objects.get('v1', 'Service', 'default', 'hello')).toBeUndefined();
    const second = await devloop(project.dir, ['delete'], env);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toContain('nothing to delete');
  });

  it('ImagePullBackOff and CrashLoopBackOff end deploy with exit 1 and the explanation, well before the deadline', async () => {
    const broken = { builds: [{ image: 'hello', tag: '127.0.0.1:5000/broken:1' }, { image: 'quote', tag: QUOTE }] };
    await writeFile(join(project.dir, 'broken.json'), JSON.stringify(broken));
    fake.controls.failImage(/broken/, 'ImagePullBackOff');
    const pull = await devloop(project.dir, ['deploy', '--build-artifacts', 'broken.json', '--status-check-timeout', '60s'], env);
    expect(pull.exitCode).toBe(1);
    expect(pull.stderr).toContain('deployment/hello: cannot pull image 127.0.0.1:5000/broken:1 from registry 127.0.0.1:5000');
    expect(pull.ms).toBeLessThan(30_000);

    const crashing = { builds: [{ image: 'hello', tag: '127.0.0.1:5000/crashy:1' }, { image: 'quote', tag: QUOTE }] };
    await writeFile(join(project.dir, 'crash.json'), JSON.stringify(crashing));
    fake.controls.failImage(/crashy/, 'CrashLoopBackOff');
    const crash = await devloop(project.dir, ['deploy', '--build-artifacts', 'crash.json', '--status-check-timeout', '60s', '--output', 'json'], env);
    expect(crash.exitCode).toBe(1);
    const error = crash.events.find((e) => e.type === 'error')!;
    expect(error.message).toMatch(/deployment\/hello: container hello of pod hello-\S+ keeps crashing \(CrashLoopBackOff, exit code \d+/);
    expect(crash.events.at(-1)).toMatchObject({ type: 'iteration', status: 'error' });
    fake.controls.clearFailures();
  });

  it('names an unknown kind and shows the 422 field', async () => {
    const file = join(project.dir, 'examples', 'hello', 'k8s', 'zz-extra.yaml');
    await writeFile(file, 'apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: foo}\n');
    try {
      const unknown = await devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json'], env);
      expect(unknown.exitCode).toBe(1);
      expect(unknown.stderr).toContain('examples/hello/k8s/zz-extra.yaml:1 Foo/foo: no resource for kind Foo in group example.com/v1 — is its CRD installed?');
      await writeFile(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec:\n  ports: [{port: 70000}]\n');
      const invalid = await devloop(project.dir, ['deploy', '--build-artifacts', 'tags.json'], env);
      expect(invalid.exitCode).toBe(1);
      expect(invalid.stderr).toMatch(/zz-extra\.yaml:1 Service\/bad: rejected by the API server: spec\.ports\[0\]\.port: .*between 1 and 65535/);
    } finally {
      await (await import('node:fs/promises')).rm(file, { force: true });
    }
  });
});
