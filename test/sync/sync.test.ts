import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKube, SimulatedRuntime, podKeyOf, type FakeKube, type FakePod } from '../support/fake-kube/index.js';
import { readTar } from '../support/fake-kube/exec.js';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import { sameImage, syncToPods, SyncUnavailable } from '../../src/sync/index.js';
import { syncArchive } from '../../src/sync/tar.js';
import { execInContainer } from '../../src/sync/exec.js';
import type { BuildResult } from '../../src/build/types.js';

const build: BuildResult = { image: 'hello', repo: 'registry.example/hello', tag: 't1', ref: 'registry.example/hello:t1', cached: false };
const selector = 'devloop.dev/run-id=r1';

function deployment(name: string, image: string) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', labels: { 'devloop.dev/run-id': 'r1' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, 'devloop.dev/run-id': 'r1' } },
        spec: { containers: [{ name: 'main', image, ports: [{ containerPort: 8080 }] }, { name: 'side', image: 'registry.example/other:1' }] },
      },
    },
  };
}

async function withKube(tar: boolean): Promise<{ fake: FakeKube; kube: KubeClient; pods: () => FakePod[] }> {
  const fake = await startFakeKube({ runtime: new SimulatedRuntime({ tar }) });
  process.env.KUBECONFIG = fake.kubeconfigPath;
  const kube = await createKubeClient();
  await kube.objects.create(deployment('hello', build.ref));
  const deadline = Date.now() + 10_000;
  const running = (): FakePod[] =>
    (fake.objects.list('Pod', 'default') as FakePod[]).filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running');
  while (running().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(running()).toHaveLength(2);
  return { fake, kube, pods: running };
}

describe('sync tar archive', () => {
  it('holds parent folders then files, relative to dest, and refuses escapes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'devloop-tar-'));
    await writeFile(join(dir, 'a.html'), 'A');
    await writeFile(join(dir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    const archive = await syncArchive([
      { local: join(dir, 'a.html'), name: 'css/deep/a.html' },
      { local: join(dir, 'run.sh'), name: 'run.sh' },
    ]);
    const entries = readTar(archive).map((e) => [e.name, e.type, e.mode.toString(8), e.data.toString()]);
    expect(entries).toEqual([
      ['css', 'directory', '755', ''],
      ['css/deep', 'directory', '755', ''],
      ['css/deep/a.html', 'file', '644', 'A'],
      ['run.sh', 'file', '755', '#!/bin/sh\n'],
    ]);
    await expect(syncArchive([{ local: join(dir, 'a.html'), name: '../x' }])).rejects.toThrow(/refusing/);
    await rm(dir, { recursive: true });
  });

  it('matches pod images by ref, digest or tag', () => {
    expect(sameImage('registry.example/hello:t1', build)).toBe(true);
    expect(sameImage('registry.example/hello:t0', build)).toBe(false);
    expect(sameImage('registry.example/hello2:t1', build)).toBe(false);
    const pushed = { ...build, digest: 'sha256:ab', ref: 'registry.example/hello:t1@sha256:ab' };
    expect(sameImage('registry.example/hello:t1@sha256:ab', pushed)).toBe(true);
    expect(sameImage('registry.example/hello@sha256:ab', pushed)).toBe(true);
    expect(sameImage('registry.example/hello@sha256:cd', pushed)).toBe(false);
  });
});

describe('sync into pods (fake API server, client-node Exec)', () => {
  let ctx: Awaited<ReturnType<typeof withKube>>;
  let local: string;
  beforeAll(async () => {
    ctx = await withKube(true);
    local = await mkdtemp(join(tmpdir(), 'devloop-sync-'));
  });
  afterAll(async () => {
    await ctx?.fake.stop();
    await rm(local, { recursive: true, force: true });
  });

  it('copies changed files into every container running the image, keeping relative paths', async () => {
    await mkdir(join(local, 'public/css'), { recursive: true });
    await writeFile(join(local, 'public/index.html'), '<h1>v2</h1>');
    await writeFile(join(local, 'public/css/site.css'), 'body{}');
    const outcome = await syncToPods({
      kube: ctx.kube,
      signal: new AbortController().signal,
      build,
      context: local,
      namespaces: ['default'],
      labelSelector: selector,
      copy: [
        { local: join(local, 'public/index.html'), path: '/app/public/index.html', dest: '/app/public' },
        { local: join(local, 'public/css/site.css'), path: '/app/public/css/site.css', dest: '/app/public' },
      ],
      remove: [],
    });
    expect(outcome.containers).toHaveLength(2); // the `main` containers only, not `side`
    for (const pod of ctx.pods()) {
      const root = ctx.fake.runtime.rootDir(podKeyOf(pod), 'main')!;
      expect(await readFile(join(root, 'app/public/index.html'), 'utf8')).toBe('<h1>v2</h1>');
      expect(await readFile(join(root, 'app/public/css/site.css'), 'utf8')).toBe('body{}');
      expect(existsSync(join(ctx.fake.runtime.rootDir(podKeyOf(pod), 'side')!, 'app'))).toBe(false);
    }
  });

  it('removes deleted files and folders with rm', async () => {
    await syncToPods({
      kube: ctx.kube,
      signal: new AbortController().signal,
      build,
      context: local,
      namespaces: ['default'],
      labelSelector: selector,
      copy: [],
      remove: [
        { path: '/app/public/index.html', dest: '/app/public', dir: false },
        { path: '/app/public/css', dest: '/app/public', dir: true },
      ],
    });
    for (const pod of ctx.pods()) {
      const root = ctx.fake.runtime.rootDir(podKeyOf(pod), 'main')!;
      expect(existsSync(join(root, 'app/public/index.html'))).toBe(false);
      expect(existsSync(join(root, 'app/public/css'))).toBe(false);
      expect((await stat(join(root, 'app/public'))).isDirectory()).toBe(true);
    }
  });

  it('refuses removals outside dest before any exec', async () => {
    await expect(
      syncToPods({
        kube: ctx.kube,
        signal: new AbortController().signal,
        build,
        context: local,
        namespaces: ['default'],
        labelSelector: selector,
        copy: [],
        remove: [{ path: '/etc/passwd', dest: '/app/public', dir: false }],
      }),
    ).rejects.toMatchObject({ code: 'SYNC_OUTSIDE_DEST' });
  });

  it('reports exit codes and stderr of failing commands through the status channel', async () => {
    const pod = ctx.pods()[0]!;
    const target = { namespace: 'default', pod: pod.metadata.name!, container: 'main' };
    const ok = await execInContainer(ctx.kube, target, ['cat', '/app/public/nothing']);
    expect(ok.exitCode).toBe(1);
    expect(ok.stderr).toMatch(/ENOENT|No such file/);
    const missing = await execInContainer(ctx.kube, target, ['python3', '-c', '1']);
    expect(missing.notFound).toBe(true);
    expect(missing.message).toMatch(/executable file not found/);
    const escape = await execInContainer(ctx.kube, target, ['tar', '-x', '-C', '/', '-f', '-'], {
      stdin: await syncArchiveWithRawName('../../../escape.txt'),
    });
    // like tar in a container, ".." cannot climb above the container's "/": it lands in its root
    expect(escape.exitCode).toBe(0);
    const root = ctx.fake.runtime.rootDir(podKeyOf(pod), 'main')!;
    expect(existsSync(join(root, 'escape.txt'))).toBe(true);
    expect(existsSync(join(root, '..', 'escape.txt'))).toBe(false);
  });
});

/** A tar whose entry name climbs out (never produced by devloop; the fake must refuse it). */
async function syncArchiveWithRawName(name: string): Promise<Buffer> {
  const { tarHeader, padding, tarTrailer } = await import('../../src/build/oci/tar.js');
  const data = Buffer.from('x');
  return Buffer.concat([tarHeader({ path: name, type: 'file', mode: 0o644, size: 1 }, 0), data, padding(1), tarTrailer()]);
}

describe('sync without tar in the container', () => {
  it('raises SyncUnavailable so the loop can rebuild instead', async () => {
    const ctx = await withKube(false);
    const local = await mkdtemp(join(tmpdir(), 'devloop-sync-'));
    try {
      await writeFile(join(local, 'a.html'), 'a');
      const attempt = syncToPods({
        kube: ctx.kube,
        signal: new AbortController().signal,
        build,
        context: local,
        namespaces: ['default'],
        labelSelector: selector,
        copy: [{ local: join(local, 'a.html'), path: '/app/public/a.html', dest: '/app/public' }],
        remove: [],
      });
      await expect(attempt).rejects.toBeInstanceOf(SyncUnavailable);
      await expect(attempt).rejects.toThrow(/has no `tar`/);
    } finally {
      await ctx.fake.stop();
      await rm(local, { recursive: true, force: true });
    }
  });
});
