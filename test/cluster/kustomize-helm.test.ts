/**
 * examples/kustomize and examples/helm end to end on a real cluster, with the real kubectl/kustomize and
 * the real Helm CLI of ../shared/helm (installed into ~/.cache/devloop-helm the way the README and
 * .ci/run do): render, run, an overlay / chart edit in `dev` that re-applies without a build, and bad
 * input as one-line errors with their exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { copyFromRepo, devloop, killAll, ROOT, stackLines, startDevloop, tempDir, type CliEvent, type RunningCli } from '../e2e/support.js';
import { busyboxBaseImage, servicesRequired, testRegistry } from '../support/services.js';
import { cachedHelmPath, findExecutable } from '../../src/render/tools.js';
import { clusterPresent, isReady, iteration, labeled, livePods, openCluster, removeRepoImages, until, type Cluster } from './support.js';

const present = await clusterPresent();
const kustomizeTool = findExecutable('kubectl', ROOT) ?? findExecutable('kustomize', ROOT);
if (present && !kustomizeTool && servicesRequired) throw new Error('DEVLOOP_TEST_REQUIRE_SERVICES=1 but neither kubectl nor kustomize is on PATH');
if (present && !kustomizeTool) process.stdout.write('test/cluster/kustomize-helm: Kustomize tests skipped (neither kubectl nor kustomize on PATH)\n');

/** The Helm CLI from shared/helm/helm.xz (beside the repository, else /work/shared), unpacked once like .ci/run does. */
async function installHelm(): Promise<string> {
  const target = cachedHelmPath();
  if (existsSync(target)) return target;
  const archive = [resolve(ROOT, '..', 'shared', 'helm', 'helm.xz'), '/work/shared/helm/helm.xz'].find((p) => existsSync(p));
  if (!archive) throw new Error('no shared/helm/helm.xz beside the repository nor at /work/shared/helm');
  await mkdir(resolve(target, '..'), { recursive: true });
  await execa('sh', ['-c', 'xz -dc "$1" > "$2.tmp" && chmod +x "$2.tmp" && mv "$2.tmp" "$2"', 'sh', archive, target]);
  return target;
}

const isEnd = (n: number) => (e: CliEvent) => e.type === 'iteration' && e.n === n && e.status !== 'start';
function eventsOf(cli: RunningCli, n: number): CliEvent[] {
  const start = cli.events.findIndex(iteration('start', n));
  const end = cli.events.findIndex((e, i) => i > start && isEnd(n)(e));
  return cli.events.slice(start, end + 1);
}
const startedStages = (events: CliEvent[]): string[] => events.filter((e) => e.type === 'stage' && e.status === 'start').map((e) => String(e.stage));

interface Example {
  dir: string;
  env: Record<string, string>;
  remove(): Promise<void>;
}

/** A copy of examples/<name> with its own image repository; remove() deletes the copy and the images. */
async function example(name: string, cluster: Cluster): Promise<Example> {
  const registry = await testRegistry();
  const base = await busyboxBaseImage(registry);
  const project = await tempDir(`devloop-cluster-${name}-`);
  await copyFromRepo(`examples/${name}`, project.dir);
  const repo = `${registry}/devloop-cluster-${name}-${randomBytes(3).toString('hex')}`;
  return {
    dir: project.dir,
    env: { ...cluster.env, DEVLOOP_DEFAULT_REPO: repo, DEVLOOP_BASE_IMAGE: base },
    async remove() {
      await removeRepoImages(repo);
      await project.remove();
    },
  };
}

describe.skipIf(!present || !kustomizeTool)('examples/kustomize on a real cluster', () => {
  let cluster: Cluster;
  let app: Example;
  let dev: RunningCli | undefined;
  const ns = (): string[] => ['-n', cluster.namespace];

  beforeAll(async () => {
    cluster = await openCluster('kustomize');
    app = await example('kustomize', cluster);
  }, 120_000);
  afterAll(async () => {
    await killAll();
    await cluster?.dispose();
    await app?.remove();
  });

  it('render -p prod: the prod overlay, image rewritten, devloop labels; nothing applied', async () => {
    const result = await devloop(app.dir, ['render', '-p', 'prod', ...ns()], app.env);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('name: web-prod');
    expect(result.stdout).toContain('replicas: 2');
    expect(result.stdout).toMatch(new RegExp(`image: ${app.env.DEVLOOP_DEFAULT_REPO}/web:[0-9a-f]+\\n`));
    expect(result.stdout).toContain('app.kubernetes.io/part-of: kustomize-example'); // from the base's labels
    expect(result.stdout).toContain('devloop.dev/config: kustomize-example');
    expect(await labeled(cluster)).toEqual([]);
  });

  it('run: the dev overlay (base + generated ConfigMap + patch) applied, healthy, serving the built image', async () => {
    const result = await devloop(app.dir, ['run', ...ns(), '-o', 'json'], app.env, 180_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect(stackLines(result.stdout + result.stderr)).toEqual([]);
    const tag = String(result.events.find((e) => e.type === 'artifact')?.tag);
    const deployment = await cluster.apps.readNamespacedDeployment({ name: 'web-dev', namespace: cluster.namespace });
    expect(deployment.spec!.template.spec!.containers[0]!.image).toBe(tag);
    expect(deployment.spec!.template.spec!.volumes?.[0]?.configMap?.name).toMatch(/^greeting-dev-[a-z0-9]+$/);
    expect((await livePods(cluster, 'web')).filter(isReady).map((p) => p.spec!.containers[0]!.image)).toEqual([tag]);
    expect(await labeled(cluster)).toEqual(expect.arrayContaining(['Deployment/web-dev', 'Service/web-dev', expect.stringMatching(/^ConfigMap\/greeting-dev-/)]));
  }, 240_000);

  it('dev: editing a file of the overlay re-renders and re-applies without a build; the old generated ConfigMap is pruned', async () => {
    dev = startDevloop(app.dir, ['dev', ...ns(), '-o', 'json', '--debounce', '150'], app.env);
    await dev.waitFor(iteration('ok', 1), 180_000);
    const before = await cluster.apps.readNamespacedDeployment({ name: 'web-dev', namespace: cluster.namespace });
    const oldConfigMap = before.spec!.template.spec!.volumes![0]!.configMap!.name!;

    const from = dev.events.length;
    await writeFile(join(app.dir, 'k8s', 'overlays', 'dev', 'greeting.txt'), 'hello again\n');
    await dev.waitFor(isEnd(2), 120_000, from);
    const events = eventsOf(dev, 2);
    expect(events.at(-1), JSON.stringify(events)).toMatchObject({ status: 'ok' });
    expect(events[0]).toMatchObject({ reason: 'redeploy: k8s/overlays/dev/greeting.txt changed', changed: ['k8s/overlays/dev/greeting.txt'] });
    expect(startedStages(events)).toEqual(['render', 'apply', 'prune', 'status']);

    const after = await cluster.apps.readNamespacedDeployment({ name: 'web-dev', namespace: cluster.namespace });
    const newConfigMap = after.spec!.template.spec!.volumes![0]!.configMap!.name!;
    expect(newConfigMap).not.toBe(oldConfigMap);
    expect(after.spec!.template.spec!.containers[0]!.image).toBe(before.spec!.template.spec!.containers[0]!.image);
    const data = await cluster.core.readNamespacedConfigMap({ name: newConfigMap, namespace: cluster.namespace });
    expect(data.data?.['greeting.txt']).toBe('hello again\n');
    await until(`${oldConfigMap} to be pruned`, async () => !(await labeled(cluster)).includes(`ConfigMap/${oldConfigMap}`), 30_000);
  }, 300_000);

  it('dev: a kustomization that starts using a file in a new folder → that file is watched from then on', async () => {
    const from = dev!.events.length;
    await mkdir(join(app.dir, 'k8s', 'overlays', 'dev', 'extra'));
    await writeFile(join(app.dir, 'k8s', 'overlays', 'dev', 'extra', 'note.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: note}\ndata: {text: one}\n');
    const kustomization = join(app.dir, 'k8s', 'overlays', 'dev', 'kustomization.yaml');
    await writeFile(kustomization, (await readFile(kustomization, 'utf8')).replace('resources: [../../base]', 'resources: [../../base, extra/note.yaml]'));
    await dev!.waitFor(isEnd(3), 120_000, from);
    expect(eventsOf(dev!, 3).at(-1)).toMatchObject({ status: 'ok' });
    expect(await labeled(cluster)).toContain('ConfigMap/note-dev');

    const next = dev!.events.length;
    await writeFile(join(app.dir, 'k8s', 'overlays', 'dev', 'extra', 'note.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: note}\ndata: {text: two}\n');
    await dev!.waitFor(isEnd(4), 120_000, next);
    const events = eventsOf(dev!, 4);
    expect(events[0]).toMatchObject({ reason: 'redeploy: k8s/overlays/dev/extra/note.yaml changed' });
    expect(startedStages(events)).not.toContain('build');
    const note = await cluster.core.readNamespacedConfigMap({ name: 'note-dev', namespace: cluster.namespace });
    expect(note.data?.text).toBe('two');
    await dev!.signal('SIGINT', 60_000);
  }, 300_000);

  it('bad input: a kustomize error names the file kustomize named (exit 1); no kustomize tool (exit 1); a missing kustomization is a config error (exit 2)', async () => {
    const base = join(app.dir, 'k8s', 'base', 'kustomization.yaml');
    await writeFile(base, 'resources: [deployment.yaml, service.yaml, missing.yaml]\n');
    const failed = await devloop(app.dir, ['render', ...ns()], app.env);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/error: render: kubectl kustomize k8s\/overlays\/dev: k8s\/base\/missing\.yaml: no such file or directory\n/);
    expect(stackLines(failed.stderr)).toEqual([]);
    const missing = await devloop(app.dir, ['render', '-p', 'prod', ...ns()], app.env);
    expect(missing.exitCode).toBe(1); // the same base, from the prod overlay
    const noTool = await devloop(app.dir, ['render', ...ns()], { ...app.env, PATH: '/nonexistent' });
    expect(noTool.exitCode).toBe(1);
    expect(noTool.stderr).toContain('error: render: deploy.kustomize: neither kubectl nor kustomize is on PATH\n');
    await rm(join(app.dir, 'k8s', 'overlays', 'prod', 'kustomization.yaml'));
    const gone = await devloop(app.dir, ['render', '-p', 'prod', ...ns()], app.env);
    expect(gone.exitCode).toBe(2);
    expect(gone.stderr).toContain('error: render: deploy.kustomize.paths[0]: k8s/overlays/prod has no kustomization.yaml, kustomization.yml, Kustomization');
  }, 120_000);
});

describe.skipIf(!present)('examples/helm on a real cluster', () => {
  let cluster: Cluster;
  let app: Example;

  beforeAll(async () => {
    await installHelm();
    cluster = await openCluster('helm');
    app = await example('helm', cluster);
    // A fresh clone has no built dependencies: devloop runs `helm dependency build`.
    await rm(join(app.dir, 'chart', 'charts'), { recursive: true, force: true });
    await rm(join(app.dir, 'chart', 'Chart.lock'), { force: true });
  }, 120_000);
  afterAll(async () => {
    await killAll();
    await cluster?.dispose();
    await app?.remove();
  });

  it('run: helm template (values file, --set, file:// dependency built), images rewritten, applied by devloop: no release secret', async () => {
    const result = await devloop(app.dir, ['run', '-n', cluster.namespace, '-o', 'json'], app.env, 180_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect(existsSync(join(app.dir, 'chart', 'charts', 'extras-0.1.0.tgz'))).toBe(true);
    const tag = String(result.events.find((e) => e.type === 'artifact')?.tag);
    const deployment = await cluster.apps.readNamespacedDeployment({ name: 'demo-web', namespace: cluster.namespace });
    const container = deployment.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe(tag);
    expect(container.env).toEqual([{ name: 'GREETING', value: 'hello from --set' }]);
    expect(deployment.spec!.replicas).toBe(1); // values-dev.yaml over the chart's 2
    expect(deployment.metadata!.labels!['app.kubernetes.io/managed-by']).toBe('devloop');
    expect(await labeled(cluster)).toEqual(expect.arrayContaining(['ConfigMap/demo-extras', 'Deployment/demo-web', 'Service/demo-web']));
    const secrets = await cluster.core.listNamespacedSecret({ namespace: cluster.namespace });
    expect(secrets.items.map((s) => s.type)).not.toContain('helm.sh/release.v1');
  }, 240_000);

  it('dev: a values file edit and a dependency template edit re-apply without a build; the stale dependency is rebuilt', async () => {
    const archive = join(app.dir, 'chart', 'charts', 'extras-0.1.0.tgz');
    const archiveBefore = await readFile(archive);
    const dev = startDevloop(app.dir, ['dev', '-n', cluster.namespace, '-o', 'json', '--debounce', '150'], app.env);
    await dev.waitFor(iteration('ok', 1), 180_000);

    let from = dev.events.length;
    await writeFile(join(app.dir, 'values-dev.yaml'), 'replicaCount: 2\n');
    await dev.waitFor(isEnd(2), 120_000, from);
    let events = eventsOf(dev, 2);
    expect(events.at(-1), JSON.stringify(events)).toMatchObject({ status: 'ok' });
    expect(events[0]).toMatchObject({ reason: 'redeploy: values-dev.yaml changed' });
    expect(startedStages(events)).toEqual(['render', 'apply', 'prune', 'status']);
    expect((await cluster.apps.readNamespacedDeployment({ name: 'demo-web', namespace: cluster.namespace })).status?.readyReplicas).toBe(2);

    from = dev.events.length;
    const template = join(app.dir, 'extras', 'templates', 'configmap.yaml');
    await writeFile(template, (await readFile(template, 'utf8')).replace(/^data:/m, 'data:\n  edited: "yes"'));
    await dev.waitFor(isEnd(3), 120_000, from);
    events = eventsOf(dev, 3);
    expect(events.at(-1), JSON.stringify(events)).toMatchObject({ status: 'ok' });
    expect(events[0]).toMatchObject({ reason: 'redeploy: extras/templates/configmap.yaml changed' });
    expect(startedStages(events)).not.toContain('build');
    const configMap = await cluster.core.readNamespacedConfigMap({ name: 'demo-extras', namespace: cluster.namespace });
    expect(configMap.data?.edited).toBe('yes'); // the stale dependency archive was rebuilt
    expect(await readFile(archive)).not.toEqual(archiveBefore);
    await dev.signal('SIGINT', 60_000);
  }, 300_000);

  it('bad input: a chart that fails to render names the template (exit 1); helm not found (exit 1); a missing chart is a config error (exit 2)', async () => {
    await writeFile(join(app.dir, 'chart', 'templates', 'broken.yaml'), 'x: {{ .Values.nope.deeper }}\n');
    const failed = await devloop(app.dir, ['render', '-n', cluster.namespace], app.env);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toMatch(/error: render: helm template demo \(chart\): template: chart\/templates\/broken\.yaml:1:\d+: executing .*nil pointer evaluating interface \{\}\.deeper\n/);
    expect(stackLines(failed.stderr)).toEqual([]);
    const noHelm = await devloop(app.dir, ['render', '-n', cluster.namespace], { ...app.env, PATH: '/nonexistent', HOME: '/nonexistent' });
    expect(noHelm.exitCode).toBe(1);
    expect(noHelm.stderr).toContain('error: render: deploy.helm: helm is not on PATH nor at /nonexistent/.cache/devloop-helm/helm\n');
    await rm(join(app.dir, 'chart', 'Chart.yaml'));
    const missing = await devloop(app.dir, ['render', '-n', cluster.namespace], app.env);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('error: render: deploy.helm.releases[0].chart: chart has no readable Chart.yaml\n');
  }, 120_000);
});
