import { afterEach, describe, expect, it } from 'vitest';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyObjects } from '../../src/deploy/apply.js';
import { createDeployApi } from '../../src/deploy/api.js';
import { createKubeClient } from '../../src/kube/client.js';
import { startHarness, failure, rendered, DEPLOYMENT, SERVICE, type Harness } from './support.js';

const REF = '127.0.0.1:5000/hello:abc@sha256:' + 'a'.repeat(64);
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.fake.stop();
  harness = undefined;
});

describe('applyObjects', () => {
  it('server-side applies with fieldManager devloop into the context namespace, namespaces first', async () => {
    harness = await startHarness();
    const { fake, api, emit } = harness;
    const objects = rendered(
      `${DEPLOYMENT('hello', 'hello')}---\n${SERVICE('hello')}---\napiVersion: v1\nkind: Namespace\nmetadata: {name: extra}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: extra}\ndata: {a: b}\n`,
      [{ image: 'hello', ref: REF }],
    );
    fake.requests.length = 0;
    const applied = await applyObjects({ api, objects, emit, signal: new AbortController().signal });
    expect(applied.map((a) => `${a.kind}/${a.namespace ?? '-'}/${a.name}`)).toEqual(['Deployment/default/hello', 'Service/default/hello', 'Namespace/-/extra', 'ConfigMap/extra/cfg']);
    const deployment = fake.objects.get('apps/v1', 'Deployment', 'default', 'hello') as unknown as { metadata: { labels: Record<string, string>; managedFields?: { manager: string }[] }; spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(deployment.spec.template.spec.containers[0]!.image).toBe(REF);
    expect(deployment.metadata.labels['app.kubernetes.io/managed-by']).toBe('devloop');
    const writes = fake.requests.filter((r) => r.method === 'PATCH' || r.method === 'POST');
    expect(writes[0]!.path).toContain('/namespaces/extra');
    expect(writes).toHaveLength(4);
    for (const write of writes) {
      expect(write).toMatchObject({ method: 'PATCH', contentType: 'application/apply-patch+yaml', query: { fieldManager: 'devloop', force: 'true' } });
    }
    expect(applied[0]!.generation).toBe(1);
  });

  it('falls back to create-or-patch on a server without server-side apply, with one notice', async () => {
    harness = await startHarness({ oldServer: true });
    const { fake, api, emit, events } = harness;
    const objects = rendered(`${DEPLOYMENT('hello', 'hello')}---\n${SERVICE('hello')}`, [{ image: 'hello', ref: REF }]);
    await applyObjects({ api, objects, emit, signal: new AbortController().signal });
    await applyObjects({ api, objects, emit, signal: new AbortController().signal }); // existing objects: patched
    expect(fake.objects.get('v1', 'Service', 'default', 'hello')).toBeDefined();
    expect(fake.objects.get('apps/v1', 'Deployment', 'default', 'hello')).toBeDefined();
    const notices = events.filter((e) => e.type === 'notice');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ level: 'warn', message: expect.stringContaining('415') });
  });

  it('explains a 422 with manifest file:line, object and field', async () => {
    harness = await startHarness();
    const objects = rendered(`${SERVICE('ok')}---\n${DEPLOYMENT('bad', 'hello').replace('replicas: 1', 'replicas: -2')}`, [], 'k8s/bad.yaml');
    const error = await failure(applyObjects({ api: harness.api, objects, emit: harness.emit, signal: new AbortController().signal }));
    expect(error.code).toBe('KUBE_INVALID');
    expect(error.message).toMatch(/^k8s\/bad\.yaml:9 Deployment\/bad: rejected by the API server: spec\.replicas: .*greater than or equal to 0/);
  });

  it('names an unknown kind and applies nothing', async () => {
    harness = await startHarness();
    const objects = rendered(`${SERVICE('first')}---\napiVersion: example.com/v1\nkind: Foo\nmetadata: {name: foo}\n`, [], 'k8s/foo.yaml');
    const error = await failure(applyObjects({ api: harness.api, objects, emit: harness.emit, signal: new AbortController().signal }));
    expect(error.code).toBe('KUBE_UNKNOWN_KIND');
    expect(error.message).toBe('k8s/foo.yaml:9 Foo/foo: no resource for kind Foo in group example.com/v1 — is its CRD installed?');
    expect(harness.fake.objects.get('v1', 'Service', 'default', 'first')).toBeUndefined();
  });

  it('applies a CRD before its custom resources', async () => {
    harness = await startHarness();
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: games.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: games, singular: game, kind: Game}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`;
    const objects = rendered(`apiVersion: example.com/v1\nkind: Game\nmetadata: {name: chess}\nspec: {players: 2}\n---\n${crd}`);
    const applied = await applyObjects({ api: harness.api, objects, emit: harness.emit, signal: new AbortController().signal });
    expect(applied.map((a) => a.kind)).toEqual(['Game', 'CustomResourceDefinition']);
    expect(harness.fake.objects.get('example.com/v1', 'Game', 'default', 'chess')).toBeDefined();
  });

  it('retries 409 and 5xx answers a bounded number of times', async () => {
    harness = await startHarness();
    const objects = rendered(SERVICE('hello'));
    harness.fake.controls.failNextRequests(2, 503, (r) => r.method === 'PATCH');
    await applyObjects({ api: harness.api, objects, emit: harness.emit, signal: new AbortController().signal });
    harness.fake.controls.failNextRequests(1, 409, (r) => r.method === 'PATCH');
    await applyObjects({ api: harness.api, objects, emit: harness.emit, signal: new AbortController().signal });
    harness.fake.controls.failNextRequests(50, 500, (r) => r.method === 'PATCH');
    const error = await failure(applyObjects({ api: harness.api, objects, emit: harness.emit, signal: new AbortController().signal }));
    expect(error.message).toMatch(/Service\/hello: apply failed: .*HTTP 500/);
  });

  it('names the server and context when the cluster is unreachable, and explains a 401', async () => {
    harness = await startHarness();
    const dir = await mkdtemp(join(tmpdir(), 'devloop-kc-'));
    const previous = process.env.KUBECONFIG;
    try {
      const good = (await import('node:fs/promises')).readFile(harness.fake.kubeconfigPath, 'utf8');
      const text = await good;
      await writeFile(join(dir, 'down'), text.replace(harness.fake.url, 'https://127.0.0.1:1'));
      await writeFile(join(dir, 'badtoken'), text.replace(harness.fake.token, 'nope'));
      process.env.KUBECONFIG = join(dir, 'down');
      const down = createDeployApi(await createKubeClient());
      const unreachable = await failure(applyObjects({ api: down, objects: rendered(SERVICE('x')), emit: harness.emit, signal: new AbortController().signal }));
      expect(unreachable.code).toBe('KUBE_UNREACHABLE');
      expect(unreachable.message).toContain('https://127.0.0.1:1 (context "fake")');
      process.env.KUBECONFIG = join(dir, 'badtoken');
      const unauthorized = createDeployApi(await createKubeClient());
      const denied = await failure(applyObjects({ api: unauthorized, objects: rendered(SERVICE('x')), emit: harness.emit, signal: new AbortController().signal }));
      expect(denied.code).toBe('KUBE_UNAUTHORIZED');
      expect(denied.message).not.toContain('nope');
    } finally {
      if (previous === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = previous;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
