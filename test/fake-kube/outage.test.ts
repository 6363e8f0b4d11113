import { expect, test } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { useFakeKube, type Clients } from './helpers.js';

let kube: FakeKube;
let c: Clients;
useFakeKube((started) => ({ kube, c } = started));

function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, i = 0; e && i < 4; e = (e as { cause?: unknown }).cause, i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

test('setUnavailable(true) refuses connections and resets open watches; false serves again on the same port', async () => {
  await c.core.createNamespacedConfigMap({ namespace: 'default', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before' }, data: { a: '1' } } });
  let ended: unknown = 'open';
  const watchEnded = new Promise<void>((resolve) => {
    void new k8s.Watch(c.kc).watch('/api/v1/namespaces/default/configmaps', {}, () => {}, (err) => {
      ended = err;
      resolve();
    });
  });
  await new Promise((r) => setTimeout(r, 100));

  await kube.controls.setUnavailable(true);
  await Promise.race([watchEnded, new Promise((_, reject) => setTimeout(() => reject(new Error('watch still open')), 5_000))]);
  expect(ended).not.toBe('open');
  const refused = await c.core.readNamespacedConfigMap({ namespace: 'default', name: 'before' }).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refused).toBeDefined();
  expect(networkCode(refused)).toBe('ECONNREFUSED');
  await kube.controls.setUnavailable(true); // idempotent

  await kube.controls.setUnavailable(false);
  expect(kube.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const read = await c.core.readNamespacedConfigMap({ namespace: 'default', name: 'before' });
  expect(read.data).toEqual({ a: '1' }); // the store survived the outage
});

test('stop() works while unavailable', async () => {
  const other = await startFakeKube();
  await other.controls.setUnavailable(true);
  await other.stop();
});
