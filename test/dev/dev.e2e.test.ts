/**
 * `devloop dev` end to end: the CLI as a child process (`--output json`), the fake API server with
 * real containers (docker runtime), a real registry. Needs dockerd, docker-registry and Go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerAvailable, registryBinaryAvailable, servicesRequired } from '../support/services.js';
import { bin, deployed, fetchUntil, startDev, startDevProject, stopDevProject, type DevEvent, type DevProcess, type Project } from './harness.js';

const haveServices = (await dockerAvailable()) && registryBinaryAvailable();
if (!haveServices && servicesRequired) throw new Error('dockerd and docker-registry are required (DEVLOOP_TEST_REQUIRE_SERVICES=1)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isIteration = (status: string, n?: number) => (e: DevEvent) => e.type === 'iteration' && e.status === status && (n === undefined || e.n === n);

/** The number the next iteration gets. */
const nextN = (dev: DevProcess): number => dev.events.filter(isIteration('start')).length + 1;

/**
 * Proof that the writes before it start no (further) iteration, without a fixed wait: a synced file
 * saved now is noticed after them, so an iteration they caused starts before the sentinel's, or
 * shares its batch and lists them in `changed`. Returns the iteration starts since `from`.
 */
async function afterSentinel(dev: DevProcess, dir: string, from: number): Promise<DevEvent[]> {
  const name = `sentinel-${dev.events.length}.html`;
  await writeFile(join(dir, 'hello/public', name), 'sentinel\n');
  await dev.waitFor((e) => e.type === 'iteration' && e.status === 'ok' && String(e.reason).includes(name), 60_000, from);
  const starts = dev.events.slice(from).filter(isIteration('start'));
  expect(starts.at(-1)).toMatchObject({ changed: [`hello/public/${name}`] });
  return starts.slice(0, -1);
}

/** Events of iteration n (from its start to its end). */
function eventsOf(dev: DevProcess, n: number): DevEvent[] {
  const start = dev.events.findIndex(isIteration('start', n));
  const end = dev.events.findIndex((e, i) => i > start && e.type === 'iteration' && e.n === n && e.status !== 'start');
  return dev.events.slice(start, end + 1);
}

describe.skipIf(!haveServices)('devloop dev (fake API server, real dockerd and registry)', () => {
  let project: Project;
  let dev: DevProcess;
  let hello: string;

  beforeAll(async () => {
    ({ project, dev, hello } = await startDevProject(240_000));
  }, 300_000);

  afterAll(async () => {
    await stopDevProject(dev, project);
  }, 120_000);

  it('starts with a full run: both artifacts built, deployed, forwarded', async () => {
    expect(await fetchUntil(hello + '/', (b) => b.includes('Hello from devloop v1'))).toContain('Hello from devloop v1');
    const first = eventsOf(dev, 1);
    expect(first[0]).toMatchObject({ reason: 'initial build and deploy' });
    expect(new Set(first.filter((e) => e.type === 'stage' && e.stage === 'build').map((e) => e.artifact))).toEqual(new Set(['hello', 'quote']));
    expect(dev.events.filter((e) => e.type === 'forward' && e.status === 'ready').map((e) => e.localPort)).toContain(project.helloPort);
  });

  it('a source edit → one iteration, only hello rebuilt (compile included), new response on the same port', async () => {
    const from = dev.events.length;
    const n = nextN(dev);
    const main = join(project.dir, 'hello/main.go');
    await writeFile(main, (await readFile(main, 'utf8')).replace('Hello from devloop v1', 'Hello from devloop v2'));
    const done = await dev.waitFor(isIteration('ok', n), 120_000, from);
    expect(await fetchUntil(hello + '/', (b) => b.includes('v2'))).toContain('Hello from devloop v2');
    const events = eventsOf(dev, n);
    expect(events[0]).toMatchObject({ reason: 'rebuild hello: main.go changed', changed: ['hello/main.go'] });
    const built = events.filter((e) => e.type === 'stage' && e.artifact !== undefined && e.status === 'end');
    expect(new Set(built.map((e) => e.artifact))).toEqual(new Set(['hello']));
    expect(built.map((e) => e.stage)).toEqual(expect.arrayContaining(['compile', 'build', 'push']));
    expect((done.stages as { stage: string }[]).map((s) => s.stage)).toEqual(expect.arrayContaining(['compile', 'build', 'apply', 'status']));
    expect(await afterSentinel(dev, project.dir, from)).toHaveLength(1);
  });

  it('a synced file → served content changes with no build event', async () => {
    const from = dev.events.length;
    const n = nextN(dev);
    await writeFile(join(project.dir, 'hello/public/index.html'), '<h1>synced v2</h1>\n');
    await dev.waitFor(isIteration('ok', n), 60_000, from);
    expect(await fetchUntil(hello + '/static/index.html', (b) => b.includes('synced v2'))).toContain('synced v2');
    const events = eventsOf(dev, n);
    expect(events[0]).toMatchObject({ reason: 'sync hello: public/index.html changed' });
    const stages = events.filter((e) => e.type === 'stage').map((e) => `${e.stage}:${e.status}`);
    expect(stages).toEqual(['sync:start', 'sync:end']);
  });

  it('a burst of 10,000 file writes → exactly one iteration', async () => {
    const from = dev.events.length;
    const n = nextN(dev);
    const dir = join(project.dir, 'hello/public/burst');
    await mkdir(dir);
    for (let i = 0; i < 10_000; i += 250) {
      await Promise.all(Array.from({ length: 250 }, (_, j) => writeFile(join(dir, `f${i + j}.txt`), `${i + j}\n`)));
    }
    await dev.waitFor(isIteration('ok', n), 120_000, from);
    const starts = await afterSentinel(dev, project.dir, from);
    expect(starts).toHaveLength(1);
    expect(starts[0]!.reason).toMatch(/^sync hello: public\/burst\/f0\.txt and 9999 more changed$/);
    expect(await fetchUntil(hello + '/static/burst/f9999.txt', (b) => b.trim() === '9999')).toBe('9999\n');
  }, 180_000);

  it('editor temp files cause no iteration', async () => {
    const from = dev.events.length;
    await writeFile(join(project.dir, 'hello/.main.go.swp'), 'swap');
    await writeFile(join(project.dir, 'hello/4913'), '');
    await writeFile(join(project.dir, 'hello/main.go~'), 'backup');
    await writeFile(join(project.dir, 'hello/README.md'), 'dockerignored');
    expect(await afterSentinel(dev, project.dir, from)).toEqual([]);
  });

  it('a broken save shows the compile error and keeps the old version serving; the fix recovers', async () => {
    const from = dev.events.length;
    const main = join(project.dir, 'hello/main.go');
    const good = await readFile(main, 'utf8');
    await writeFile(main, good.replace('package main', 'package main\n\nfunc broken( {'));
    const failed = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 120_000, from);
    expect(failed.status).toBe('error');
    const events = dev.events.slice(from);
    expect(events.some((e) => e.type === 'stage' && e.stage === 'compile' && e.status === 'error')).toBe(true);
    expect(events.some((e) => e.type === 'log' && e.stage === 'compile' && /syntax error|expected/.test(String(e.line)))).toBe(true);
    // The failed iteration reports its failure once (the build stage only throws; the iteration ends it).
    expect(events.filter((e) => e.type === 'error').map((e) => [e.code, e.artifact, e.stage])).toEqual([['COMPILE_FAILED', 'hello', 'compile']]);
    expect(await fetchUntil(hello + '/', (b) => b.includes('v2'))).toContain('Hello from devloop v2');

    const again = dev.events.length;
    await writeFile(main, good.replace('Hello from devloop v2', 'Hello from devloop v3'));
    const ok = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 120_000, again);
    expect(ok.status).toBe('ok');
    expect(await fetchUntil(hello + '/', (b) => b.includes('v3'))).toContain('Hello from devloop v3');
  }, 240_000);

  it('a broken devloop.yaml keeps the old config running and says why; the fixed file reloads', async () => {
    const file = join(project.dir, 'devloop.yaml');
    const good = await readFile(file, 'utf8');
    const from = dev.events.length;
    await writeFile(file, good.replace('tagPolicy: inputDigest', 'tagPolicy: [broken'));
    const failed = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 60_000, from);
    expect(failed).toMatchObject({ status: 'error' });
    expect(String(failed.reason)).toMatch(/still running the previous config/);
    expect(await fetchUntil(hello + '/', (b) => b.includes('v3'))).toContain('Hello from devloop v3');

    const again = dev.events.length;
    await writeFile(file, good);
    const ok = await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start', 120_000, again);
    expect(ok).toMatchObject({ status: 'ok', reason: 'reload config: devloop.yaml changed' });
    // the watcher was rebuilt for the new config: a sync still works
    const later = dev.events.length;
    await writeFile(join(project.dir, 'hello/public/index.html'), '<h1>after reload</h1>\n');
    await dev.waitFor(isIteration('ok'), 60_000, later);
    expect(await fetchUntil(hello + '/static/index.html', (b) => b.includes('after reload'))).toContain('after reload');
  }, 240_000);

  it('Ctrl-C deletes everything the session deployed', async () => {
    expect(deployed(project).length).toBeGreaterThan(0);
    dev.child.kill('SIGINT');
    expect(await Promise.race([dev.exited, sleep(90_000).then(() => 'timeout')])).toBe(130); // 128 + SIGINT, after cleaning up (README: Exit codes)
    expect(deployed(project)).toEqual([]);
    expect(dev.events.some((e) => e.type === 'stage' && e.stage === 'delete' && e.status === 'end')).toBe(true);
  }, 120_000);

  it('after kill -9, `devloop delete` removes the orphans', async () => {
    const second = startDev(project);
    await second.waitFor(isIteration('ok', 1), 180_000);
    expect(deployed(project).length).toBeGreaterThan(0);
    second.child.kill('SIGKILL');
    await second.exited;
    const result = await execa(process.execPath, [bin, 'delete', '--output', 'json'], { cwd: project.dir, env: project.env, reject: false, timeout: 90_000 });
    expect(result.exitCode).toBe(0);
    expect(deployed(project)).toEqual([]);
  }, 240_000);

  it('after kill -9, the next `devloop dev` removes the orphans first', async () => {
    const third = startDev(project);
    await third.waitFor(isIteration('ok', 1), 180_000);
    const firstPods = project.fake.objects.list('Pod').map((p) => p.metadata.name);
    third.child.kill('SIGKILL');
    await third.exited;
    const fourth = startDev(project);
    try {
      await fourth.waitFor((e) => e.type === 'notice' && /left by an earlier dev session/.test(String(e.message)), 60_000);
      await fourth.waitFor(isIteration('ok', 1), 180_000);
      const pods = project.fake.objects.list('Pod').map((p) => p.metadata.name);
      expect(pods.filter((name) => firstPods.includes(name))).toEqual([]);
      // stdin commands (keys on a TTY): s prints a status line, q quits and cleans up
      const before = fourth.events.length;
      fourth.child.stdin!.write('s\n');
      const status = await fourth.waitFor((e) => e.type === 'notice' && /images: /.test(String(e.message)), 10_000, before);
      expect(String(status.message)).toMatch(/iteration 1 ok.*forwards: service\/hello/);
      fourth.child.stdin!.write('q\n');
      expect(await Promise.race([fourth.exited, sleep(90_000).then(() => 'timeout')])).toBe(0);
    } finally {
      if (fourth.child.exitCode === null) fourth.child.kill('SIGKILL');
      await fourth.exited;
    }
    expect(deployed(project)).toEqual([]);
  }, 360_000);
});
