import { describe, expect, test } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { FakeKube } from '../support/fake-kube/index.js';
import { clients, useFakeKube, deployment, failure, type Clients } from './helpers.js';

let kube: FakeKube;
let c: Clients;
useFakeKube((started) => ({ kube, c } = started), { namespace: 'dev' });

describe('transport and discovery', () => {
  test('the kubeconfig selects the context and namespace; 401 without the token', async () => {
    expect(c.kc.getCurrentContext()).toBe('fake');
    expect(c.kc.getContextObject('fake')?.namespace).toBe('dev');
    const noAuth = new k8s.KubeConfig();
    noAuth.loadFromOptions({
      clusters: [{ name: 'x', server: kube.url, caData: Buffer.from(kube.caCert).toString('base64') }],
      users: [{ name: 'x' }],
      contexts: [{ name: 'x', cluster: 'x', user: 'x' }],
      currentContext: 'x',
    });
    const { code } = await failure(noAuth.makeApiClient(k8s.CoreV1Api).listNamespace());
    expect(code).toBe(401);
    const raw = await fetchJson('/api/v1/namespaces', false);
    expect(raw).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });

  test('discovery documents and /version', async () => {
    const version = await c.kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.30\./);
    const groups = await c.kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['apps', 'batch', 'networking.k8s.io', 'rbac.authorization.k8s.io', 'apiextensions.k8s.io']));
    const apps = await c.kc.makeApiClient(k8s.AppsV1Api).getAPIResources();
    const deployments = apps.resources.find((r) => r.name === 'deployments')!;
    expect(deployments).toMatchObject({ singularName: 'deployment', namespaced: true, kind: 'Deployment', shortNames: ['deploy'] });
    expect(deployments.verbs).toEqual(expect.arrayContaining(['create', 'get', 'list', 'watch', 'patch', 'delete']));
    expect(apps.resources.some((r) => r.name === 'deployments/status')).toBe(true);
    const core = await c.core.getAPIResources();
    expect(core.resources.find((r) => r.name === 'namespaces')?.namespaced).toBe(false);
  });

  test('a CRD adds its resources to discovery and custom objects work generically', async () => {
    await c.objects.create({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wg'] },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    } as k8s.KubernetesObject);
    const objects = clients(kube).objects; // fresh client: no cached discovery
    const created = await objects.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } } as k8s.KubernetesObject);
    expect(created.metadata?.namespace).toBe('dev');
    const list = await objects.list('example.com/v1', 'Widget', 'dev');
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['w1']);
    expect(list.items[0]).toMatchObject({ apiVersion: 'example.com/v1', kind: 'Widget' });
  });
});

describe('CRUD', () => {
  test('create, get, AlreadyExists, NotFound with real Status bodies', async () => {
    const cm: k8s.KubernetesObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', labels: { tier: 'a' } }, data: { k: 'v' } } as k8s.KubernetesObject;
    const created = await c.objects.create(cm);
    expect(created.metadata).toMatchObject({ name: 'cfg', namespace: 'dev' });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(created.metadata?.managedFields?.[0]).toMatchObject({ operation: 'Update' });

    const again = await failure(c.objects.create(cm));
    expect(again.code).toBe(409);
    expect(again.body).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "cfg" already exists', details: { name: 'cfg', kind: 'configmaps' } });

    const missing = await failure(c.apps.readNamespacedDeployment({ name: 'nope', namespace: 'dev' }));
    expect(missing.code).toBe(404);
    expect(missing.body).toMatchObject({ reason: 'NotFound', message: 'deployments.apps "nope" not found', details: { name: 'nope', group: 'apps', kind: 'deployments' } });

    const noNamespace = await failure(c.objects.create({ ...cm, metadata: { name: 'x', namespace: 'ghost' } }));
    expect(noNamespace.code).toBe(404);
    expect(noNamespace.body.message).toBe('namespaces "ghost" not found');
  });

  test('replace: resourceVersion bumps, stale resourceVersion is a 409 Conflict, no-op writes keep it', async () => {
    const cm = await c.core.readNamespacedConfigMap({ name: 'cfg', namespace: 'dev' });
    const rv = cm.metadata!.resourceVersion!;
    const same = await c.core.replaceNamespacedConfigMap({ name: 'cfg', namespace: 'dev', body: cm });
    expect(same.metadata?.resourceVersion).toBe(rv);
    cm.data = { k: 'w' };
    const updated = await c.core.replaceNamespacedConfigMap({ name: 'cfg', namespace: 'dev', body: cm });
    expect(Number(updated.metadata!.resourceVersion)).toBeGreaterThan(Number(rv));
    const stale = await failure(c.core.replaceNamespacedConfigMap({ name: 'cfg', namespace: 'dev', body: cm }));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'Conflict', message: expect.stringContaining('the object has been modified') });
  });

  test('lists: resourceVersion, label and field selectors, items without kind', async () => {
    await c.objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg2', labels: { tier: 'b' } } });
    const all = await c.core.listNamespacedConfigMap({ namespace: 'dev' });
    expect(all.metadata?.resourceVersion).toMatch(/^\d+$/);
    const names = (sel: { labelSelector?: string; fieldSelector?: string }) =>
      c.core.listNamespacedConfigMap({ namespace: 'dev', ...sel }).then((l) => l.items.map((i) => i.metadata?.name));
    expect(await names({ labelSelector: 'tier=a' })).toEqual(['cfg']);
    expect(await names({ labelSelector: 'tier!=a' })).toEqual(['cfg2']);
    expect(await names({ labelSelector: 'tier in (a,b)' })).toEqual(['cfg', 'cfg2']);
    expect(await names({ labelSelector: 'tier notin (a)' })).toEqual(['cfg2']);
    expect(await names({ labelSelector: 'tier' })).toEqual(['cfg', 'cfg2']);
    expect(await names({ fieldSelector: 'metadata.name=cfg2' })).toEqual(['cfg2']);
    const raw = await fetchJson(`/api/v1/namespaces/dev/configmaps`);
    expect(raw.kind).toBe('ConfigMapList');
    expect(raw.items[0].kind).toBeUndefined();
    const bad = await failure(c.core.listNamespacedConfigMap({ namespace: 'dev', fieldSelector: 'spec.foo=1' }));
    expect(bad.code).toBe(400);
  });

  test('422 Invalid with causes', async () => {
    const noSelector = deployment('bad', 'x:1');
    delete noSelector.spec.selector;
    const invalid = await failure(c.objects.create(noSelector));
    expect(invalid.code).toBe(422);
    expect(invalid.body.reason).toBe('Invalid');
    expect(invalid.body.message).toBe('Deployment.apps "bad" is invalid: spec.selector: Required value');
    expect(invalid.body.details?.causes).toEqual([{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' }]);

    const mismatch = deployment('bad', 'x:1', { selector: { matchLabels: { app: 'other' } } });
    const m = await failure(c.objects.create(mismatch));
    expect(m.body.details?.causes?.[0]?.field).toBe('spec.template.metadata.labels');

    const noImage = deployment('bad', '');
    expect((await failure(c.objects.create(noImage))).body.details?.causes?.[0]?.field).toBe('spec.template.spec.containers[0].image');

    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc' }, spec: { selector: { app: 'x' }, ports: [{ port: 70000 }] } };
    const s = await failure(c.objects.create(svc));
    expect(s.body.details?.causes?.[0]).toMatchObject({ field: 'spec.ports[0].port', message: 'Invalid value: 70000: must be between 1 and 65535, inclusive' });
  });

  test('delete returns a Success Status, cascades to ReplicaSets and Pods', async () => {
    await c.objects.create(deployment('cascade', 'example.com/app:1'));
    const d = await kube.waitFor('apps/v1', 'Deployment', 'dev', 'cascade', (o) => o?.status?.readyReplicas === 2);
    expect(kube.objects.list('Pod', 'dev').filter((p) => p.metadata.labels?.app === 'cascade')).toHaveLength(2);
    const status = (await c.objects.delete({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cascade', namespace: 'dev' } })) as unknown as { status: string; details: { uid: string } };
    expect(status).toMatchObject({ status: 'Success', details: { uid: d!.metadata.uid } });
    for (let i = 0; i < 200 && kube.objects.list('Pod', 'dev').some((p) => p.metadata.labels?.app === 'cascade'); i++) await sleep(10);
    expect(kube.objects.list('ReplicaSet', 'dev').filter((p) => p.metadata.labels?.app === 'cascade')).toEqual([]);
    expect(kube.objects.list('Pod', 'dev').filter((p) => p.metadata.labels?.app === 'cascade')).toEqual([]);
    expect((await failure(c.objects.delete({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'cascade', namespace: 'dev' } }))).code).toBe(404);
  });

  test('foreground deletion keeps the owner until its dependents are gone; orphan keeps them', async () => {
    await c.objects.create(deployment('fg', 'example.com/app:1', { replicas: 1 }));
    await kube.waitFor('apps/v1', 'Deployment', 'dev', 'fg', (o) => o?.status?.readyReplicas === 1);
    // client-node types every DELETE answer as V1Status, so read the pending object from the store.
    await c.objects.delete({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'fg', namespace: 'dev' } }, undefined, undefined, undefined, undefined, 'Foreground');
    const pending = kube.objects.get('apps/v1', 'Deployment', 'dev', 'fg');
    if (pending) {
      expect(pending.metadata.deletionTimestamp).toBeTruthy();
      expect(pending.metadata.finalizers).toContain('foregroundDeletion');
    }
    expect(kube.requests.filter((r) => r.method === 'DELETE').at(-1)?.status).toBe(200);
    await kube.waitFor('apps/v1', 'Deployment', 'dev', 'fg', (o) => o === undefined);
    expect(kube.objects.list('Pod', 'dev').filter((p) => p.metadata.labels?.app === 'fg')).toEqual([]);

    await c.objects.create(deployment('orph', 'example.com/app:1', { replicas: 1 }));
    await kube.waitFor('apps/v1', 'Deployment', 'dev', 'orph', (o) => o?.status?.readyReplicas === 1);
    await c.objects.delete({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'orph', namespace: 'dev' } }, undefined, undefined, undefined, undefined, 'Orphan');
    await sleep(100);
    const rs = kube.objects.list('ReplicaSet', 'dev').filter((p) => p.metadata.labels?.app === 'orph');
    expect(rs).toHaveLength(1);
    expect(rs[0]!.metadata.ownerReferences).toBeUndefined();
  });

  test('injected failures and the request log', async () => {
    kube.controls.failNextRequests(1, 503, { method: 'GET', path: '/api/v1/namespaces/dev/configmaps' });
    const injected = await failure(c.core.listNamespacedConfigMap({ namespace: 'dev' }));
    expect(injected.code).toBe(503);
    await c.core.listNamespacedConfigMap({ namespace: 'dev' });
    const last = kube.requests.filter((r) => r.path === '/api/v1/namespaces/dev/configmaps').slice(-2);
    expect(last.map((r) => r.status)).toEqual([503, 200]);
  });
});

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

async function fetchJson(path: string, auth = true): Promise<{ kind: string; items: { kind?: string }[] }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(`${kube.url}${path}`, { ca: kube.caCert, headers: auth ? { Authorization: `Bearer ${kube.token}` } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.on('error', reject);
    req.end();
  });
}
