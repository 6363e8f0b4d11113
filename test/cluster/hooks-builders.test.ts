/**
 * Lifecycle hooks, the custom builder and the target platform from the CLI against a real cluster
 * (DEVLOOP_TEST_KUBECONFIG), each in a fresh namespace deleted after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { devloop, killAll, servicesPresent, ROOT, stackLines, startDevloop, tempDir, type CliEvent } from '../e2e/support.js';
import { existsSync } from 'node:fs';
import { busyboxBaseImage, testRegistry } from '../support/services.js';
import { RegistryClient } from '../../src/registry/client.js';
import { clusterPresent, isReady, livePods, openCluster, removeRepoImages, shellApp, until, type Cluster, type ShellApp } from './support.js';

const present = await clusterPresent();

/** Adds `text` (indented YAML) under the `web` artifact of a shell app's devloop.yaml. */
async function addToArtifact(app: ShellApp, text: string): Promise<void> {
  const file = join(app.dir, 'devloop.yaml');
  const config = await readFile(file, 'utf8');
  await writeFile(file, config.replace('      sync:\n', `${text}      sync:\n`));
}

const hookLogs = (events: CliEvent[], hook: string): string[] => events.flatMap((e) => (e.type === 'log' && e.hook === hook ? [String(e.line)] : []));
const hookStages = (events: CliEvent[]): string[] => events.flatMap((e) => (e.type === 'stage' && e.stage === 'hook' ? [`${String(e.hook)}:${String(e.status)}`] : []));

describe.skipIf(!present)('lifecycle hooks on a real cluster', () => {
  let cluster: Cluster;
  let app: ShellApp;
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await openCluster('hooks');
    app = await shellApp('hooks', {
      extraConfig: `  hooks:
    before:
      - {name: check-tools, command: [sh, -c, 'echo deploying $DEVLOOP_IMAGES to $DEVLOOP_KUBE_CONTEXT/$DEVLOOP_NAMESPACE > deploy-env.txt']}
    after:
      - {name: migrate, runIn: containers, artifact: web, command: 'cat /www/generated.txt; echo migrated > /tmp/migrated'}
      - {name: stream, runIn: containers, artifact: web, command: 'echo first; sleep 1; echo second'}
      - {name: optional, command: 'exit 4', nonFatal: true}
`,
    });
    await addToArtifact(
      app,
      `      hooks:
        build:
          before:
            # Same sources, same bytes: a generated file is an input, and dev would rebuild for a changed one.
            - {name: codegen, command: 'echo "generated for $DEVLOOP_IMAGE_REPO" > www/generated.txt.new; cmp -s www/generated.txt.new www/generated.txt || mv www/generated.txt.new www/generated.txt; rm -f www/generated.txt.new'}
          after:
            - {name: report, command: ['sh', '-c', 'echo built $DEVLOOP_IMAGE_REF']}
        sync:
          after:
            - {name: clear-cache, runIn: containers, command: 'ls /www/public > /tmp/cache-cleared'}
`,
    );
    env = { ...cluster.env, ...app.env };
  }, 120_000);
  afterAll(async () => {
    await killAll();
    await cluster?.dispose();
    await app?.remove();
  });

  it('run: before-build generates a file the image contains, deploy hooks see the images and context, a container hook runs in the pod, a non-fatal after hook only warns', async () => {
    const result = await devloop(app.dir, ['run', '-n', cluster.namespace, '-o', 'json'], env, 240_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect(stackLines(result.stdout + result.stderr)).toEqual([]);
    const ref = String(result.events.find((e) => e.type === 'artifact')?.tag);
    expect(hookStages(result.events)).toEqual([
      'codegen:start', 'codegen:end', 'report:start', 'report:end',
      'check-tools:start', 'check-tools:end', 'migrate:start', 'migrate:end', 'stream:start', 'stream:end', 'optional:start', 'optional:error',
    ]);
    expect(hookLogs(result.events, 'report')).toEqual([`built ${ref}`]);
    expect(await readFile(join(app.dir, 'deploy-env.txt'), 'utf8')).toMatch(new RegExp(`^deploying web=${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} to .+/${cluster.namespace}\\n$`));
    // The container hook printed the file the before-build hook generated into the image.
    const [migrated] = hookLogs(result.events, 'migrate');
    expect(migrated).toMatch(/^\[web-[a-z0-9-]+\/web\] generated for 127\.0\.0\.1:\d+\/.+\/web$/);
    // Container output is streamed: the first line is there a second before the second one.
    const streamed = result.events.filter((e) => e.type === 'log' && e.hook === 'stream');
    expect(streamed.map((e) => String(e.line).replace(/^\[[^\]]+\] /, ''))).toEqual(['first', 'second']);
    expect(Date.parse(String(streamed[1]!.time)) - Date.parse(String(streamed[0]!.time))).toBeGreaterThanOrEqual(800);
    expect(result.events.find((e) => e.type === 'notice' && String(e.message).includes('"optional"'))).toMatchObject({ level: 'warn', message: 'hook "optional" failed with exit code 4 (non-fatal hook: going on)' });
  }, 300_000);

  it('a failing before-deploy hook stops before anything is applied: exit 1, one line naming the hook', async () => {
    const file = join(app.dir, 'devloop.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace("command: [sh, -c, 'echo deploying", "command: [sh, -c, 'echo no database >&2; exit 2; echo deploying"));
    try {
      await cluster.apps.deleteNamespacedDeployment({ name: 'web', namespace: cluster.namespace });
      const result = await devloop(app.dir, ['run', '-n', cluster.namespace], env, 240_000);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain('error: hook "check-tools" failed with exit code 2: no database');
      expect(stackLines(result.stderr)).toEqual([]);
      const deployments = await cluster.apps.listNamespacedDeployment({ namespace: cluster.namespace });
      expect(deployments.items.filter((d) => !d.metadata?.deletionTimestamp).map((d) => d.metadata?.name)).toEqual([]);
    } finally {
      await writeFile(file, original);
    }
  }, 300_000);

  it('a hook that outlives its timeout fails the run with HOOK_TIMEOUT', async () => {
    const file = join(app.dir, 'devloop.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('{name: optional, command: \'exit 4\', nonFatal: true}', '{name: slow, command: \'sleep 60\', timeout: 1s}'));
    try {
      const result = await devloop(app.dir, ['run', '-n', cluster.namespace, '-o', 'json'], env, 240_000);
      expect(result.exitCode).toBe(1);
      const error = result.events.find((e) => e.type === 'error');
      expect(error).toMatchObject({ code: 'HOOK_TIMEOUT', message: 'hook "slow" timed out after 1s (stopped): sleep 60' });
    } finally {
      await writeFile(file, original);
    }
  }, 300_000);

  it('dev: a synced file runs the after-sync hook in the running container', async () => {
    const dev = startDevloop(app.dir, ['dev', '-n', cluster.namespace, '-o', 'json', '--debounce', '150'], env);
    await dev.waitFor((e) => e.type === 'iteration' && e.status === 'ok' && e.n === 1, 240_000);
    const from = dev.events.length;
    await writeFile(join(app.dir, 'web', 'www', 'public', 'new.txt'), 'new\n');
    const start = await dev.waitFor((e) => e.type === 'iteration' && e.status === 'start' && Array.isArray(e.changed) && e.changed.some((f) => String(f).endsWith('new.txt')), 60_000, from);
    const done = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start' && e.n === start.n, 60_000, from);
    expect(done.status, JSON.stringify(dev.events.slice(from))).toBe('ok');
    const second = dev.events.slice(dev.events.indexOf(start), dev.events.indexOf(done) + 1);
    expect(second.some((e) => e.type === 'stage' && e.stage === 'sync' && e.status === 'end')).toBe(true);
    expect(hookStages(second)).toEqual(['clear-cache:start', 'clear-cache:end']);
    const pods = await cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: 'app=web' });
    const pod = pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp)!;
    const { createKubeClient } = await import('../../src/kube/client.js');
    const { execInContainer } = await import('../../src/sync/exec.js');
    process.env.KUBECONFIG = cluster.env.KUBECONFIG;
    const kube = await createKubeClient({ namespace: cluster.namespace });
    const cat = await execInContainer(kube, { namespace: cluster.namespace, pod: pod.metadata!.name!, container: 'web' }, ['cat', '/tmp/cache-cleared']);
    expect(cat.stdout.split('\n')).toContain('new.txt');
    await dev.signal('SIGINT', 60_000);
  }, 400_000);
});

/** A one-artifact project whose image `web` is built by `script` (custom builder) and served by busybox httpd. */
async function customProject(name: string, script: string, extra: { files?: Record<string, string>; env?: Record<string, string> } = {}) {
  const registry = await testRegistry();
  const base = await busyboxBaseImage(registry);
  const project = await tempDir(`devloop-cluster-${name}-`);
  const dir = project.dir;
  await mkdir(join(dir, 'web', 'www'), { recursive: true });
  await mkdir(join(dir, 'k8s'), { recursive: true });
  await writeFile(join(dir, 'web', 'www', 'version'), `${name}\n`);
  await writeFile(join(dir, 'web', 'Dockerfile'), 'ARG BASE\nFROM ${BASE}\nCOPY www /www\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n');
  await writeFile(join(dir, 'web', 'build.sh'), script, { mode: 0o755 });
  for (const [file, text] of Object.entries(extra.files ?? {})) await writeFile(join(dir, 'web', file), text);
  await writeFile(
    join(dir, 'k8s', 'app.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: web
          image: web
          readinessProbe: {httpGet: {path: /version, port: 8080}, periodSeconds: 1}
`,
  );
  await writeFile(
    join(dir, 'devloop.yaml'),
    `apiVersion: devloop/v1
kind: Config
metadata: {name: ${name}}
build:
  push: true
  artifacts:
    - image: web
      context: web
      custom:
        command: ./build.sh
        inputs: ["www/**", "build.sh", "Dockerfile"]
        env: {BASE: "${base}"${Object.entries(extra.env ?? {}).map(([k, v]) => `, ${k}: "${v}"`).join('')}}
deploy:
  statusCheck: {timeout: 90s}
`,
  );
  const repo = `${registry}/devloop-cluster-${name}-${randomBytes(3).toString('hex')}`;
  return {
    dir,
    env: { DEVLOOP_DEFAULT_REPO: repo },
    repo,
    async remove() {
      await removeRepoImages(repo);
      await project.remove();
    },
  };
}

/** Digest of repo:tag in the registry (plain HTTP). */
async function registryDigest(ref: string): Promise<string | undefined> {
  const [, host, repository, tag] = /^([^/]+)\/(.+):([^:@/]+)$/.exec(ref.split('@')[0]!)!;
  const response = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json' },
  });
  return response.ok ? (response.headers.get('docker-content-digest') ?? undefined) : undefined;
}

const MAKE_LAYOUT = `// An OCI image layout written with devloop's own OCI code, as Jib or ko would write one.
import { writeFileSync } from 'node:fs';
const { assembleImage } = await import(process.env.DEVLOOP_DIST + '/build/oci/assemble.js');
const out = process.env.DEVLOOP_OCI_LAYOUT;
const oci = {
  from: 'scratch',
  layers: [{ from: 'busybox', to: '/bin/busybox', mode: 0o755 }, { from: 'www', to: '/www' }],
  entrypoint: ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www'],
  cmd: [], env: {}, workdir: '', user: '', ports: [], labels: {}, platform: 'linux/amd64',
};
const image = await assembleImage({ artifact: { image: 'web', context: process.cwd(), sync: [], oci }, store: out, settings: { insecureRegistries: [] }, preferCachedBase: true, emit: () => {} });
writeFileSync(out + '/oci-layout', '{"imageLayoutVersion":"1.0.0"}');
writeFileSync(out + '/index.json', JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifestBytes.length }] }));
console.log('wrote ' + image.manifestDigest);
`;

describe.skipIf(!present)('the custom builder on a real cluster', () => {
  let cluster: Cluster;
  const projects: { remove(): Promise<void> }[] = [];

  beforeAll(async () => {
    cluster = await openCluster('custom');
  }, 120_000);
  afterAll(async () => {
    await cluster?.dispose();
    for (const p of projects) await p.remove();
  });

  async function runAndCheck(project: Awaited<ReturnType<typeof customProject>>): Promise<string> {
    const result = await devloop(project.dir, ['run', '-n', cluster.namespace, '-o', 'json'], { ...cluster.env, ...project.env }, 240_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect(stackLines(result.stdout + result.stderr)).toEqual([]);
    const ref = String(result.events.find((e) => e.type === 'artifact')?.tag);
    expect(ref).toMatch(new RegExp(`^${project.repo.replace(/[.]/g, '\\.')}/web:[0-9a-f]+@sha256:[0-9a-f]{64}$`));
    // The digest devloop recorded is the registry's, and the Ready pod runs exactly that image.
    expect(await registryDigest(ref)).toBe(ref.slice(ref.indexOf('@') + 1));
    const pods = await until('a Ready pod', async () => (await livePods(cluster, 'web')).filter(isReady).find((p) => p.spec!.containers[0]!.image === ref), 60_000);
    expect(pods.spec!.containers[0]!.image).toBe(ref);
    return ref;
  }

  it('a script that runs docker build + docker push itself: devloop checks the registry and deploys the digest', async () => {
    const project = await customProject('custom-push', '#!/bin/sh\nset -e\necho "building $IMAGE push=$PUSH_IMAGE context=$BUILD_CONTEXT"\ndocker build -q -t "$IMAGE" --build-arg BASE="$BASE" "$BUILD_CONTEXT"\n[ "$PUSH_IMAGE" = true ] && docker push "$IMAGE" > /dev/null\n');
    projects.push(project);
    await runAndCheck(project);
  }, 300_000);

  it('a script that writes a `docker save` tarball: devloop pushes it with its own registry client', async () => {
    const project = await customProject('custom-tar', '#!/bin/sh\nset -e\ndocker build -q -t "devloop-custom-tar:$IMAGE_TAG" --build-arg BASE="$BASE" .\ndocker save -o "$DEVLOOP_IMAGE_TAR" "devloop-custom-tar:$IMAGE_TAG"\ndocker rmi "devloop-custom-tar:$IMAGE_TAG" > /dev/null\n');
    projects.push(project);
    await runAndCheck(project);
  }, 300_000);

  // A static busybox (CI installs busybox-static) makes a runnable image from scratch.
  it.skipIf(!existsSync('/usr/bin/busybox'))('a script that writes an OCI image layout (devloop\'s own OCI code, from scratch + a static busybox): pushed and deployed', async () => {
    const project = await customProject('custom-oci', '#!/bin/sh\nexec node make-layout.mjs\n', { files: { 'make-layout.mjs': MAKE_LAYOUT }, env: { DEVLOOP_DIST: join(ROOT, 'dist') } });
    await copyFile('/usr/bin/busybox', join(project.dir, 'web', 'busybox'));
    projects.push(project);
    await runAndCheck(project);
  }, 300_000);

  it('a script that produces no image: exit 1, one line naming the artifact (CUSTOM_NO_IMAGE)', async () => {
    const project = await customProject('custom-none', '#!/bin/sh\necho "forgot to push"\n');
    projects.push(project);
    const result = await devloop(project.dir, ['run', '-n', cluster.namespace], { ...cluster.env, ...project.env }, 120_000);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/error: web push: the custom build script produced no image: \S+\/web:[0-9a-f]+ is not in the registry\n/);
    expect(stackLines(result.stderr)).toEqual([]);
  }, 300_000);
});

// Needs the Go toolchain (CI installs golang-go) for a real arm64 binary; CI (DEVLOOP_TEST_REQUIRE_SERVICES=1) fails without.
const withGo = present && (await servicesPresent({ docker: true, go: true }));
describe.skipIf(!withGo)('the target platform on a real cluster', () => {
  let cluster: Cluster;
  let project: { dir: string; remove(): Promise<void> };
  let env: Record<string, string>;

  beforeAll(async () => {
    cluster = await openCluster('platform');
    const registry = await testRegistry();
    project = await tempDir('devloop-cluster-platform-');
    const dir = project.dir;
    await mkdir(join(dir, 'app'), { recursive: true });
    await mkdir(join(dir, 'k8s'), { recursive: true });
    await writeFile(join(dir, 'app', 'go.mod'), 'module example.com/app\n\ngo 1.19\n');
    await writeFile(join(dir, 'app', 'main.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n');
    // GOARCH comes from the environment: arm64 unless the test says otherwise.
    await writeFile(
      join(dir, 'devloop.yaml'),
      `apiVersion: devloop/v1
kind: Config
metadata: {name: platform}
build:
  push: true
  artifacts:
    - image: app
      context: app
      compile:
        command: ["sh", "-c", "GOARCH=\${ARCH:-arm64} go build -o bin/app ."]
        inputs: ["*.go", go.mod]
        env: {CGO_ENABLED: "0", GOOS: linux, GOFLAGS: -trimpath}
      oci:
        from: scratch
        layers: [{from: bin/app, to: /app}]
        entrypoint: [/app]
manifests: ["k8s/*.yaml"]
`,
    );
    await writeFile(join(dir, 'k8s', 'job.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {image: app}\n');
    env = { ...cluster.env, DEVLOOP_DEFAULT_REPO: `${registry}/devloop-cluster-platform-${randomBytes(3).toString('hex')}`, GOCACHE: process.env.GOCACHE ?? join(process.env.HOME ?? '/tmp', '.cache', 'go-build') };
  }, 120_000);
  afterAll(async () => {
    await cluster?.dispose();
    await project?.remove();
  });

  it('reads linux/amd64 from the nodes, and an arm64 Go binary for them fails with one line naming the file (exit 1)', async () => {
    const result = await devloop(project.dir, ['run', '-n', cluster.namespace, '-o', 'json'], env, 240_000);
    expect(result.exitCode, result.stdout.slice(-2000) + result.stderr).toBe(1);
    expect(result.events.find((e) => e.type === 'notice' && String(e.message).startsWith('target platform'))?.message).toBe("target platform linux/amd64 (the cluster's nodes)");
    const error = result.events.find((e) => e.type === 'error' && e.code === 'PLATFORM_MISMATCH');
    expect(error?.message).toBe('bin/app is an arm64 binary, but the image is for linux/amd64');
    expect(String(error?.hint)).toContain('GOARCH=amd64');
  }, 300_000);

  it('--platform linux/arm64 builds the arm64 image (its config says arm64, its tag differs from the amd64 one)', async () => {
    const amd = await devloop(project.dir, ['render', '-n', cluster.namespace], env, 120_000);
    const result = await devloop(project.dir, ['build', '--platform', 'linux/arm64', '-o', 'json'], env, 240_000);
    expect(result.exitCode, result.stdout.slice(-2000) + result.stderr).toBe(0);
    const ref = String(result.events.find((e) => e.type === 'artifact')?.tag);
    const [repoTag, digest] = ref.split('@');
    expect(amd.stdout).not.toContain(repoTag);
    const client = RegistryClient.forRepository(repoTag!, { insecureRegistries: [] });
    const manifest = JSON.parse((await client.getManifest(digest!)).bytes.toString('utf8')) as { config: { digest: string } };
    const config = JSON.parse((await client.getBlob(manifest.config.digest)).toString('utf8')) as { architecture: string; os: string };
    expect(config).toMatchObject({ os: 'linux', architecture: 'arm64' });
  }, 300_000);

  it('several platforms and one binary: refused, the hint says why', async () => {
    const result = await devloop(project.dir, ['build', '--platform', 'linux/amd64,linux/arm64'], env, 240_000);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('error: app: bin/app is an arm64 binary, but the image is for linux/amd64');
    expect(result.stderr).toContain('one binary cannot serve several architectures');
  }, 300_000);

  it('with the compile fixed (ARCH=amd64) it runs: the image is for the nodes', async () => {
    const result = await devloop(project.dir, ['run', '-n', cluster.namespace, '-o', 'json'], { ...env, ARCH: 'amd64' }, 240_000);
    expect(result.exitCode, result.stdout.slice(-2000) + result.stderr).toBe(0);
  }, 300_000);
});
