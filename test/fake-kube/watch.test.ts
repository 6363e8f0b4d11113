import { expect, test } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { FakeKube } from '../support/fake-kube/index.js';
import { useFakeKube, type Clients } from './helpers.js';

let kube: FakeKube;
let c: Clients;
useFakeKube((started) => ({ kube, c } = started));

interface Seen {
  events: { type: string; name?: string; rv?: string; object: k8s.KubernetesObject & { code?: number; reason?: string } }[];
  done: Promise<unknown>;
  controller: AbortController;
}

async function watch(path: string, query: Record<string, string | number | boolean>): Promise<Seen> {
  const events: Seen['events'] = [];
  let resolveDone!: (e: unknown) => void;
  const done = new Promise((r) => (resolveDone = r));
  const controller = await new k8s.Watch(c.kc).watch(
    path,
    query,
    (type, object: k8s.KubernetesObject) => events.push({ type, name: object.metadata?.name, rv: object.metadata?.resourceVersion, object }),
    (err) => resolveDone(err ?? null),
  );
  return { events, done, controller };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cm = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels }, data: { v: '1' } });

test('watch from a list resourceVersion, resume after dropWatches, 410 after compaction', async () => {
  await c.objects.create(cm('before'));
  const list = await c.core.listNamespacedConfigMap({ namespace: 'default' });
  const w = await watch('/api/v1/namespaces/default/configmaps', { resourceVersion: list.metadata!.resourceVersion!, allowWatchBookmarks: true });
  await c.objects.create(cm('one'));
  await c.core.patchNamespacedConfigMap({ name: 'one', namespace: 'default', body: { data: { v: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await c.core.deleteNamespacedConfigMap({ name: 'one', namespace: 'default' });
  await until(() => w.events.length >= 3);
  expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED one', 'MODIFIED one', 'DELETED one']);
  expect(w.events[0]!.object.kind).toBe('ConfigMap');

  kube.controls.sendBookmarks();
  await until(() => w.events.some((e) => e.type === 'BOOKMARK'));
  const lastRv = w.events.filter((e) => e.type !== 'BOOKMARK').at(-1)!.rv!;

  kube.controls.dropWatches();
  expect(await w.done).toBeNull(); // EOF, no error: the client must notice and resume
  await c.objects.create(cm('while-away'));
  const resumed = await watch('/api/v1/namespaces/default/configmaps', { resourceVersion: lastRv });
  await until(() => resumed.events.length >= 1);
  expect(resumed.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED while-away']);
  resumed.controller.abort();

  kube.controls.compactWatchHistory();
  const expired = await watch('/api/v1/namespaces/default/configmaps', { resourceVersion: lastRv });
  await until(() => expired.events.length >= 1);
  expect(expired.events[0]!.type).toBe('ERROR');
  expect(expired.events[0]!.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  await expired.done;
});

test('watch without resourceVersion starts with ADDED for what exists; selectors turn changes into ADDED/DELETED', async () => {
  await c.objects.create(cm('sel', { app: 'x' }));
  const w = await watch('/api/v1/namespaces/default/configmaps', { labelSelector: 'app=x' });
  await until(() => w.events.length >= 1);
  expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED sel']);
  await c.core.patchNamespacedConfigMap({ name: 'sel', namespace: 'default', body: { metadata: { labels: { app: 'y' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await c.core.patchNamespacedConfigMap({ name: 'sel', namespace: 'default', body: { metadata: { labels: { app: 'x' } } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
  await until(() => w.events.length >= 3);
  expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
  w.controller.abort();

  const timed = await watch('/api/v1/namespaces/default/configmaps', { timeoutSeconds: 1, fieldSelector: 'metadata.name=sel' });
  const started = Date.now();
  await timed.done;
  expect(Date.now() - started).toBeLessThan(3000);
  expect(timed.events.map((e) => e.name)).toEqual(['sel']);
});
