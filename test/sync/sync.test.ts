import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeKube, SimulatedRuntime, podKeyOf, type FakeKube, type FakePod } from '../support/fake-kube/index.js';
import { readTar } from '../support/fake-kube/exec.js';
import { createKubeClient, type KubeClient } from '../../src/kube/client.js';
import { syncToPods, SyncUnavailable, type SyncRequest } from '../../src/sync/index.js';
import { sameImage } from '../../src/registry/reference.js';
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

/** Servers before 1.30 negotiate v4.channel.k8s.io (no stdin half-close); from 1.30 v5. */
const servers = [
  { version: 'v1.26.5', protocol: 'v4' },
  { version: 'v1.30.4', protocol: 'v5' },
] as const;

async function withKube(
  tar: boolean,
  version = 'v1.30.4',
  missing: string[] = [],
): Promise<{ fake: FakeKube; kube: KubeClient; pods: () => FakePod[] }> {
  const fake = await startFakeKube({ runtime: new SimulatedRuntime({ tar, missing }), version });
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

/** A sync of files below `local` into the fake's pods that run `build`. */
function podRequest(kube: KubeClient, local: string, copy: SyncRequest['copy'], remove: SyncRequest['remove']): SyncRequest {
  return { kube, signal: new AbortController().signal, build, context: local, namespaces: ['default'], labelSelector: selector, copy, remove };
}

describe.each(servers)('sync into pods (fake API server $version, exec $protocol, client-node Exec)', ({ version }) => {
  let ctx: Awaited<ReturnType<typeof withKube>>;
  let local: string;
  beforeAll(async () => {
    ctx = await withKube(true, version);
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
    const outcome = await syncToPods(podRequest(ctx.kube, local, [
      { local: join(local, 'public/index.html'), path: '/app/public/index.html', dest: '/app/public' },
      { local: join(local, 'public/css/site.css'), path: '/app/public/css/site.css', dest: '/app/public' },
    ], []));
    expect(outcome.containers).toHaveLength(2); // the `main` containers only, not `side`
    for (const pod of ctx.pods()) {
      const root = ctx.fake.runtime.rootDir(podKeyOf(pod), 'main')!;
      expect(await readFile(join(root, 'app/public/index.html'), 'utf8')).toBe('<h1>v2</h1>');
      expect(await readFile(join(root, 'app/public/css/site.css'), 'utf8')).toBe('body{}');
      expect(existsSync(join(ctx.fake.runtime.rootDir(podKeyOf(pod), 'side')!, 'app'))).toBe(false);
    }
  });

  it('removes deleted files and folders with rm', async () => {
    await syncToPods(podRequest(ctx.kube, local, [], [
      { path: '/app/public/index.html', dest: '/app/public', dir: false },
      { path: '/app/public/css', dest: '/app/public', dir: true },
    ]));
    for (const pod of ctx.pods()) {
      const root = ctx.fake.runtime.rootDir(podKeyOf(pod), 'main')!;
      expect(existsSync(join(root, 'app/public/index.html'))).toBe(false);
      expect(existsSync(join(root, 'app/public/css'))).toBe(false);
      expect((await stat(join(root, 'app/public'))).isDirectory()).toBe(true);
    }
  });

  it('once the protocol is known, one exec per container and folder (no probing)', async () => {
    await writeFile(join(local, 'public/again.txt'), 'again');
    ctx.fake.requests.length = 0;
    await syncToPods(podRequest(ctx.kube, local, [{ local: join(local, 'public/again.txt'), path: '/app/public/again.txt', dest: '/app/public' }], []));
    expect(ctx.fake.requests.filter((r) => r.path.endsWith('/exec'))).toHaveLength(2);
    for (const pod of ctx.pods()) {
      expect(await readFile(join(ctx.fake.runtime.rootDir(podKeyOf(pod), 'main')!, 'app/public/again.txt'), 'utf8')).toBe('again');
    }
  });

  it('refuses removals outside dest before any exec', async () => {
    await expect(
      syncToPods(podRequest(ctx.kube, local, [], [{ path: '/etc/passwd', dest: '/app/public', dir: false }])),
    ).rejects.toMatchObject({ code: 'SYNC_OUTSIDE_DEST' });
  });

  it('reports exit codes and stderr of failing commands through the status channel', async () => {
    const pod = ctx.pods()[0]!;
    const target = { namespace: 'default', pod: pod.metadata.name!, container: 'main' };
    const ok = await execInContainer(ctx.kube, target, ['cat', '/app/public/nothing']);
    expect(ok.exitCode).toBe(1);
    expect(ok.stderr).toMatch(/ENOENT|No such file/);
    // a failed upgrade (no such pod) is a typed one-line error, not an ErrorEvent
    const gone = await execInContainer(ctx.kube, { ...target, pod: 'gone' }, ['true']).catch((error: unknown) => error);
    expect(gone).toMatchObject({ code: 'SYNC_FAILED', message: expect.stringMatching(/^exec true in gone: .*404/) });
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

/** Syncs one file into the fake's pods; resolves to what the containers then hold (or rejects). */
async function syncOne(version: string, tar: boolean, missing: string[]): Promise<string[]> {
  const ctx = await withKube(tar, version, missing);
  const local = await mkdtemp(join(tmpdir(), 'devloop-sync-'));
  try {
    await writeFile(join(local, 'a.html'), 'a');
    await syncToPods(podRequest(ctx.kube, local, [{ local: join(local, 'a.html'), path: '/app/public/a.html', dest: '/app/public' }], []));
    return await Promise.all(ctx.pods().map((pod) => readFile(join(ctx.fake.runtime.rootDir(podKeyOf(pod), 'main')!, 'app/public/a.html'), 'utf8')));
  } finally {
    await ctx.fake.stop();
    await rm(local, { recursive: true, force: true });
  }
}

describe('sync without the programs it needs in the container', () => {
  it.each(servers)('without tar ($protocol): SyncUnavailable, so the loop can rebuild instead', async ({ version }) => {
    const attempt = syncOne(version, false, []);
    await expect(attempt).rejects.toBeInstanceOf(SyncUnavailable);
    await expect(attempt).rejects.toThrow(/has no `tar`/);
  });

  it.each([['head'], ['sh']])('without %s: SyncUnavailable on a v4 server (bounded input needs sh and head)', async (program) => {
    const attempt = syncOne('v1.26.5', true, [program]);
    await expect(attempt).rejects.toBeInstanceOf(SyncUnavailable);
    await expect(attempt).rejects.toThrow(new RegExp(`has no \`${program}\``));
  });

  it('without sh and head: still syncs on a v5 server (stdin is half-closed, plain tar)', async () => {
    expect(await syncOne('v1.30.4', true, ['sh', 'head'])).toEqual(['a', 'a']);
  });
});
