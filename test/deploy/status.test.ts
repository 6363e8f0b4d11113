import { afterEach, describe, expect, it } from 'vitest';
import { applyObjects } from '../../src/deploy/apply.js';
import { waitForHealthy } from '../../src/deploy/status.js';
import { startHarness, failure, rendered, DEPLOYMENT, SERVICE, type Harness } from './support.js';

// The fake checks images on loopback registries like a kubelet pull; other registries count as pullable.
const GOOD = 'registry.example.com/hello:abc';
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.fake.stop();
  harness = undefined;
});

async function deploy(h: Harness, yaml: string, timeoutMs = 20_000, progressIntervalMs = 3000): Promise<{ started: number }> {
  const signal = new AbortController().signal;
  const applied = await applyObjects({ api: h.api, objects: rendered(yaml), emit: h.emit, signal });
  const started = Date.now();
  await waitForHealthy({ api: h.api, applied, configName: 'demo', emit: h.emit, signal, timeoutMs, progressIntervalMs });
  return { started };
}

describe('waitForHealthy', () => {
  it('resolves once the Deployment is rolled out, emitting progress while waiting', async () => {
    harness = await startHarness({ timing: { podStartMs: 400 } });
    await deploy(harness, `${DEPLOYMENT('hello', GOOD)}---\n${SERVICE('hello')}`, 20_000, 100);
    const deployment = harness.fake.objects.get('apps/v1', 'Deployment', 'default', 'hello') as unknown as { status: { readyReplicas?: number } };
    expect(deployment.status.readyReplicas).toBe(1);
    const progress = harness.events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ stage: 'status', resource: 'deployment/hello', message: expect.stringMatching(/^hello: /) });
    // `workload` events: only on change, waiting first, ready last (the web view's workload list).
    const workload = harness.events.filter((e) => e.type === 'workload');
    expect(workload[0]).toMatchObject({ resource: 'deployment/hello', namespace: 'default', state: 'waiting' });
    expect(workload.at(-1)).toMatchObject({ resource: 'deployment/hello', state: 'ready', message: 'hello: 1/1 replicas ready' });
    const keys = workload.map((e) => (e.type === 'workload' ? `${e.state} ${e.message}` : ''));
    expect(keys.every((key, i) => i === 0 || key !== keys[i - 1])).toBe(true);
  });

  it('survives watches that drop, resuming where they were', async () => {
    harness = await startHarness({ timing: { podStartMs: 600 } });
    const h = harness;
    const dropper = setInterval(() => h.fake.controls.dropWatches(), 100);
    try {
      await deploy(h, DEPLOYMENT('hello', GOOD));
    } finally {
      clearInterval(dropper);
    }
    const resumed = h.fake.requests.filter((r) => r.query.watch === 'true' && r.query.resourceVersion);
    expect(resumed.length).toBeGreaterThan(0);
  });

  it('fails fast on ImagePullBackOff, naming image and registry', async () => {
    harness = await startHarness();
    harness.fake.controls.failImage(/broken/, 'ImagePullBackOff');
    const started = Date.now();
    const error = await failure(deploy(harness, DEPLOYMENT('hello', '127.0.0.1:5000/broken:1'), 60_000));
    expect(error.code).toBe('STATUS_IMAGE_PULL');
    expect(error.message).toContain('deployment/hello: cannot pull image 127.0.0.1:5000/broken:1 from registry 127.0.0.1:5000');
    expect(harness.events.filter((e) => e.type === 'workload').at(-1)).toMatchObject({ state: 'failed', message: expect.stringContaining('cannot pull image') });
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('fails fast on CrashLoopBackOff with the exit code and the last log lines', async () => {
    harness = await startHarness();
    harness.fake.controls.failImage(/crashy/, 'CrashLoopBackOff');
    const error = await failure(deploy(harness, DEPLOYMENT('hello', '127.0.0.1:5000/crashy:1'), 60_000));
    expect(error.code).toBe('STATUS_CRASH_LOOP');
    expect(error.message).toMatch(/deployment\/hello: container hello of pod hello-\S+ keeps crashing \(CrashLoopBackOff, exit code 1/);
    const logs = harness.events.filter((e) => e.type === 'log');
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.length).toBeLessThanOrEqual(20);
    expect(logs[0]).toMatchObject({ container: 'hello', pod: expect.stringMatching(/^hello-/) });
  });

  it('names what is still waiting at the deadline', async () => {
    harness = await startHarness({ timing: { podStartMs: 60_000 } });
    const error = await failure(deploy(harness, DEPLOYMENT('slow', GOOD), 700));
    expect(error.code).toBe('STATUS_TIMEOUT');
    expect(error.message).toMatch(/^not healthy after 1s: deployment\/slow \(slow: /);
  });
});
