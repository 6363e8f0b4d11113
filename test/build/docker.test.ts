/**
 * The Docker builder and the build orchestration against the real dockerd and a real registry on
 * 127.0.0.1 (faults use fake registries on loopback ports).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createServer, type Server } from 'node:http';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildArtifacts, BuildFailedError } from '../../src/build/index.js';
import { createDockerBuilder } from '../../src/build/docker/index.js';
import { busyboxBaseImage, dockerAvailable, freePort, registryBinaryAvailable, servicesRequired, startRegistry, testRegistry, type StartedRegistry } from '../support/services.js';
import { dockerArtifact, loadedConfig, recorder, removeTemps, stages, tempProject } from './helpers.js';

let ready = false;
let registry = '';
let base = '';
const localRefs = new Set<string>();

beforeAll(async () => {
  ready = (await dockerAvailable()) && registryBinaryAvailable();
  if (!ready && servicesRequired) throw new Error('dockerd and docker-registry are required here');
  if (!ready) return;
  registry = await testRegistry();
  base = await busyboxBaseImage(registry);
});

afterAll(async () => {
  if (localRefs.size) await execa('docker', ['rmi', '--force', ...localRefs], { reject: false });
  await removeTemps();
});

const unique = (): string => `devloop-test/b-${randomBytes(4).toString('hex')}`;
const signal = (): AbortSignal => new AbortController().signal;
const noWait = { pushRetryDelayMs: 20 };

async function smallProject(extraDockerfile = ''): Promise<string> {
  return tempProject({ Dockerfile: `ARG BASE\nFROM \${BASE}\nCOPY a.txt /a.txt\n${extraDockerfile}`, 'a.txt': 'one\n' });
}

async function manifestDigest(repoWithHost: string, reference: string): Promise<string | null> {
  const slash = repoWithHost.indexOf('/');
  const response = await fetch(`http://${repoWithHost.slice(0, slash)}/v2/${repoWithHost.slice(slash + 1)}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
  });
  return response.status === 200 ? response.headers.get('docker-content-digest') : null;
}

describe('docker builder', () => {
  it('builds and pushes, then skips compile, build and push while nothing changes', async (ctx) => {
    if (!ready) return ctx.skip();
    const dir = await smallProject();
    const image = unique();
    const artifact = dockerArtifact(image, dir, {
      docker: { dockerfile: 'Dockerfile', buildArgs: { BASE: base }, target: '' },
      compile: { command: ['sh', '-c', 'echo compiled >> compile.log'], inputs: ['a.txt'], env: {} },
    });
    await writeFile(join(dir, '.gitignore'), 'compile.log\n');
    const loaded = loadedConfig(dir, { defaultRepo: registry, artifacts: [artifact] });

    const first = recorder();
    const [built] = await buildArtifacts({ loaded, emit: first.emit, signal: signal() });
    localRefs.add(`${built!.repo}:${built!.tag}`);
    expect(built).toMatchObject({ image, repo: `${registry}/${image}`, cached: false });
    expect(built!.tag).toMatch(/^[0-9a-f]{16}$/);
    expect(built!.ref).toBe(`${registry}/${image}:${built!.tag}@${built!.digest}`);
    expect(await manifestDigest(built!.repo, built!.tag)).toBe(built!.digest);
    expect(stages(first.events).filter((s) => s.endsWith(':end') || s.includes(':end:')).map((s) => s.split(':')[0])).toEqual(['compile', 'build', 'push']);
    expect(first.events).toContainEqual({ type: 'artifact', image, tag: built!.ref, cached: false });

    const second = recorder();
    const [again] = await buildArtifacts({ loaded, emit: second.emit, signal: signal() });
    expect(again).toEqual({ ...built, cached: true });
    expect(stages(second.events)).toEqual([`compile:${image}:skipped:cached`, `build:${image}:skipped:cached`, `push:${image}:skipped:cached`]);
    expect(second.events.some((e) => e.type === 'log')).toBe(false);
    expect((await readFile(join(dir, 'compile.log'), 'utf8')).trim().split('\n')).toHaveLength(1);

    // One input changes: everything runs again, with a new tag.
    await writeFile(join(dir, 'a.txt'), 'two\n');
    const third = recorder();
    const [rebuilt] = await buildArtifacts({ loaded, emit: third.emit, signal: signal() });
    localRefs.add(`${rebuilt!.repo}:${rebuilt!.tag}`);
    expect(rebuilt!.tag).not.toBe(built!.tag);
    expect(stages(third.events).filter((s) => s.includes(':end')).map((s) => s.split(':')[0])).toEqual(['compile', 'build', 'push']);
  });

  it('pushes the local image again when the registry lost it (no rebuild)', async (ctx) => {
    if (!ready) return ctx.skip();
    const own: StartedRegistry = await startRegistry();
    try {
      const dir = await smallProject();
      const image = unique();
      const loaded = loadedConfig(dir, { defaultRepo: own.host, artifacts: [dockerArtifact(image, dir, { docker: { dockerfile: 'Dockerfile', buildArgs: { BASE: base }, target: '' } })] });
      const [built] = await buildArtifacts({ loaded, emit: () => {}, signal: signal() });
      localRefs.add(`${built!.repo}:${built!.tag}`);
      const deleted = await fetch(`http://${own.host}/v2/${image}/manifests/${built!.digest}`, { method: 'DELETE' });
      expect(deleted.status).toBe(202);
      const { events, emit } = recorder();
      const [again] = await buildArtifacts({ loaded, emit, signal: signal() });
      expect(stages(events)).toEqual([`build:${image}:skipped:cached`, `push:${image}:start`, expect.stringMatching(new RegExp(`^push:${image}:end`))]);
      expect(await manifestDigest(again!.repo, again!.tag)).toBe(again!.digest);
    } finally {
      await own.stop();
    }
  });

  it('--push=false builds into the local daemon only', async (ctx) => {
    if (!ready) return ctx.skip();
    const dir = await smallProject();
    const image = unique();
    const loaded = loadedConfig(dir, { defaultRepo: registry, artifacts: [dockerArtifact(image, dir, { docker: { dockerfile: 'Dockerfile', buildArgs: { BASE: base }, target: '' } })] });
    const { events, emit } = recorder();
    const [built] = await buildArtifacts({ loaded, emit, signal: signal(), push: false });
    localRefs.add(built!.ref);
    expect(built!.digest).toBeUndefined();
    expect(built!.ref).toBe(`${registry}/${image}:${built!.tag}`);
    expect(stages(events)).toContain(`push:${image}:skipped:push disabled`);
    expect((await execa('docker', ['image', 'inspect', built!.ref], { reject: false })).exitCode).toBe(0);
    expect(await manifestDigest(built!.repo, built!.tag)).toBeNull();
    const again = recorder();
    expect((await buildArtifacts({ loaded, emit: again.emit, signal: signal(), push: false }))[0]!.cached).toBe(true);
  });

  it('push: auto on a kind context loads the image with `kind load docker-image`', async (ctx) => {
    if (!ready) return ctx.skip();
    const dir = await smallProject();
    const bin = await tempProject({});
    await writeFile(join(bin, 'kind'), `#!/bin/sh\necho "$*" >> ${join(bin, 'argv')}\n`, { mode: 0o755 });
    const image = unique();
    const loaded = loadedConfig(dir, { push: 'auto', defaultRepo: registry, artifacts: [dockerArtifact(image, dir, { docker: { dockerfile: 'Dockerfile', buildArgs: { BASE: base }, target: '' } })] });
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const { events, emit } = recorder();
      const [built] = await buildArtifacts({ loaded, emit, signal: signal() }, { kubeContext: async () => 'kind-dev' });
      localRefs.add(built!.ref);
      expect(built!.ref).toBe(`${registry}/${image}:${built!.tag}`);
      expect((await readFile(join(bin, 'argv'), 'utf8')).trim()).toBe(`load docker-image --name dev ${built!.ref}`);
      expect(stages(events)).toContain(`push:${image}:start`);
      expect(await manifestDigest(built!.repo, built!.tag)).toBeNull();
    } finally {
      process.env.PATH = oldPath;
    }
  });
});

describe('build faults', () => {
  it('missing Dockerfile: one-line error naming the artifact, before docker runs', async (ctx) => {
    if (!ready) return ctx.skip();
    const dir = await tempProject({ 'a.txt': 'x' });
    const ok = await smallProject();
    const loaded = loadedConfig(dir, {
      defaultRepo: registry,
      artifacts: [dockerArtifact('broken', dir), dockerArtifact(unique(), ok, { docker: { dockerfile: 'Dockerfile', buildArgs: { BASE: base }, target: '' } })],
    });
    const { events, emit } = recorder();
    const error = await buildArtifacts({ loaded, emit, signal: signal() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildFailedError);
    const failed = error as BuildFailedError;
    expect(failed).toMatchObject({ code: 'DOCKERFILE_MISSING', exitCode: 1 });
    expect(failed.message).toMatch(/^broken: Dockerfile not found: /);
    expect(failed.hint).toContain('docker.dockerfile');
    // The other artifact still built.
    expect(failed.results).toHaveLength(1);
    for (const r of failed.results) localRefs.add(`${r.repo}:${r.tag}`);
    expect(failed.failures).toEqual([{ artifact: 'broken', error: expect.objectContaining({ code: 'DOCKERFILE_MISSING' }) }]);
    // Stages only throw: the command boundary reports the failure, once.
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    expect(stages(events).filter((s) => s.includes(':broken:'))).toEqual([]);
  });

  it('a FROM image on a registry that is down: BASE_IMAGE_UNREACHABLE naming that host, during build, not the push registry', async (ctx) => {
    if (!ready) return ctx.skip();
    const down = `127.0.0.1:${await freePort()}`;
    const dir = await tempProject({ Dockerfile: `FROM ${down}/devloop-test/base:1\nCOPY a.txt /a.txt\n`, 'a.txt': 'x' });
    const image = unique();
    const loaded = loadedConfig(dir, { defaultRepo: registry, artifacts: [dockerArtifact(image, dir)] });
    const error = await buildArtifacts({ loaded, emit: () => {}, signal: signal() }, { docker: async () => createDockerBuilder(noWait) }).catch((e: unknown) => e);
    localRefs.add(`${registry}/${image}`);
    const failure = (error as BuildFailedError).failures[0]!.error;
    expect(failure).toMatchObject({
      code: 'BASE_IMAGE_UNREACHABLE',
      stage: 'build',
      message: `${image}: cannot pull base image ${down}/devloop-test/base:1: registry ${down} is unreachable (connection refused)`,
    });
    expect(failure.message).not.toContain(registry);
  });

  it('a FROM image the registry does not have: BASE_IMAGE_NOT_FOUND naming image and registry', async (ctx) => {
    if (!ready) return ctx.skip();
    const missing = `${registry}/devloop-test/no-such-base-${randomBytes(3).toString('hex')}:1`;
    const dir = await tempProject({ Dockerfile: `FROM ${missing}\n`, 'a.txt': 'x' });
    const image = unique();
    const loaded = loadedConfig(dir, { defaultRepo: registry, artifacts: [dockerArtifact(image, dir)] });
    const error = await buildArtifacts({ loaded, emit: () => {}, signal: signal() }).catch((e: unknown) => e);
    localRefs.add(`${registry}/${image}`);
    expect((error as BuildFailedError).failures[0]!.error).toMatchObject({
      code: 'BASE_IMAGE_NOT_FOUND',
      stage: 'build',
      message: `${image}: cannot pull base image ${missing}: registry ${registry} does not have it`,
    });
  });

  it('Docker not running: DOCKER_UNAVAILABLE with a hint to start dockerd', async () => {
    const dir = await smallProject();
    const loaded = loadedConfig(dir, { defaultRepo: '127.0.0.1:1', artifacts: [dockerArtifact('hello', dir)] });
    const docker = createDockerBuilder({ env: { DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` } });
    await expect(buildArtifacts({ loaded, emit: () => {}, signal: signal() }, { docker: async () => docker })).rejects.toMatchObject({
      code: 'DOCKER_UNAVAILABLE',
      message: 'hello: cannot connect to the Docker daemon (`docker build`)',
      hint: expect.stringContaining('start dockerd'),
    });
  });

  it('registry unreachable: bounded retries, then REGISTRY_UNREACHABLE', async (ctx) => {
    if (!ready) return ctx.skip();
    const dir = await smallProject();
    const host = `127.0.0.1:${await freePort()}`;
    const image = unique();
    const loaded = loadedConfig(dir, { defaultRepo: host, artifacts: [dockerArtifact(image, dir, { docker: { dockerfile: 'Dockerfile', buildArgs: { BASE: base }, target: '' } })] });
    const { events, emit } = recorder();
    const error = await buildArtifacts({ loaded, emit, signal: signal() }, { docker: async () => createDockerBuilder(noWait) }).catch((e: unknown) => e);
    localRefs.add(`${host}/${image}`);
    expect(error).toMatchObject({ code: 'REGISTRY_UNREACHABLE', message: expect.stringContaining(`${image}: registry ${host} is unreachable (ECONNREFUSED) after 3 attempts`) });
    expect(events.filter((e) => e.type === 'notice' && e.level === 'warn')).toHaveLength(2);
  });

  it('registry 5xx: bounded retries with backoff, then REGISTRY_SERVER_ERROR', async (ctx) => {
    if (!ready) return ctx.skip();
    let requests = 0;
    const server: Server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(503).end('down for maintenance');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      const host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const dir = await smallProject();
      const image = unique();
      const loaded = loadedConfig(dir, { defaultRepo: host, artifacts: [dockerArtifact(image, dir, { docker: { dockerfile: 'Dockerfile', buildArgs: { BASE: base }, target: '' } })] });
      const error = await buildArtifacts({ loaded, emit: () => {}, signal: signal() }, { docker: async () => createDockerBuilder(noWait) }).catch((e: unknown) => e);
      localRefs.add(`${host}/${image}`);
      expect(error).toMatchObject({ code: 'REGISTRY_SERVER_ERROR', message: expect.stringContaining(`registry ${host} answered HTTP 503 to every attempt (3)`) });
      expect(requests).toBe(3);
    } finally {
      server.close();
    }
  });

  it('abort kills the running docker build', async (ctx) => {
    if (!ready) return ctx.skip();
    const dir = await tempProject({ Dockerfile: `ARG BASE\nFROM \${BASE}\nRUN sleep 60\n` });
    const loaded = loadedConfig(dir, { defaultRepo: registry, artifacts: [dockerArtifact(unique(), dir, { docker: { dockerfile: 'Dockerfile', buildArgs: { BASE: base }, target: '' } })] });
    const abort = new AbortController();
    const started = performance.now();
    const { events, emit } = recorder();
    const running = buildArtifacts({ loaded, emit, signal: abort.signal });
    const timer = setInterval(() => {
      if (events.some((e) => e.type === 'log' && e.line.includes('sleep 60'))) abort.abort();
    }, 50);
    await expect(running).rejects.toMatchObject({ code: 'INTERRUPTED' });
    clearInterval(timer);
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});
