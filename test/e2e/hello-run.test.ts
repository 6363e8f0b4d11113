/**
 * `devloop run` end to end on the root example (examples/hello + an adapted devloop.yaml in a temp
 * folder): real dockerd + registry for the build, the fake API server (simulated runtime) for the
 * cluster. One project copy is shared, so only the first test really builds; each test has its own
 * fake cluster. Skipped without Docker/registry/go, unless DEVLOOP_TEST_REQUIRE_SERVICES=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startFakeKube, type FakeKube, type KubeObject } from '../support/fake-kube/index.js';
import { Discovery } from '../support/fake-kube/discovery.js';
import { busyboxBaseImage, freePort, testRegistry } from '../support/services.js';
import { copyFromRepo, devloop, killAll, portClosed, ROOT, servicesPresent, stackLines, startDevloop, tempDir, type CliEvent } from './support.js';

const haveServices = await servicesPresent({ docker: true });

interface Container {
  image: string;
}
interface Workload {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { template: { spec: { containers: Container[] } } };
  status?: { availableReplicas?: number };
}

/** The root devloop.yaml, pointed at a copy of examples/hello in `dir`, hello forwarded on `helloPort`. */
async function writeConfig(dir: string, helloPort: number): Promise<void> {
  const config = parse(await readFile(join(ROOT, 'devloop.yaml'), 'utf8')) as {
    build: { artifacts: { context: string }[] };
    manifests: string[];
    portForward: { resource: string; port: number; localPort: number }[];
  };
  for (const artifact of config.build.artifacts) artifact.context = artifact.context.replace(/^examples\/hello\//, '');
  config.manifests = config.manifests.map((glob) => glob.replace(/^examples\/hello\//, ''));
  // hello on a port chosen here; quote is left to --port-forward (every deployed Service gets a free port).
  config.portForward = [{ resource: 'service/hello', port: 80, localPort: helloPort }];
  await writeFile(join(dir, 'devloop.yaml'), stringify(config));
}

/** Every object in the fake's store (all kinds it serves, all namespaces) labeled as deployed by config `name`. */
function labeledObjects(fake: FakeKube, name: string): string[] {
  const kinds = [...new Set(new Discovery().all().map((r) => r.kind))];
  return kinds.flatMap((kind) =>
    fake.objects
      .list(kind)
      .filter((o) => o.metadata.labels?.['devloop.dev/config'] === name)
      .map((o) => `${kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`),
  );
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const podsOf = (fake: FakeKube, app: string): KubeObject[] =>
  fake.objects.list('Pod', 'default').filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp);

describe.skipIf(!haveServices)('devloop run on the example (docker + registry + fake cluster)', () => {
  let project: { dir: string; remove(): Promise<void> };
  let env: Record<string, string>;
  let helloPort: number;
  const fakes: FakeKube[] = [];
  const localImages = new Set<string>();

  async function newFake(): Promise<FakeKube> {
    const fake = await startFakeKube();
    fakes.push(fake);
    return fake;
  }
  function recordImages(events: CliEvent[]): void {
    for (const e of events) if (e.type === 'artifact') localImages.add(String(e.tag).split('@')[0]!);
  }

  beforeAll(async () => {
    const registry = await testRegistry();
    project = await tempDir('devloop-e2e-hello-');
    await copyFromRepo('examples/hello', project.dir);
    helloPort = await freePort();
    await writeConfig(project.dir, helloPort);
    env = {
      DEVLOOP_DEFAULT_REPO: `${registry}/e2e-hello-${randomBytes(3).toString('hex')}`,
      DEVLOOP_BASE_IMAGE: await busyboxBaseImage(registry),
    };
  }, 180_000);
  afterAll(async () => {
    await killAll();
    await Promise.all(fakes.map((f) => f.stop()));
    if (localImages.size) await execa('docker', ['rmi', '--force', ...localImages], { reject: false, timeout: 60_000 });
    await project?.remove();
  }, 120_000);

  it('run --tail --port-forward: serves the built image on the forwarded ports, streams pod logs, exits 130 on SIGINT (after closing the ports)', async () => {
    const fake = await newFake();
    const cli = startDevloop(project.dir, ['run', '--tail', '--port-forward', '--output', 'json', '--status-check-timeout', '90s'], {
      ...env,
      KUBECONFIG: fake.kubeconfigPath,
    });
    try {
      await cli.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 200_000);
      recordImages(cli.events);
      expect(cli.events.find((e) => e.type === 'iteration' && e.status !== 'start')).toMatchObject({ status: 'ok' });
      const tags = Object.fromEntries(cli.events.filter((e) => e.type === 'artifact').map((e) => [e.image, String(e.tag)]));
      expect(tags.hello).toMatch(/@sha256:[0-9a-f]{64}$/);
      expect(tags.quote).toMatch(/@sha256:[0-9a-f]{64}$/);

      const ready = (resource: string) => (e: CliEvent) => e.type === 'forward' && e.resource === resource && e.status === 'ready';
      const hello = await cli.waitFor(ready('service/hello'), 30_000);
      const quote = await cli.waitFor(ready('service/quote'), 30_000);
      expect(hello).toMatchObject({ port: 80, address: '127.0.0.1' });
      // The configured localPort, unless another process took it meanwhile (then devloop says so and picks the next free one).
      const portTaken = cli.events.some((e) => e.type === 'notice' && String(e.message).includes(`localPort ${helloPort} is in use`));
      if (!portTaken) expect(hello.localPort).toBe(helloPort);
      const helloLocal = Number(hello.localPort);
      const quotePort = Number(quote.localPort);
      expect(quotePort).toBeGreaterThanOrEqual(1024);
      expect(quotePort).not.toBe(helloLocal);

      for (const [name, port, event] of [['hello', helloLocal, hello], ['quote', quotePort, quote]] as const) {
        const response = await fetch(`http://127.0.0.1:${port}/e2e-${name}`, { signal: AbortSignal.timeout(15_000) });
        expect(response.status).toBe(200);
        const body = await response.text();
        expect(body.trim()).toBe(`hello from ${String(event.pod)} image=${tags[name]}`);
        expect(String(event.pod)).toMatch(new RegExp(`^${name}-`));
      }

      // Pod logs arrive as log events: each container's start line and the requests just made.
      for (const [name, event] of [['hello', hello], ['quote', quote]] as const) {
        const pod = String(event.pod);
        await cli.waitFor((e) => e.type === 'log' && e.pod === pod && e.container === name && String(e.line).includes(`starting ${name} image=${tags[name]}`), 15_000);
        await cli.waitFor((e) => e.type === 'log' && e.pod === pod && e.container === name && String(e.line).includes(`GET /e2e-${name}`), 15_000);
      }

      const { code, ms } = await cli.signal('SIGINT', 15_000);
      expect(code, cli.stderr()).toBe(130); // 128 + SIGINT (README: Exit codes)
      expect(ms).toBeLessThan(15_000);
      expect(stackLines(cli.stdout() + cli.stderr())).toEqual([]);
      const stopped = cli.events.filter((e) => e.type === 'forward' && e.status === 'stopped').map((e) => e.resource);
      expect(stopped.sort()).toEqual(['service/hello', 'service/quote']);
      expect(await portClosed(helloLocal)).toBe(true);
      expect(await portClosed(quotePort)).toBe(true);
    } finally {
      await cli.kill();
    }
  }, 240_000);

  it('Ctrl-C while waiting for the rollout exits promptly with 130 and no stack; the next run converges', async () => {
    const fake = await newFake();
    fake.controls.failImage(/\/hello:/, 'NotReady');
    const kubeEnv = { ...env, KUBECONFIG: fake.kubeconfigPath };
    const cli = startDevloop(project.dir, ['run', '--output', 'json', '--status-check-timeout', '120s'], kubeEnv);
    try {
      await cli.waitFor((e) => e.type === 'stage' && e.stage === 'status' && e.status === 'start', 200_000);
      recordImages(cli.events);
      // The hello pod runs but never becomes Ready: devloop is waiting for the rollout.
      await until('a running, unready hello pod', () => podsOf(fake, 'hello').find((p) => (p.status as { phase?: string })?.phase === 'Running'), 30_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(cli.child.exitCode).toBeNull();

      const { code, ms } = await cli.signal('SIGINT', 10_000);
      expect(code, cli.stdout().slice(-2000) + cli.stderr()).toBe(130);
      expect(ms).toBeLessThan(10_000);
      expect(stackLines(cli.stdout() + cli.stderr())).toEqual([]);
      expect(cli.events.find((e) => e.type === 'error')).toMatchObject({ code: 'INTERRUPTED', message: 'interrupted by SIGINT' });
      expect(cli.events.at(-1)).toMatchObject({ type: 'iteration', n: 1, status: 'error' });
    } finally {
      await cli.kill();
    }

    // The cause is fixed (the readiness probe passes): a second run applies again and converges.
    fake.controls.clearFailures();
    const again = await devloop(project.dir, ['run', '--output', 'json', '--status-check-timeout', '60s'], kubeEnv, 120_000);
    recordImages(again.events);
    expect(again.exitCode, again.stdout.slice(-3000) + again.stderr).toBe(0);
    expect(again.events.at(-1)).toMatchObject({ type: 'iteration', n: 1, status: 'ok' });
    for (const name of ['hello', 'quote']) {
      const deployment = fake.objects.get('apps/v1', 'Deployment', 'default', name) as unknown as Workload;
      expect(deployment.status?.availableReplicas).toBe(1);
    }
  }, 300_000);

  it('delete after a run removes every object labeled with the config, and the Services and Deployments are gone', async () => {
    const fake = await newFake();
    const kubeEnv = { ...env, KUBECONFIG: fake.kubeconfigPath };
    const run = await devloop(project.dir, ['run', '--output', 'json', '--status-check-timeout', '60s'], kubeEnv, 200_000);
    recordImages(run.events);
    expect(run.exitCode, run.stdout.slice(-3000) + run.stderr).toBe(0);
    const before = labeledObjects(fake, 'hello');
    for (const kind of ['Deployment', 'Service', 'ReplicaSet', 'Pod']) {
      for (const name of ['hello', 'quote']) expect(before).toContainEqual(expect.stringMatching(new RegExp(`^${kind} default/${name}(-|$)`)));
    }
    expect(existsSync(join(project.dir, '.devloop', 'state.json'))).toBe(true);

    const deleted = await devloop(project.dir, ['delete', '--output', 'json'], kubeEnv, 120_000);
    expect(deleted.exitCode, deleted.stdout + deleted.stderr).toBe(0);
    for (const name of ['hello', 'quote']) {
      expect(fake.objects.get('apps/v1', 'Deployment', 'default', name)).toBeUndefined();
      expect(fake.objects.get('v1', 'Service', 'default', name)).toBeUndefined();
    }
    // Dependents (ReplicaSets, pods, Endpoints) go in the background, within moments.
    await until('no object labeled devloop.dev/config=hello', () => labeledObjects(fake, 'hello').length === 0, 15_000).catch((error: Error) => {
      throw new Error(`${error.message}; still there: ${labeledObjects(fake, 'hello').join(', ')}`);
    });
    expect(existsSync(join(project.dir, '.devloop', 'state.json'))).toBe(false);

    const again = await devloop(project.dir, ['delete'], kubeEnv, 60_000);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing to delete');
  }, 300_000);
});
