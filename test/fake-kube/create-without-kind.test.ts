/** Calibrated on a real 1.26: a POST to a built-in type's collection may omit apiVersion/kind (the URL gives them). */
import { expect, it } from 'vitest';
import type { FakeKube } from '../support/fake-kube/index.js';
import { useFakeKube, type Clients } from './helpers.js';

let kube: FakeKube;
let c: Clients;
useFakeKube((started) => ({ kube, c } = started));

it('creates a pod from a body without apiVersion/kind, like the real server', async () => {
  const pod = await c.core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'bare' }, spec: { containers: [{ name: 'main', image: 'registry.example/x:1' }] } } });
  expect(pod.metadata?.name).toBe('bare');
  expect(kube.objects.get('v1', 'Pod', 'default', 'bare')).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
});
