import { expect, test } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { FakeKube } from '../support/fake-kube/index.js';
import { useFakeKube, deployment, failure, type Clients } from './helpers.js';

let kube: FakeKube;
let c: Clients;
useFakeKube((started) => ({ kube, c } = started));

const SSA = k8s.PatchStrategy.ServerSideApply;

test('server-side apply creates (201), updates, records managedFields and bumps generation on spec changes only', async () => {
  const created = await c.objects.patch(deployment('ssa', 'example.com/app:1'), undefined, undefined, 'devloop', true, SSA);
  expect(kube.requests.at(-1)).toMatchObject({ method: 'PATCH', contentType: 'application/apply-patch+yaml', fieldManager: 'devloop', status: 201, query: { force: 'true' } });
  expect(created.metadata?.generation).toBe(1);
  const entry = created.metadata?.managedFields?.find((m) => m.manager === 'devloop');
  expect(entry).toMatchObject({ operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
  const fields = entry?.fieldsV1 as Record<string, Record<string, unknown>>;
  expect(fields['f:spec']).toHaveProperty('f:replicas');
  expect(JSON.stringify(fields)).toContain('k:{\\"name\\":\\"app\\"}');

  const relabelled = deployment('ssa', 'example.com/app:1');
  relabelled.metadata.labels = { app: 'ssa', extra: 'yes' };
  const metaOnly = await c.objects.patch(relabelled, undefined, undefined, 'devloop', true, SSA);
  expect(kube.requests.at(-1)?.status).toBe(200);
  expect(metaOnly.metadata?.generation).toBe(1);
  const newImage = await c.objects.patch(deployment('ssa', 'example.com/app:2'), undefined, undefined, 'devloop', true, SSA);
  expect(newImage.metadata?.generation).toBe(2);
  // the label dropped from the applied config is removed
  expect(newImage.metadata?.labels).toEqual({ app: 'ssa' });
  // dropping the last annotation leaves no empty map (ObjectMeta's maps are omitempty on a real server)
  const annotated = deployment('ssa', 'example.com/app:2');
  annotated.metadata.annotations = { note: 'x' };
  expect((await c.objects.patch(annotated, undefined, undefined, 'devloop', true, SSA)).metadata?.annotations).toEqual({ note: 'x' });
  const unannotated = deployment('ssa', 'example.com/app:2');
  unannotated.metadata.annotations = {};
  expect(await c.objects.patch(unannotated, undefined, undefined, 'devloop', true, SSA)).not.toHaveProperty('metadata.annotations');
  // defaults are there but nobody's
  expect((newImage as unknown as k8s.V1Deployment).spec?.strategy?.type).toBe('RollingUpdate');
});

test('apply conflicts with another manager: 409 with the real message, force takes the field over', async () => {
  await c.apps.patchNamespacedDeployment(
    { name: 'ssa', namespace: 'default', body: { spec: { replicas: 5 } }, fieldManager: 'kubectl-edit' },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  const conflict = await failure(c.objects.patch(deployment('ssa', 'example.com/app:2'), undefined, undefined, 'devloop', false, SSA));
  expect(conflict.code).toBe(409);
  expect(conflict.body.reason).toBe('Conflict');
  // As a real v1.26 server words it (no time, `reason` in the cause).
  expect(conflict.body.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas');
  expect(conflict.body.details?.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using apps/v1', field: '.spec.replicas' }]);
  const forced = await c.objects.patch(deployment('ssa', 'example.com/app:2'), undefined, undefined, 'devloop', true, SSA);
  expect((forced as unknown as k8s.V1Deployment).spec?.replicas).toBe(2);
  expect(forced.metadata?.managedFields?.some((m) => m.manager === 'kubectl-edit')).toBe(false);
});

test('apply without fieldManager is rejected; old servers answer 415', async () => {
  const missing = await failure(c.objects.patch(deployment('ssa', 'example.com/app:2'), undefined, undefined, undefined, true, SSA));
  expect(missing.code).toBe(422);
  // The real v1.26 body, word for word (details carry no name: it is empty, and omitempty).
  expect(missing.body).toEqual({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    reason: 'Invalid',
    details: { group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }] },
    code: 422,
  });
  kube.controls.setOldServer(true);
  const old = await failure(c.objects.patch(deployment('ssa', 'example.com/app:2'), undefined, undefined, 'devloop', true, SSA));
  expect(old.code).toBe(415);
  expect(old.body.reason).toBe('UnsupportedMediaType');
  expect(old.body.message).not.toContain('apply-patch');
  kube.controls.setOldServer(false);
});

test('strategic merge patch merges containers by name and ports by containerPort', async () => {
  const patched = (await c.objects.patch(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ssa', namespace: 'default' },
      spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'example.com/side:1' }, { name: 'app', ports: [{ containerPort: 9090 }] }] } } },
    } as k8s.KubernetesObject,
    undefined,
    undefined,
    'kubectl-patch',
    undefined,
    k8s.PatchStrategy.StrategicMergePatch,
  )) as k8s.V1Deployment;
  const containers = patched.spec!.template.spec!.containers;
  expect(containers.map((x) => x.name)).toEqual(['app', 'sidecar']);
  expect(containers[0]!.image).toBe('example.com/app:2');
  expect(containers[0]!.ports!.map((p) => p.containerPort)).toEqual([8080, 9090]);
  // KubernetesObjectApi.patch serialises through the typed model, which drops `$patch`: use the typed API.
  const deleted = await c.apps.patchNamespacedDeployment(
    { name: 'ssa', namespace: 'default', body: { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
  );
  expect(deleted.spec!.template.spec!.containers.map((x) => x.name)).toEqual(['app']);
});

test('merge patch and JSON patch', async () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p', namespace: 'default' }, data: { a: '1', b: '2' } };
  await c.objects.create(cm);
  const merged = (await c.core.patchNamespacedConfigMap(
    { name: 'p', namespace: 'default', body: { data: { a: null, c: '3' } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  )) as k8s.V1ConfigMap;
  expect(merged.data).toEqual({ b: '2', c: '3' });
  const jsonPatched = await c.core.patchNamespacedConfigMap(
    { name: 'p', namespace: 'default', body: [{ op: 'replace', path: '/data/b', value: '20' }, { op: 'add', path: '/metadata/labels', value: { x: 'y' } }] },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
  );
  expect(jsonPatched.data).toEqual({ b: '20', c: '3' });
  expect(jsonPatched.metadata?.labels).toEqual({ x: 'y' });
  const failed = await failure(
    c.core.patchNamespacedConfigMap(
      { name: 'p', namespace: 'default', body: [{ op: 'test', path: '/data/b', value: 'nope' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    ),
  );
  expect(failed.code).toBe(422);
});
