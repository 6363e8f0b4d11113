/** The kubeconfig client keeps API connections alive: one TLS connection serves many requests. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { createKubeClient } from '../../src/kube/client.js';

let fake: FakeKube;
const saved = process.env.KUBECONFIG;
beforeAll(async () => {
  fake = await startFakeKube();
  process.env.KUBECONFIG = fake.kubeconfigPath;
});
afterAll(async () => {
  process.env.KUBECONFIG = saved;
  await fake?.stop();
});

describe('createKubeClient', () => {
  it('reuses one kept-alive connection for successive API requests (client-node alone opens one per request)', async () => {
    const kube = await createKubeClient();
    const before = fake.connections();
    for (let i = 0; i < 10; i++) await kube.core.listNamespacedPod({ namespace: kube.namespace });
    await kube.objects.list('v1', 'ConfigMap', kube.namespace);
    expect(fake.connections() - before).toBe(1);
  });
});
