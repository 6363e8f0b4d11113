/**
 * `devloop dev` end to end on a real cluster: a change → a new image → the new version through the
 * same forwarded port (and the new pod's logs across the rollout); a synced file served without a
 * build; Ctrl-C removes everything the session deployed; after `kill -9`, `devloop delete` removes
 * the orphans.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { devloop, killAll, portClosed, stackLines, startDevloop, type CliEvent, type RunningCli } from '../e2e/support.js';
import { freePort } from '../support/services.js';
import { clusterPresent, get, iteration, labeled, openCluster, shellApp, startDevServing, until, type Cluster, type ShellApp } from './support.js';

const present = await clusterPresent();


/** Events of iteration n, from its start to its end. */
function eventsOf(cli: RunningCli, n: number): CliEvent[] {
  const start = cli.events.findIndex(iteration('start', n));
  const end = cli.events.findIndex((e, i) => i > start && e.type === 'iteration' && e.n === n && e.status !== 'start');
  return cli.events.slice(start, end + 1);
}

describe.skipIf(!present)('devloop dev on a real cluster', () => {
  let cluster: Cluster;
  let app: ShellApp;
  let env: Record<string, string>;
  let dev: RunningCli;
  let url: string;
  let localPort: number;

  beforeAll(async () => {
    cluster = await openCluster('dev');
    localPort = await freePort();
    app = await shellApp('dev', { extraConfig: `portForward:\n  - {resource: service/web, port: 80, localPort: ${localPort}}\n` });
    env = { ...cluster.env, ...app.env };
    ({ dev, url } = await startDevServing(app.dir, ['-n', cluster.namespace, '--debounce', '150'], env));
  }, 240_000);
  afterAll(async () => {
    await killAll();
    await cluster?.dispose();
    await app?.remove();
  });

  it('serves the first version through the forward', async () => {
    expect((await get(`${url}/version`))?.trim()).toBe('v1');
    expect(await labeled(cluster)).toEqual(expect.arrayContaining(['Deployment/web', 'Service/web']));
  });

  it('a changed file of the image → rebuild, rollout, the new version on the same port; the new pod\'s logs follow the rollout', async () => {
    const from = dev.events.length;
    await writeFile(join(app.dir, 'web', 'www', 'version'), 'v2\n');
    await dev.waitFor(iteration('ok', 2), 120_000, from);
    const events = eventsOf(dev, 2);
    expect(events[0]).toMatchObject({ reason: expect.stringMatching(/^rebuild web/), changed: ['web/www/version'] });
    expect(events.filter((e) => e.type === 'stage' && e.status === 'end').map((e) => e.stage)).toEqual(expect.arrayContaining(['build', 'push', 'apply', 'status']));
    // The same local port, now answered by the new pod (ready as soon as the iteration is ok).
    const body = await until('v2 through the forward', async () => (await get(`${url}/version`))?.trim() === 'v2' && 'v2', 15_000);
    expect(body).toBe('v2');
    expect(dev.events.filter((e) => e.type === 'forward' && e.status === 'ready').every((e) => e.localPort === localPort)).toBe(true);
    // Log streaming across the rollout: the new pod's start line arrives without restarting anything.
    const started = await dev.waitFor((e) => e.type === 'log' && /^starting web-[a-z0-9-]+ version=v2$/.test(String(e.line)), 30_000, from);
    expect(started.container).toBe('web');
  }, 180_000);

  it('a file matched by a sync rule → copied into the running container, no build', async () => {
    const from = dev.events.length;
    await writeFile(join(app.dir, 'web', 'www', 'public', 'page.txt'), 'page two\n');
    await dev.waitFor((e) => e.type === 'iteration' && e.status !== 'start' && e.n === 3, 60_000, from);
    const events = eventsOf(dev, 3);
    expect(events[0]).toMatchObject({ reason: 'sync web: www/public/page.txt changed' });
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    expect(events.filter((e) => e.type === 'stage').map((e) => `${e.stage}:${e.status}`)).toEqual(['sync:start', 'sync:end']);
    expect(await until('the synced page through the forward', async () => (await get(`${url}/public/page.txt`))?.trim() === 'page two' && 'ok', 15_000)).toBe('ok');
  }, 120_000);

  it('Ctrl-C: exits 130, closes the port and deletes everything the session deployed', async () => {
    const { code } = await dev.signal('SIGINT', 90_000);
    expect(code, dev.stderr()).toBe(130);
    expect(stackLines(dev.stdout() + dev.stderr())).toEqual([]);
    expect(await portClosed(localPort)).toBe(true);
    // Deleted and waited for by devloop (pods included: they go with their ReplicaSet).
    expect((await labeled(cluster)).filter((o) => !o.startsWith('Pod/'))).toEqual([]);
    await until('the session\'s pods to be gone', async () => (await labeled(cluster)).length === 0, 60_000);
  }, 120_000);

  it('kill -9 leaves orphans; `devloop delete` removes them', async () => {
    const again = startDevloop(app.dir, ['dev', '-n', cluster.namespace, '-o', 'json', '--debounce', '150'], env);
    await again.waitFor(iteration('ok', 1), 180_000);
    await again.signal('SIGKILL', 10_000);
    const orphans = await labeled(cluster);
    expect(orphans).toEqual(expect.arrayContaining(['Deployment/web', 'Service/web']));

    const result = await devloop(app.dir, ['delete', '-n', cluster.namespace, '-o', 'json'], env, 120_000);
    expect(result.exitCode, result.stdout.slice(-3000) + result.stderr).toBe(0);
    expect((await labeled(cluster)).filter((o) => !o.startsWith('Pod/'))).toEqual([]);
    await until('the orphaned pods to be gone', async () => (await labeled(cluster)).length === 0, 60_000);
  }, 240_000);
});
