import { afterEach, describe, expect, it } from 'vitest';
import { applyObjects } from '../../src/deploy/apply.js';
import { pruneObjects } from '../../src/deploy/prune.js';
import { deleteDeployed } from '../../src/deploy/delete.js';
import { pruneScope } from '../../src/deploy/record.js';

const TARGET = { configName: 'demo', kubeContext: 'fake', namespace: 'default' };
import { startHarness, rendered, DEPLOYMENT, SERVICE, type Harness } from './support.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.fake.stop();
  harness = undefined;
});

describe('prune and delete', () => {
  it('prunes objects no longer rendered, never controller-owned ones or other configs', async () => {
    harness = await startHarness();
    const { api, emit, fake } = harness;
    const signal = new AbortController().signal;
    await applyObjects({ api, objects: rendered(`${DEPLOYMENT('hello', 'img:1')}---\n${SERVICE('hello')}---\n${SERVICE('gone')}`), emit, signal });
    // Another config's object, labeled for it: must survive.
    await applyObjects({ api, objects: rendered(SERVICE('theirs')).map((o) => ({ ...o, object: { ...o.object, metadata: { ...o.object.metadata, labels: { ...o.object.metadata.labels, 'devloop.dev/config': 'other' } } } })), emit, signal });
    await fake.waitFor('apps/v1', 'Deployment', 'default', 'hello', (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 1);
    const applied = await applyObjects({ api, objects: rendered(`${DEPLOYMENT('hello', 'img:1')}---\n${SERVICE('hello')}`), emit, signal });
    const pruned = await pruneObjects({ api, applied, configName: 'demo', scope: pruneScope([], TARGET, applied), emit, signal });
    expect(pruned.map((r) => `${r.kind}/${r.name}`)).toEqual(['Service/gone']);
    expect(fake.objects.get('v1', 'Service', 'default', 'gone')).toBeUndefined();
    expect(fake.objects.get('v1', 'Service', 'default', 'theirs')).toBeDefined();
    expect(fake.objects.get('apps/v1', 'Deployment', 'default', 'hello')).toBeDefined();
    expect(fake.objects.list('ReplicaSet', 'default').length).toBeGreaterThan(0);
  });

  it('a dev run id prunes only that session’s objects', async () => {
    harness = await startHarness();
    const { api, emit, fake } = harness;
    const signal = new AbortController().signal;
    await applyObjects({ api, objects: rendered(SERVICE('plain')), emit, signal });
    const applied = await applyObjects({ api, objects: rendered(SERVICE('session'), [], 'k8s/a.yaml', 'run-1'), emit, signal });
    await applyObjects({ api, objects: rendered(SERVICE('old-session'), [], 'k8s/a.yaml', 'run-1'), emit, signal });
    const pruned = await pruneObjects({ api, applied, configName: 'demo', runId: 'run-1', scope: pruneScope([], TARGET, applied), emit, signal });
    expect(pruned.map((r) => r.name)).toEqual(['old-session']);
    expect(fake.objects.get('v1', 'Service', 'default', 'plain')).toBeDefined();
  });

  it('delete removes everything of the config, waits for it, and a second delete is a no-op', async () => {
    harness = await startHarness();
    const { api, emit, fake } = harness;
    const signal = new AbortController().signal;
    await applyObjects({ api, objects: rendered(`${DEPLOYMENT('hello', 'img:1')}---\n${SERVICE('hello')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n`), emit, signal });
    const deleted = await deleteDeployed({ api, configName: 'demo', emit, signal });
    expect(deleted.map((r) => `${r.kind}/${r.name}`).sort()).toEqual(['ConfigMap/cfg', 'Deployment/hello', 'Service/hello']);
    expect(fake.objects.get('apps/v1', 'Deployment', 'default', 'hello')).toBeUndefined();
    expect(fake.objects.get('v1', 'Service', 'default', 'hello')).toBeUndefined();
    expect(await deleteDeployed({ api, configName: 'demo', emit, signal })).toEqual([]);
  });

  it('delete looks again until nothing is left: pods a dying ReplicaSet created meanwhile go too', async () => {
    harness = await startHarness();
    const { api, emit, fake } = harness;
    const signal = new AbortController().signal;
    await applyObjects({ api, objects: rendered(DEPLOYMENT('hello', 'img:1')), emit, signal });
    await fake.waitFor('apps/v1', 'Deployment', 'default', 'hello', (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 1);
    // The ReplicaSet is deleted first (its kind listed first): the Deployment replaces it, and the
    // replacement creates pods while the Deployment and its pods are being deleted.
    await deleteDeployed({ api, configName: 'demo', kinds: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet' }], emit, signal });
    expect(['Deployment', 'ReplicaSet', 'Pod'].flatMap((kind) => fake.objects.list(kind, 'default').map((o) => `${kind}/${o.metadata.name}`))).toEqual([]);
  });
});
