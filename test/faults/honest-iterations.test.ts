/**
 * Fault: an iteration is `ok` only when what it promises is true. After a first deploy that failed,
 * a save that would only sync files (into no container: nothing runs) must build and deploy instead.
 * The planner decides from the runner's facts (built artifacts, whether the last deploy runs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { ArtifactConfig } from '../../src/config/types.js';
import { noSelfWrites, plan, type PlanInput } from '../../src/plan/index.js';
import { artifactRules, manifestMatcher } from '../../src/plan/rules.js';
import { loadedConfig } from '../support/config.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { removeTemps, tempTree } from '../support/tmp.js';
import { registryBinaryAvailable, servicesRequired, testRegistry } from '../support/services.js';
import { killAll, startDevloop, type CliEvent } from '../support/cli.js';

// A real project on disk: the planner gets the inputs module's rules, as in `devloop dev`.
let dir: string;
const at = (rel: string): string => join(dir, rel);

function input(rel: string, built: string[], deployed: boolean): PlanInput {
  const web: ArtifactConfig = {
    image: 'web',
    context: at('web'),
    compile: { command: ['go', 'build', '.'], inputs: ['**/*.go'], env: {} },
    docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' },
    sync: [{ src: 'public/**', dest: '/app/public' }],
  };
  const api: ArtifactConfig = { image: 'api', context: at('api'), docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' }, sync: [] };
  return {
    changes: [{ path: at(rel), kind: 'write' }],
    configFile: at('devloop.yaml'),
    configDir: dir,
    isManifest: manifestMatcher(loadedConfig(dir, { manifests: ['k8s/*.yaml'] })),
    artifacts: [artifactRules(web), artifactRules(api)],
    state: { noSync: new Set(), syncedSinceBuild: new Set(), changedDuringLast: new Set(), selfWrites: noSelfWrites, built: new Set(built), deployed },
  };
}

describe('planner: a sync needs something running', () => {
  beforeAll(async () => {
    dir = await tempTree('devloop-honest-plan-', {
      'web/Dockerfile': 'FROM scratch\n',
      'web/main.go': 'package main\n',
      'web/public/index.html': 'hi\n',
      'api/Dockerfile': 'FROM scratch\n',
    });
  });

  it('syncs when the build is deployed and running', () => {
    const p = plan(input('web/public/index.html', ['web', 'api'], true));
    expect(p.actions.map((a) => a.kind)).toEqual(['sync']);
    expect(p.redeploy).toBe(false);
  });

  it('after a failed deploy, a syncable change rebuilds (no compile) and deploys', () => {
    const p = plan(input('web/public/index.html', ['web', 'api'], false));
    expect(p.actions).toEqual([{ kind: 'rebuild', image: 'web', compile: false, files: ['public/index.html'] }]);
    expect(p.redeploy).toBe(true);
    expect(p.reason).toBe('rebuild web (compile skipped): public/index.html changed; deploy: nothing deployed is known to run');
  });

  it('an artifact that never built builds with its compile step, and so does every other unbuilt one when deploying', () => {
    const p = plan(input('web/public/index.html', [], false));
    expect(p.actions).toEqual([
      { kind: 'rebuild', image: 'api', compile: false, files: [] },
      { kind: 'rebuild', image: 'web', compile: true, files: ['public/index.html'] },
    ]);
    expect(p.reason).toContain('rebuild api: no successful build yet');
  });
});

// The dev loop against the fake API server, with the daemonless builder (no Docker) and a registry.
// The daemonless build pushes to the test run's registry (skipped without one, unless services are required).
const hasRegistry = servicesRequired || registryBinaryAvailable() || Boolean(process.env.DEVLOOP_TEST_REGISTRY);
let fake: FakeKube;
let failing = true;

beforeAll(async () => {
  fake = await startFakeKube();
  // Every apply fails while `failing` (500 after retries): the first deploy fails, nothing is deployed.
  fake.controls.failNextRequests(1_000_000, 500, (entry) => failing && entry.method === 'PATCH');
});
afterAll(async () => {
  await killAll();
  await fake?.stop();
  await removeTemps();
});

describe.skipIf(!hasRegistry)('devloop dev: a sync-only save after a failed first deploy', () => {
  it('deploys instead of reporting "1 file into 0 containers"', async () => {
    const dir = await tempTree('devloop-faults-honest-', {
      'devloop.yaml': `apiVersion: devloop/v1
kind: Config
metadata: {name: honest}
build:
  defaultRepo: ${await testRegistry()}/devloop-faults
  push: true
  artifacts:
    - image: web
      context: web
      oci:
        from: scratch
        layers: [{from: public, to: /app/public}]
      sync: [{src: "public/**", dest: /app/public}]
manifests: ["k8s/*.yaml"]
deploy: {statusCheck: {timeout: 30s}}
`,
      'web/public/index.html': 'one\n',
      'k8s/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web}]
`,
    });
    const cli = startDevloop(dir, ['dev', '--output', 'json', '--debounce', '50'], { KUBECONFIG: fake.kubeconfigPath }, { stdin: 'pipe' });
    const { events } = cli;
    const next = (test: (e: CliEvent) => boolean): Promise<unknown> => cli.waitFor(test, 120_000);
    const ended = (n: number) => (e: CliEvent) => e.type === 'iteration' && e.n === n && e.status !== 'start';

    await next(ended(1));
    expect(events.find(ended(1))).toMatchObject({ status: 'error' });
    expect(fake.objects.get('apps/v1', 'Deployment', 'default', 'web')).toBeUndefined();
    await next((e) => e.type === 'notice' && String(e.message).startsWith('watching'));

    failing = false;
    await writeFile(join(dir, 'web/public/index.html'), 'two\n');
    await next(ended(2));
    const second = events.find(ended(2))!;
    const start = events.find((e) => e.type === 'iteration' && e.n === 2 && e.status === 'start')!;
    expect(String(start.reason)).toContain('deploy: nothing deployed is known to run');
    expect(second.status, JSON.stringify(events.filter((e) => e.type === 'error'))).toBe('ok');
    expect(events.some((e) => e.type === 'progress' && String(e.message).includes('into 0 container'))).toBe(false);
    expect(fake.objects.get('apps/v1', 'Deployment', 'default', 'web')).toBeDefined();

    // Now something runs: the next save is a plain sync.
    await writeFile(join(dir, 'web/public/index.html'), 'three\n');
    await next(ended(3));
    const third = events.find((e) => e.type === 'iteration' && e.n === 3 && e.status === 'start')!;
    expect(String(third.reason)).toBe('sync web: public/index.html changed');
    expect(events.find(ended(3))).toMatchObject({ status: 'ok' });

    // Someone scales it to zero: a sync reaches no container, so the iteration fails, and the next save deploys.
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(fake.kubeconfigPath);
    await kc.makeApiClient(k8s.AppsV1Api).patchNamespacedDeployment(
      { name: 'web', namespace: 'default', fieldManager: 'kubectl-scale', body: { spec: { replicas: 0 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await fake.waitFor('apps/v1', 'Deployment', 'default', 'web', (d) => !(d?.status as { replicas?: number } | undefined)?.replicas);
    for (let i = 0; i < 100 && fake.objects.list('Pod', 'default').length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    await writeFile(join(dir, 'web/public/index.html'), 'four\n');
    await next(ended(4));
    expect(events.find(ended(4))).toMatchObject({ status: 'error' });
    expect(events.find((e) => e.type === 'error' && e.code === 'SYNC_NO_CONTAINERS')?.message).toContain('no running container of web');
    await writeFile(join(dir, 'web/public/index.html'), 'five\n');
    await next(ended(5));
    const fifth = events.find((e) => e.type === 'iteration' && e.n === 5 && e.status === 'start')!;
    expect(String(fifth.reason)).toBe('rebuild web: public/index.html changed; deploy: nothing deployed is known to run');
    expect(events.find(ended(5))).toMatchObject({ status: 'ok' });
    expect((fake.objects.get('apps/v1', 'Deployment', 'default', 'web') as unknown as { spec: { replicas: number } }).spec.replicas).toBe(1);
    cli.child.stdin!.write('q\n');
    await cli.exited;
  }, 120_000);
});
