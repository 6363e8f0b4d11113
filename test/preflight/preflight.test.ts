/**
 * Pre-flight: what each command checks (pure), and the checks against the fake API server and
 * small loopback HTTP servers standing in for registries (one that answers 401, one that never answers).
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandBuilds, preflight, preflightNeeds, type PreflightCommand } from '../../src/preflight/index.js';
import { buildArtifacts } from '../../src/build/index.js';
import { DevloopError, FailuresError } from '../../src/errors.js';
import type { ArtifactConfig } from '../../src/config/types.js';
import type { DevloopEventBody } from '../../src/events/types.js';
import { loadedConfig } from '../support/config.js';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { freePort } from '../support/services.js';
import { removeTemps, tempTree } from '../support/tmp.js';

const artifact = (image: string, context = '/nowhere', extra: Partial<ArtifactConfig> = {}): ArtifactConfig =>
  ({ image, context, docker: { dockerfile: 'Dockerfile', buildArgs: {}, target: '' }, sync: [], ...extra }) as ArtifactConfig;

describe('preflightNeeds: one table of what each command checks', () => {
  const config = loadedConfig('/p', {
    build: { defaultRepo: '127.0.0.1:5000/team', artifacts: [artifact('web'), artifact('api'), artifact('ghcr.io/org/tool'), artifact('localhost:5001/x')] },
  }).config;
  const registry = { kind: 'registry' } as const;

  it('render needs nothing; build talks to no cluster; deploying commands need the cluster', () => {
    const needs = (command: PreflightCommand, prebuilt = false) =>
      preflightNeeds({ command, config, destination: commandBuilds(command, prebuilt) ? registry : undefined });
    expect(needs('render')).toEqual({ kube: false, registries: [] });
    expect(needs('build').kube).toBe(false);
    for (const command of ['run', 'dev', 'deploy', 'delete'] as const) expect(needs(command).kube).toBe(true);
    expect(needs('delete').registries).toEqual([]);
    expect(needs('deploy', true).registries).toEqual([]); // --build-artifacts: nothing is pushed
  });

  it('pushing commands check each registry once, naming the artifacts pushed there', () => {
    expect(preflightNeeds({ command: 'run', config, destination: registry }).registries).toEqual([
      { host: '127.0.0.1:5000', images: ['web', 'api'] },
      { host: 'ghcr.io', images: ['ghcr.io/org/tool'] },
      { host: 'localhost:5001', images: ['localhost:5001/x'] },
    ]);
  });

  it('no registry when nothing is pushed: --push=false, kind/k3d/minikube/docker-desktop contexts', () => {
    for (const destination of [
      { kind: 'local', reason: 'push disabled' },
      { kind: 'local', reason: 'docker-desktop' },
      { kind: 'kind', cluster: 'dev' },
      { kind: 'k3d', cluster: 'dev' },
      { kind: 'minikube', profile: 'minikube' },
    ] as const) {
      expect(preflightNeeds({ command: 'build', config, destination }).registries).toEqual([]);
    }
  });

  it('an image without a registry host and no defaultRepo is left to the build (NO_REGISTRY)', () => {
    const bare = loadedConfig('/p', { build: { artifacts: [artifact('web')] } }).config;
    expect(preflightNeeds({ command: 'build', config: bare, destination: registry }).registries).toEqual([]);
  });
});

describe('preflight against a fake API server and loopback registries', () => {
  let fake: FakeKube;
  let registry401: Server;
  let registryHost: string;
  let silent: TcpServer;
  let silentHost: string;
  const savedEnv = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
  const signal = new AbortController().signal;

  beforeAll(async () => {
    fake = await startFakeKube();
    // A registry that wants credentials: 401 on GET /v2/ means it answers.
    registry401 = createServer((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' });
      res.end();
    });
    await new Promise<void>((done) => registry401.listen(0, '127.0.0.1', done));
    registryHost = `127.0.0.1:${(registry401.address() as { port: number }).port}`;
    // Accepts connections and never says anything.
    silent = createTcpServer(() => undefined);
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    silentHost = `127.0.0.1:${(silent.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    process.env.KUBECONFIG = savedEnv.KUBECONFIG;
    process.env.HOME = savedEnv.HOME;
    await removeTemps();
  });
  afterAll(async () => {
    await fake?.stop();
    registry401?.close();
    silent?.close();
  });

  const config = (defaultRepo: string, extra: { push?: boolean | 'auto'; kubeContext?: string } = {}) =>
    loadedConfig('/p', {
      build: { defaultRepo, push: extra.push ?? true, artifacts: [artifact('web')] },
      deploy: { kubeContext: extra.kubeContext ?? '', namespace: '', statusCheck: { timeout: 60_000 } },
    });

  it('happy path: the API answers /version, the registry answers 401; returns the checked client', async () => {
    process.env.KUBECONFIG = fake.kubeconfigPath;
    fake.requests.length = 0;
    const { kube } = await preflight({ command: 'run', loaded: config(registryHost), signal });
    expect(kube?.contextName).toBe(fake.contextName);
    expect(fake.requests.map((r) => r.path)).toEqual(['/version']);
  });

  it('no kubeconfig at all: KUBECONFIG_MISSING at once, saying so, with a hint', async () => {
    delete process.env.KUBECONFIG;
    process.env.HOME = await tempTree('devloop-home-');
    const started = performance.now();
    const error = await preflight({ command: 'delete', loaded: config(registryHost), signal }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'KUBECONFIG_MISSING', message: expect.stringContaining('$KUBECONFIG is unset and ~/.kube/config does not exist') });
    expect((error as DevloopError).hint).toContain('kubectl config use-context');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('$KUBECONFIG naming a missing file says which', async () => {
    process.env.KUBECONFIG = '/nonexistent/kubeconfig';
    await expect(preflight({ command: 'run', loaded: config(registryHost), signal })).rejects.toMatchObject({
      code: 'KUBECONFIG_MISSING',
      message: expect.stringContaining('/nonexistent/kubeconfig'),
    });
  });

  it('--kube-context naming an unknown context lists the known ones', async () => {
    process.env.KUBECONFIG = fake.kubeconfigPath;
    await expect(preflight({ command: 'run', loaded: config(registryHost, { kubeContext: 'nope' }), signal })).rejects.toMatchObject({
      code: 'KUBE_CONTEXT_UNKNOWN',
      hint: expect.stringContaining(fake.contextName),
    });
  });

  it('an API server that refuses connections: KUBE_UNREACHABLE naming server and context', async () => {
    const dir = await tempTree('devloop-kc-');
    const port = await freePort();
    const { readFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'kubeconfig'), (await readFile(fake.kubeconfigPath, 'utf8')).replace(fake.url, `https://127.0.0.1:${port}`));
    process.env.KUBECONFIG = join(dir, 'kubeconfig');
    await expect(preflight({ command: 'delete', loaded: config(registryHost), signal })).rejects.toMatchObject({
      code: 'KUBE_UNREACHABLE',
      message: `cannot reach the Kubernetes API at https://127.0.0.1:${port} (context "${fake.contextName}"): ECONNREFUSED`,
    });
  });

  it('an API server that never answers: KUBE_UNREACHABLE after the bound', async () => {
    const dir = await tempTree('devloop-kc-');
    const { readFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'kubeconfig'), (await readFile(fake.kubeconfigPath, 'utf8')).replace(fake.url, `https://${silentHost}`));
    process.env.KUBECONFIG = join(dir, 'kubeconfig');
    const started = performance.now();
    await expect(preflight({ command: 'delete', loaded: config(registryHost), signal, timeoutMs: 300 })).rejects.toMatchObject({
      code: 'KUBE_UNREACHABLE',
      message: expect.stringContaining(`https://${silentHost} (context "${fake.contextName}") did not answer within 0.3s`),
    });
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('credentials the API server rejects: KUBE_UNAUTHORIZED', async () => {
    const dir = await tempTree('devloop-kc-');
    const { readFile } = await import('node:fs/promises');
    await writeFile(join(dir, 'kubeconfig'), (await readFile(fake.kubeconfigPath, 'utf8')).replace(fake.token, 'wrong-token'));
    process.env.KUBECONFIG = join(dir, 'kubeconfig');
    await expect(preflight({ command: 'run', loaded: config(registryHost), signal })).rejects.toMatchObject({ code: 'KUBE_UNAUTHORIZED' });
  });

  it('a registry that never answers: REGISTRY_UNREACHABLE naming the host and the artifacts', async () => {
    process.env.KUBECONFIG = fake.kubeconfigPath;
    await expect(preflight({ command: 'build', loaded: config(silentHost), signal, timeoutMs: 300 })).rejects.toMatchObject({
      code: 'REGISTRY_UNREACHABLE',
      message: `registry ${silentHost} does not answer (no answer within 0.3s on GET http://${silentHost}/v2/); web would be pushed there`,
    });
  });

  it('both missing: one FailuresError holding both, checked in parallel', async () => {
    delete process.env.KUBECONFIG;
    process.env.HOME = await tempTree('devloop-home-');
    const closed = `127.0.0.1:${await freePort()}`;
    const error = await preflight({ command: 'run', loaded: config(closed), signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FailuresError);
    expect((error as FailuresError).failures.map((f) => f.error.code)).toEqual(['KUBECONFIG_MISSING', 'REGISTRY_UNREACHABLE']);
  });

  it('build --push=false and kind contexts check no registry; render checks nothing', async () => {
    delete process.env.KUBECONFIG;
    process.env.HOME = await tempTree('devloop-home-');
    const closed = `127.0.0.1:${await freePort()}`;
    await expect(preflight({ command: 'build', loaded: config(closed), signal, push: false })).resolves.toEqual({ kube: undefined });
    await expect(preflight({ command: 'build', loaded: config(closed, { push: 'auto', kubeContext: 'kind-dev' }), signal })).resolves.toEqual({ kube: undefined });
    await expect(preflight({ command: 'render', loaded: config(closed), signal })).resolves.toEqual({ kube: undefined });
  });

  it('--skip-preflight checks nothing but still resolves the client', async () => {
    process.env.KUBECONFIG = fake.kubeconfigPath;
    fake.requests.length = 0;
    const { kube } = await preflight({ command: 'run', loaded: config(silentHost), signal, skip: true });
    expect(kube?.contextName).toBe(fake.contextName);
    expect(fake.requests).toEqual([]);
  });
});

describe('the build waits for the pre-flight before compiling', () => {
  afterEach(removeTemps);

  it('inputs are hashed meanwhile; a failed pre-flight ends the build with that failure alone, nothing compiled', async () => {
    const dir = await tempTree('devloop-gate-', { 'a/Dockerfile': 'FROM scratch\n', 'b/Dockerfile': 'FROM scratch\n' });
    const marker = join(dir, 'compiled');
    const compile = { command: ['sh', '-c', `touch ${marker}`], inputs: [], env: {}, shell: false };
    const loaded = loadedConfig(dir, {
      build: { push: false, artifacts: [artifact('a', join(dir, 'a'), { compile } as Partial<ArtifactConfig>), artifact('b', join(dir, 'b'), { compile } as Partial<ArtifactConfig>)] },
    });
    const events: DevloopEventBody[] = [];
    const failure = new DevloopError('KUBE_UNREACHABLE', 'cannot reach the Kubernetes API');
    const ready = new Promise((_resolve, reject) => setTimeout(() => reject(failure), 50));
    const error = await buildArtifacts({ loaded, emit: (e) => events.push(e), signal: new AbortController().signal, ready }).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(events.filter((e) => e.type === 'stage')).toEqual([]);
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
  });
});
