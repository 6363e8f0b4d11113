/**
 * `devloop dev` while the cluster goes away and comes back (issue 7): the fake API server stops
 * listening and resets every open connection (watches, log follows, port-forwards), as a control
 * plane restart does; containers keep running. devloop must survive it with a one-line error, keep
 * its local ports, and recover on the next save once the API is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerAvailable, registryBinaryAvailable, servicesRequired } from '../support/services.js';
import { deployed, fetchUntil, startDevProject, stopDevProject, type DevEvent, type DevProcess, type Project } from './harness.js';

const haveServices = (await dockerAvailable()) && registryBinaryAvailable();
if (!haveServices && servicesRequired) throw new Error('dockerd and docker-registry are required (DEVLOOP_TEST_REQUIRE_SERVICES=1)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const finished = (e: DevEvent) => e.type === 'iteration' && e.status !== 'start';
const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\))$/m;

/** Resolves true when a TCP connection to the port is accepted (the listener is still bound). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 3_000);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function helloPod(project: Project): string | undefined {
  return project.fake.objects.list('Pod').find((p) => p.metadata.name?.startsWith('hello-') && !p.metadata.deletionTimestamp)?.metadata.name;
}

describe.skipIf(!haveServices)('devloop dev: the cluster goes away and comes back', () => {
  let project: Project;
  let dev: DevProcess;
  let hello: string;

  beforeAll(async () => {
    ({ project, dev, hello } = await startDevProject(100_000));
    expect(await fetchUntil(hello + '/', (b) => b.includes('Hello from devloop v1'))).toContain('v1');
  }, 150_000);

  afterAll(async () => {
    await project?.fake.controls.setUnavailable(false);
    await stopDevProject(dev, project);
  }, 60_000);

  it('a save during the outage fails in one line, devloop keeps running, the local port stays bound', async () => {
    const main = join(project.dir, 'hello/main.go');
    const from = dev.events.length;
    const stderrBefore = dev.stderr().length;
    const downAt = Date.now();
    await project.fake.controls.setUnavailable(true);

    await writeFile(main, (await readFile(main, 'utf8')).replace('Hello from devloop v1', 'Hello from devloop v2'));
    const failed = await dev.waitFor(finished, 60_000, from);
    expect(failed).toMatchObject({ status: 'error' });
    const error = dev.events.slice(from).find((e) => e.type === 'error');
    expect(error, 'an error event names the failure').toBeDefined();
    expect(String(error!.message)).toMatch(/cannot reach the Kubernetes API .*ECONNREFUSED/);
    expect(String(error!.message)).not.toContain('\n');
    expect(String(failed.reason)).not.toContain('\n');

    // Stay down a while, so watches and log follows go through several failed retries.
    await sleep(Math.max(0, 12_000 - (Date.now() - downAt)));
    expect(dev.child.exitCode).toBeNull();
    expect(await accepts(project.helloPort), 'hello forward still listening').toBe(true);
    expect(await accepts(project.quotePort), 'quote forward still listening').toBe(true);
    expect(dev.stderr().slice(stderrBefore)).not.toMatch(STACK_LINE);
    // Every warning about the outage is one line.
    expect(dev.events.slice(from).filter((e) => typeof e.message === 'string' && e.message.includes('\n'))).toEqual([]);

    // Retries back off: three pod watches (logs, two forwards) at ≥100 ms doubling to 5 s would
    // say so a handful of times each, not tens of times a second.
    const outageSeconds = (Date.now() - downAt) / 1000;
    const retries = dev.events.slice(from).filter((e) => /failed, retrying/.test(String(e.message ?? '')));
    expect(retries.length).toBeLessThan(3 * (10 + outageSeconds / 2));
    // The forward does not stop or lose its port while the API is away.
    expect(dev.events.slice(from).filter((e) => e.type === 'forward' && (e.status === 'stopped' || (e.localPort !== project.helloPort && e.localPort !== project.quotePort)))).toEqual([]);
  }, 90_000);

  it('back up: forward and log streaming resume, the next save deploys on the same port, Ctrl-C cleans up', async () => {
    const oldPod = helloPod(project);
    expect(oldPod).toBeDefined();
    const from = dev.events.length;
    await project.fake.controls.setUnavailable(false);

    // No iteration needed: the forward reaches the (unchanged) pod again and its log is followed again.
    expect(await fetchUntil(hello + '/', (b) => b.includes('Hello from devloop v1'), 30_000)).toContain('v1');
    await dev.waitFor((e) => e.type === 'log' && e.pod === oldPod && /GET \//.test(String(e.line)), 20_000, from);
    // …and says so: the forward's last word is `ready` again, not the outage's `reconnecting`.
    await dev.waitFor((e) => e.type === 'forward' && e.resource === 'service/hello' && e.status === 'ready' && e.pod === oldPod && e.localPort === project.helloPort, 20_000, from);

    const again = dev.events.length;
    const main = join(project.dir, 'hello/main.go');
    await writeFile(main, (await readFile(main, 'utf8')).replace('Hello from devloop v2', 'Hello from devloop v3'));
    const ok = await dev.waitFor(finished, 90_000, again);
    expect(ok).toMatchObject({ status: 'ok' });
    expect(await fetchUntil(hello + '/', (b) => b.includes('Hello from devloop v3'))).toContain('Hello from devloop v3');
    const newPod = helloPod(project);
    expect(newPod).not.toBe(oldPod);
    await dev.waitFor((e) => e.type === 'log' && e.pod === newPod && /GET \//.test(String(e.line)), 20_000, again);
    expect(dev.events.filter((e) => e.type === 'forward' && e.resource === 'service/hello').map((e) => e.localPort)).toEqual(
      expect.arrayContaining([project.helloPort]),
    );
    expect(new Set(dev.events.filter((e) => e.type === 'forward').map((e) => e.localPort))).toEqual(new Set([project.helloPort, project.quotePort]));

    expect(deployed(project).length).toBeGreaterThan(0);
    dev.child.kill('SIGINT');
    expect(await Promise.race([dev.exited, sleep(60_000).then(() => 'timeout')])).toBe(130);
    expect(deployed(project)).toEqual([]);
    expect(dev.stderr()).not.toMatch(STACK_LINE);
  }, 150_000);
});
