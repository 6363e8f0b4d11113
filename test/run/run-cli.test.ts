/**
 * `devloop run` end to end on the example: real dockerd + registry for the build, the fake API
 * server for the cluster. Skipped without Docker, unless DEVLOOP_TEST_REQUIRE_SERVICES=1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKube } from '../support/fake-kube/index.js';
import { busyboxBaseImage, dockerAvailable, registryBinaryAvailable, servicesRequired, testRegistry } from '../support/services.js';
import { copyExampleProject, devloop } from './support.js';

const haveServices = servicesRequired || ((await dockerAvailable().catch(() => false)) && registryBinaryAvailable());

describe.skipIf(!haveServices)('devloop run (docker + registry + fake cluster)', () => {
  let fake: FakeKube;
  let project: { dir: string; remove(): Promise<void> };
  let env: Record<string, string>;

  beforeAll(async () => {
    const registry = await testRegistry();
    fake = await startFakeKube();
    project = await copyExampleProject();
    env = { KUBECONFIG: fake.kubeconfigPath, DEVLOOP_DEFAULT_REPO: registry, DEVLOOP_BASE_IMAGE: await busyboxBaseImage(registry) };
  }, 300_000);
  afterAll(async () => {
    await fake?.stop();
    await project?.remove();
  });

  it('builds, deploys the @sha256 references and ends --output json with iteration ok; a second run is a cached no-op', async () => {
    const first = await devloop(project.dir, ['run', '--output', 'json'], env, 300_000);
    expect(first.exitCode, first.stdout.slice(-3000) + first.stderr).toBe(0);
    const last = first.events.at(-1)!;
    expect(last).toMatchObject({ type: 'iteration', n: 1, status: 'ok' });
    expect((last.stages as { stage: string }[]).map((s) => s.stage)).toEqual(expect.arrayContaining(['build', 'render', 'apply', 'prune', 'status']));
    for (const name of ['hello', 'quote']) {
      const deployment = fake.objects.get('apps/v1', 'Deployment', 'default', name) as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
      expect(deployment.spec.template.spec.containers[0]!.image).toMatch(new RegExp(`^${env.DEVLOOP_DEFAULT_REPO}/${name}:[\\w.-]+@sha256:[0-9a-f]{64}$`));
    }

    const again = await devloop(project.dir, ['run', '--output', 'json'], env, 300_000);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.events.filter((e) => e.type === 'artifact').every((e) => e.cached === true)).toBe(true);
    expect(again.events.at(-1)).toMatchObject({ type: 'iteration', status: 'ok' });
  }, 600_000);
});
