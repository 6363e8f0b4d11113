/**
 * `render`, `run`, `build` + `deploy --build-artifacts` and `delete` against a real cluster
 * (DEVLOOP_TEST_KUBECONFIG), in a namespace of their own: server-side apply and its field managers,
 * a conflicting apply by another manager, prune of a removed object.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { devloop, stackLines } from '../e2e/support.js';
import { clusterPresent, isReady, labeled, livePods, openCluster, shellApp, until, type Cluster, type ShellApp } from './support.js';

const present = await clusterPresent();

const EXTRA = `apiVersion: v1
kind: ConfigMap
metadata: {name: extra}
data: {note: "pruned once removed from the manifests"}
`;

function managers(deployment: k8s.V1Deployment): Record<string, string> {
  return Object.fromEntries((deployment.metadata?.managedFields ?? []).map((m) => [m.manager!, JSON.stringify(m.fieldsV1 ?? {})]));
}

describe.skipIf(!present)('run, deploy, render, delete on a real cluster', () => {
  let cluster: Cluster;
  let app: ShellApp;
  let env: Record<string, string>;
  const ns = (): string[] => ['-n', cluster.namespace];

  beforeAll(async () => {
    cluster = await openCluster('run');
    app = await shellApp('run', { extraManifests: EXTRA });
    env = { ...cluster.env, ...app.env };
  }, 120_000);
  afterAll(async () => {
    await cluster?.dispose();
    await app?.remove();
  });

  it('render: prints the manifests with the tag a build would produce and devloop labels, without touching the cluster', async () => {
    const result = await devloop(app.dir, ['render', ...ns()], env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`image: ${env.DEVLOOP_DEFAULT_REPO}/web:[0-9a-f]+\\n`));
    expect(result.stdout).toContain('app.kubernetes.io/managed-by: devloop');
    expect(result.stdout).toContain('devloop.dev/config: run');
    expect(await labeled(cluster)).toEqual([]);
  });

  it('run: server-side applies as field manager devloop, waits until Ready, exits 0', async () => {
    const result = await devloop(app.dir, ['run', ...ns(), '-o', 'json'], env, 180_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect(stackLines(result.stdout + result.stderr)).toEqual([]);
    const tag = String(result.events.find((e) => e.type === 'artifact')?.tag);
    expect(tag).toMatch(/@sha256:[0-9a-f]{64}$/);
    const deployment = await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: cluster.namespace });
    expect(deployment.spec!.template.spec!.containers[0]!.image).toBe(tag);
    const devloopEntry = deployment.metadata!.managedFields!.find((m) => m.manager === 'devloop');
    expect(devloopEntry).toMatchObject({ operation: 'Apply' });
    expect(JSON.stringify(devloopEntry!.fieldsV1)).toContain('"f:replicas"');
    // Healthy means what `kubectl rollout status` means; the pod serving the new image is Ready.
    expect(deployment.status).toMatchObject({ observedGeneration: deployment.metadata!.generation, readyReplicas: 1, updatedReplicas: 1 });
    const pods = await livePods(cluster, 'web');
    expect(pods.filter(isReady).map((p) => p.spec!.containers[0]!.image)).toEqual([tag]);
    expect(await labeled(cluster)).toEqual(expect.arrayContaining(['ConfigMap/extra', 'Deployment/web', 'Service/web']));
  }, 240_000);

  it('a conflicting apply by another field manager: refused without force (409 naming devloop); with force, the next run takes devloop\'s fields back and keeps the other manager\'s own fields', async () => {
    const patch = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: cluster.namespace, annotations: { 'example.com/owner': 'other' } },
      spec: { replicas: 2 },
    };
    // What `kubectl apply --server-side --field-manager=other` gets without --force-conflicts.
    const refused = await cluster.objects.patch(patch, undefined, undefined, 'other', false, k8s.PatchStrategy.ServerSideApply).then(
      () => undefined,
      (error: unknown) => error as k8s.ApiException<string>,
    );
    expect(refused?.code).toBe(409);
    const body = JSON.parse(String(refused!.body)) as { reason: string; message: string; details: { causes: { reason: string; message: string; field: string }[] } };
    expect(body.reason).toBe('Conflict');
    expect(body.message).toBe('Apply failed with 1 conflict: conflict with "devloop": .spec.replicas');
    expect(body.details.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "devloop"', field: '.spec.replicas' }]);

    // --force-conflicts: the other manager now owns spec.replicas.
    await cluster.objects.patch(patch, undefined, undefined, 'other', true, k8s.PatchStrategy.ServerSideApply);
    let deployment = await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: cluster.namespace });
    expect(deployment.spec!.replicas).toBe(2);
    expect(managers(deployment).other).toContain('"f:replicas"');
    expect(managers(deployment).devloop).not.toContain('"f:replicas"');

    // devloop applies with force: the manifest's value wins again and devloop owns the field again;
    // the annotation devloop's manifest does not set stays, owned by the other manager.
    const result = await devloop(app.dir, ['run', ...ns(), '-o', 'json'], env, 180_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    deployment = await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: cluster.namespace });
    expect(deployment.spec!.replicas).toBe(1);
    expect(managers(deployment).devloop).toContain('"f:replicas"');
    expect(managers(deployment).other ?? '').not.toContain('"f:replicas"');
    expect(deployment.metadata!.annotations?.['example.com/owner']).toBe('other');
    expect(managers(deployment).other).toContain('"f:example.com/owner"');
  }, 240_000);

  it('prune: an object removed from the manifests is deleted by the next run', async () => {
    const manifest = join(app.dir, 'k8s', 'app.yaml');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(/---\napiVersion: v1\nkind: ConfigMap[\s\S]*$/, ''));
    const result = await devloop(app.dir, ['run', ...ns(), '-o', 'json'], env, 180_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect(result.events.some((e) => e.type === 'stage' && e.stage === 'prune' && e.status === 'end')).toBe(true);
    await until('ConfigMap extra to be gone', async () => !(await labeled(cluster)).includes('ConfigMap/extra'), 30_000);
    expect(await labeled(cluster)).toEqual(expect.arrayContaining(['Deployment/web', 'Service/web']));
  }, 240_000);

  it('build --file-output, then deploy --build-artifacts: deploys exactly those tags without building', async () => {
    await writeFile(join(app.dir, 'web', 'www', 'version'), 'v2\n');
    const build = await devloop(app.dir, ['build', '--file-output', 'tags.json', '-o', 'json'], env, 180_000);
    expect(build.exitCode, build.stdout.slice(-3000) + build.stderr).toBe(0);
    const tags = JSON.parse(await readFile(join(app.dir, 'tags.json'), 'utf8')) as { builds: { image: string; tag: string }[] };
    const tag = tags.builds.find((b) => b.image === 'web')!.tag;

    const deploy = await devloop(app.dir, ['deploy', '--build-artifacts', 'tags.json', ...ns(), '-o', 'json'], env, 180_000);
    expect(deploy.exitCode, deploy.stdout.slice(-3000) + deploy.stderr).toBe(0);
    expect(deploy.events.filter((e) => e.type === 'stage' && (e.stage === 'build' || e.stage === 'compile') && e.status === 'start')).toEqual([]);
    const deployment = await cluster.apps.readNamespacedDeployment({ name: 'web', namespace: cluster.namespace });
    expect(deployment.spec!.template.spec!.containers[0]!.image).toBe(tag);
    const pods = await livePods(cluster, 'web');
    expect(pods.filter(isReady).map((p) => p.spec!.containers[0]!.image)).toContain(tag);
  }, 240_000);

  it('delete: removes everything the config deployed and waits for it; a second delete finds nothing and exits 0', async () => {
    const result = await devloop(app.dir, ['delete', ...ns(), '-o', 'json'], env, 120_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    // Deleted in the foreground: when it returns, the pods of the Deployment are gone too.
    expect(await labeled(cluster)).toEqual([]);
    const again = await devloop(app.dir, ['delete', ...ns(), '-o', 'json'], env, 60_000);
    expect(again.exitCode, again.stderr).toBe(0);
  }, 240_000);
});
