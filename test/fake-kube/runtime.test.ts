import { afterAll, beforeAll, expect, test } from 'vitest';
import { createServer, type Server } from 'node:http';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { startFakeKube, podKeyOf, type FakeKube } from '../support/fake-kube/index.js';
import { clients, type Clients } from './helpers.js';

let kube: FakeKube;
let c: Clients;
let registry: Server;
let registryHost: string;
beforeAll(async () => {
  kube = await startFakeKube();
  c = clients(kube);
  // A registry that only has app:1.
  registry = createServer((req, res) => {
    const ok = req.method === 'HEAD' && req.url === '/v2/team/app/manifests/1';
    res.writeHead(ok ? 200 : 404, ok ? { 'Docker-Content-Digest': `sha256:${'a'.repeat(64)}` } : {});
    res.end();
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', () => r()));
  registryHost = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await kube?.stop();
  registry?.close();
});

const pod = (name: string, image: string) =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 80 }] }] } }) as k8s.KubernetesObject;

test('images on a loopback registry are checked: present → running with imageID, missing → ErrImagePull/ImagePullBackOff', async () => {
  await c.objects.create(pod('good', `${registryHost}/team/app:1`));
  await c.objects.create(pod('missing', `${registryHost}/team/app:2`));
  const good = await kube.waitFor('v1', 'Pod', 'default', 'good', (o) => o?.status?.phase === 'Running');
  expect(good!.status.containerStatuses[0].imageID).toBe(`${registryHost}/team/app@sha256:${'a'.repeat(64)}`);
  const missing = await kube.waitFor('v1', 'Pod', 'default', 'missing', (o) => o?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
  expect(missing!.status.containerStatuses[0].state.waiting.message).toBe(`Back-off pulling image "${registryHost}/team/app:2"`);
  const failed = kube.objects.list('Event', 'default').find((e) => e.involvedObject.name === 'missing' && e.reason === 'Failed' && e.message.startsWith('Failed to pull image'));
  expect(failed?.message).toContain('not found');
});

test('the simulated container serves HTTP on its endpoint, files from its root folder, and logs requests', async () => {
  const stored = kube.objects.get('v1', 'Pod', 'default', 'good')!;
  const key = podKeyOf(stored);
  const endpoint = kube.runtime.endpoint(key, 'web', 80)!;
  expect(endpoint.host).toBe('127.0.0.1');
  const hello = await fetch(`http://127.0.0.1:${endpoint.port}/`).then((r) => r.text());
  expect(hello).toBe(`hello from good image=${registryHost}/team/app:1\n`);
  const root = kube.runtime.rootDir(key, 'web')!;
  await mkdir(join(root, 'app/public'), { recursive: true });
  await writeFile(join(root, 'app/public/x.txt'), 'synced');
  expect(await fetch(`http://127.0.0.1:${endpoint.port}/app/public/x.txt`).then((r) => r.text())).toBe('synced');
  const lines = kube.runtime.logs(key, 'web')!.read().map((l) => l.text);
  expect(lines[0]).toMatch(/^starting web image=/);
  expect(lines).toContain('GET /app/public/x.txt');
});
