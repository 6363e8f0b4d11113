import { expect, test } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { FakeKube, KubeObject } from '../support/fake-kube/index.js';
import { useFakeKube, deployment, type Clients } from './helpers.js';

let kube: FakeKube;
let c: Clients;
useFakeKube((started) => ({ kube, c } = started));

const SSA = k8s.PatchStrategy.ServerSideApply;
const apply = (o: k8s.KubernetesObject) => c.objects.patch(o, undefined, undefined, 'devloop', true, SSA);
const podsOf = (app: string) => kube.objects.list('Pod', 'default').filter((p) => p.metadata.labels?.app === app);
const condition = (o: KubeObject | undefined, type: string) => (o?.status?.conditions ?? []).find((x: { type: string }) => x.type === type);

test('a Deployment rolls out to Available with the status fields rollout checks read', async () => {
  await apply(deployment('web', 'example.com/web:1'));
  const d = await kube.waitFor('apps/v1', 'Deployment', 'default', 'web', (o) => condition(o, 'Progressing')?.reason === 'NewReplicaSetAvailable');
  expect(d!.status).toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
  expect(d!.status.unavailableReplicas).toBeUndefined();
  expect(condition(d, 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
  const rs = kube.objects.list('ReplicaSet', 'default').filter((r) => r.metadata.labels?.app === 'web');
  expect(rs).toHaveLength(1);
  expect(rs[0]!.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true });
  expect(rs[0]!.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
  const pods = podsOf('web');
  expect(pods).toHaveLength(2);
  const pod = pods[0]!;
  expect(pod.metadata.labels?.['pod-template-hash']).toBe(rs[0]!.metadata.labels?.['pod-template-hash']);
  expect(pod.status).toMatchObject({ phase: 'Running', hostIP: '127.0.0.1' });
  expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'app', ready: true, started: true, restartCount: 0, image: 'example.com/web:1', state: { running: {} } });
  expect(pod.status.conditions.map((x: { type: string; status: string }) => `${x.type}=${x.status}`)).toEqual(
    expect.arrayContaining(['Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']),
  );
  const events = await c.core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${pod.metadata.name}` });
  expect(events.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']));
});

test('a new image rolls: new ReplicaSet up, old down, pods replaced', async () => {
  const oldPods = podsOf('web').map((p) => p.metadata.name);
  await apply(deployment('web', 'example.com/web:2'));
  const d = await kube.waitFor('apps/v1', 'Deployment', 'default', 'web', (o) => o?.status?.observedGeneration === 2 && condition(o, 'Progressing')?.reason === 'NewReplicaSetAvailable' && o.status.replicas === 2);
  expect(d!.status).toMatchObject({ updatedReplicas: 2, availableReplicas: 2 });
  await kube.waitFor('v1', 'Pod', 'default', oldPods[0]!, (o) => o === undefined);
  const pods = podsOf('web');
  expect(pods.every((p) => p.spec.containers[0].image === 'example.com/web:2')).toBe(true);
  expect(pods.some((p) => oldPods.includes(p.metadata.name))).toBe(false);
  const rs = kube.objects.list('ReplicaSet', 'default').filter((r) => r.metadata.labels?.app === 'web');
  expect(rs.map((r) => r.spec.replicas).sort()).toEqual([0, 2]);
});

test('deletePod simulates a crash: the ReplicaSet replaces the pod', async () => {
  const [victim] = podsOf('web');
  await kube.controls.deletePod('default', victim!.metadata.name!);
  await kube.waitFor('apps/v1', 'Deployment', 'default', 'web', () => podsOf('web').filter((p) => p.status?.phase === 'Running').length === 2 && !podsOf('web').some((p) => p.metadata.name === victim!.metadata.name));
});

test('ImagePullBackOff, then recovery after clearFailures; progress deadline exceeded', async () => {
  kube.controls.failImage('example.com/broken', 'ImagePullBackOff');
  await apply(deployment('pull', 'example.com/broken:1', { replicas: 1, progressDeadlineSeconds: 1 }));
  await kube.waitFor('apps/v1', 'Deployment', 'default', 'pull', () => podsOf('pull')[0]?.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
  const waiting = podsOf('pull')[0]!.status.containerStatuses[0].state.waiting;
  expect(waiting.message).toBe('Back-off pulling image "example.com/broken:1"');
  expect(podsOf('pull')[0]!.status.phase).toBe('Pending');
  const d = await kube.waitFor('apps/v1', 'Deployment', 'default', 'pull', (o) => condition(o, 'Progressing')?.reason === 'ProgressDeadlineExceeded', 5000);
  expect(condition(d, 'Progressing')).toMatchObject({ status: 'False', message: expect.stringContaining('has timed out progressing') });
  expect(d!.status.unavailableReplicas).toBe(1);
  const events = kube.objects.list('Event', 'default').filter((e) => e.involvedObject.name === podsOf('pull')[0]!.metadata.name);
  expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Failed', 'BackOff']));
  kube.controls.clearFailures();
  await kube.waitFor('apps/v1', 'Deployment', 'default', 'pull', (o) => o?.status?.availableReplicas === 1, 5000);
});

test('CrashLoopBackOff: restarts grow, lastState terminated with exit code 1, logs kept', async () => {
  kube.controls.failImage(/crashy/, 'CrashLoopBackOff');
  await apply(deployment('crash', 'example.com/crashy:1', { replicas: 1 }));
  await kube.waitFor('apps/v1', 'Deployment', 'default', 'crash', () => {
    const s = podsOf('crash')[0]?.status?.containerStatuses?.[0];
    return s?.restartCount >= 2 && s?.state?.waiting?.reason === 'CrashLoopBackOff';
  });
  const pod = podsOf('crash')[0]!;
  const status = pod.status.containerStatuses[0];
  expect(status.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
  expect(status.ready).toBe(false);
  expect(pod.status.phase).toBe('Running');
  kube.controls.clearFailures();
});

test('Unschedulable and NotReady are reflected in pod status and events', async () => {
  kube.controls.failImage('example.com/huge', 'Unschedulable');
  kube.controls.failImage('example.com/unready', 'NotReady');
  await apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'huge', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'example.com/huge:1' }] } } as k8s.KubernetesObject);
  await apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unready', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'example.com/unready:1' }] } } as k8s.KubernetesObject);
  const huge = await kube.waitFor('v1', 'Pod', 'default', 'huge', (o) => condition(o, 'PodScheduled')?.status === 'False');
  expect(condition(huge, 'PodScheduled')).toMatchObject({ reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient cpu.' });
  const unready = await kube.waitFor('v1', 'Pod', 'default', 'unready', (o) => o?.status?.phase === 'Running');
  expect(condition(unready, 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
  const events = kube.objects.list('Event', 'default').filter((e) => e.involvedObject.name === 'unready' && e.reason === 'Unhealthy');
  expect(events[0]?.message).toMatch(/^Readiness probe failed: /);
  kube.controls.clearFailures();
});

test('NotReady acts like a readiness probe: running containers turn Ready after clearFailures, and unready again', async () => {
  kube.controls.failImage('example.com/probe', 'NotReady');
  await apply({ ...deployment('probe', 'example.com/probe:1', { replicas: 1 }), metadata: { name: 'probe', namespace: 'default', labels: { app: 'probe' } } } as k8s.KubernetesObject);
  await kube.waitFor('apps/v1', 'Deployment', 'default', 'probe', () => podsOf('probe')[0]?.status?.phase === 'Running');
  const [pod] = podsOf('probe');
  expect(pod!.status.containerStatuses[0]).toMatchObject({ ready: false, started: true });
  expect(kube.objects.get('apps/v1', 'Deployment', 'default', 'probe')!.status.availableReplicas).toBeUndefined();

  kube.controls.clearFailures();
  const d = await kube.waitFor('apps/v1', 'Deployment', 'default', 'probe', (o) => o?.status?.availableReplicas === 1);
  expect(condition(d, 'Available')).toMatchObject({ status: 'True' });
  const [same] = podsOf('probe');
  // The same container, not a replacement or a restart.
  expect(same!.metadata.uid).toBe(pod!.metadata.uid);
  expect(same!.status.containerStatuses[0]).toMatchObject({ ready: true, restartCount: 0 });
  expect(condition(same, 'Ready')).toMatchObject({ status: 'True' });

  // A probe that starts failing again: unready, with another Unhealthy event.
  const unhealthy = () => kube.objects.list('Event', 'default').filter((e) => e.involvedObject.name === pod!.metadata.name && e.reason === 'Unhealthy');
  const before = unhealthy().reduce((n, e) => n + (e.count ?? 1), 0);
  kube.controls.failImage('example.com/probe', 'NotReady');
  const again = await kube.waitFor('v1', 'Pod', 'default', pod!.metadata.name!, (o) => condition(o, 'Ready')?.status === 'False');
  expect(again!.status.containerStatuses[0]).toMatchObject({ ready: false, restartCount: 0 });
  expect(unhealthy().reduce((n, e) => n + (e.count ?? 1), 0)).toBe(before + 1);
  kube.controls.clearFailures();
});

test('StatefulSet, DaemonSet and Job reach their done states', async () => {
  const template = (app: string, restartPolicy?: string) => ({ metadata: { labels: { app } }, spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: 'c', image: 'example.com/x:1' }] } });
  await apply({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'default' }, spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: template('db') } } as k8s.KubernetesObject);
  await apply({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent') } } as k8s.KubernetesObject);
  await apply({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate', namespace: 'default' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'example.com/x:1' }] } } } } as k8s.KubernetesObject);
  const sts = await kube.waitFor('apps/v1', 'StatefulSet', 'default', 'db', (o) => o?.status?.readyReplicas === 2);
  expect(sts!.status).toMatchObject({ observedGeneration: 1, replicas: 2, currentReplicas: 2, updatedReplicas: 2 });
  expect(sts!.status.currentRevision).toBe(sts!.status.updateRevision);
  expect(podsOf('db').map((p) => p.metadata.name).sort()).toEqual(['db-0', 'db-1']);
  const ds = await kube.waitFor('apps/v1', 'DaemonSet', 'default', 'agent', (o) => o?.status?.numberReady === 1);
  expect(ds!.status).toMatchObject({ desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberAvailable: 1, observedGeneration: 1 });
  const job = await kube.waitFor('batch/v1', 'Job', 'default', 'migrate', (o) => condition(o, 'Complete')?.status === 'True');
  expect(job!.status.succeeded).toBe(1);
});
