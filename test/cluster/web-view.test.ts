/**
 * `devloop dev --ui` on a real cluster, looked at in a real browser (headless chromium over CDP):
 * after a real iteration the page shows the artifact's state and image, the workload ready, the
 * forward as a link, a stacked bar for the iteration and the pod's log line (searchable); a changed
 * file gives a second bar live. The screenshot is kept in test-results/web-view.png
 * (DEVLOOP_TEST_UPDATE_DOCS=1 also copies it to docs/web-view.png, the README's picture).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killAll, ROOT, startDevloop, type RunningCli } from '../e2e/support.js';
import { freePort, testRegistry } from '../support/services.js';
import { CHROMIUM, chromiumPresent, launchChromium, rowCells, type Browser } from '../support/chromium.js';
import { clusterPresent, get, iteration, openCluster, shellApp, type Cluster, type ShellApp } from './support.js';

const present = await clusterPresent();
const chromium = chromiumPresent();
if (present && !chromium) console.log(`test/cluster/web-view: skipped, no chromium at ${CHROMIUM} (DEVLOOP_TEST_CHROMIUM names another)`);

const segments = (n: number): string => `[...document.querySelectorAll('#timeline g.bar.ok[data-n="${n}"] rect.segment')].map((r) => r.dataset.stage)`;
const logLines = `[...document.querySelectorAll('#logs .line')].map((l) => l.textContent)`;

describe.skipIf(!present || !chromium)('devloop dev --ui in a browser, on a real cluster', () => {
  let cluster: Cluster;
  let app: ShellApp;
  let dev: RunningCli;
  let browser: Browser;
  let localPort: number;
  let url: string;

  beforeAll(async () => {
    cluster = await openCluster('web');
    localPort = await freePort();
    app = await shellApp('web', { extraConfig: `portForward:\n  - {resource: service/web, port: 80, localPort: ${localPort}}\n` });
    dev = startDevloop(app.dir, ['dev', '-n', cluster.namespace, '-o', 'json', '--ui', '--debounce', '150'], { ...cluster.env, ...app.env });
    const notice = await dev.waitFor((e) => e.type === 'notice' && /^web view at /.test(String(e.message)), 30_000);
    url = /^web view at (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(String(notice.message))![1]!;
    await dev.waitFor(iteration('ok', 1), 180_000);
    browser = await launchChromium({ width: 1280, height: 1200 });
    await browser.page.navigate(url);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await killAll();
    await cluster?.dispose();
    await app?.remove();
  });

  it('after the first iteration: the artifact built and pushed, the workload ready, the forward as a link, a bar in the timeline', async () => {
    const { page } = browser;
    await page.waitFor(`document.getElementById('connection').textContent === 'live'`, 10_000, 'the event stream');
    const artifact = await page.waitFor<string[]>(rowCells('#artifacts tr[data-image="web"]'), 10_000, 'the artifact row');
    expect(artifact[1]).toMatch(/^push done in \d/);
    const registry = (await testRegistry()).replace(/[.]/g, '\\.');
    expect(artifact[2]).toMatch(new RegExp(`^${registry}/devloop-cluster-web-[0-9a-f]+/web:[0-9a-f]+@sha256:[0-9a-f]{64}$`));
    expect(await page.evaluate(rowCells('#workloads tr[data-resource="deployment/web"]'))).toEqual([`deployment/web (${cluster.namespace})`, 'ready', 'web: 1/1 replicas ready']);
    const href = await page.evaluate<string>(`document.querySelector('#forwards li[data-resource="service/web"] a').href`);
    expect(href).toBe(`http://127.0.0.1:${localPort}/`);
    expect((await get(`${href}version`))?.trim()).toBe('v1'); // the link leads to the app
    expect(await page.evaluate(segments(1))).toEqual(expect.arrayContaining(['build', 'push', 'render', 'apply', 'status']));
    expect(await page.evaluate(`document.getElementById('last-iteration').textContent`)).toMatch(/^iteration 1 ok in [\d.]+m?s — initial build and deploy$/);
  });

  it('shows the pod\'s log lines and finds them by a search', async () => {
    const { page } = browser;
    await page.waitFor(`${logLines}.some((l) => /^\\[web-[a-z0-9-]+\\/web\\] starting web-[a-z0-9-]+ version=v1$/.test(l))`, 30_000, 'the pod\'s start line');
    // The readiness probe's request lines (httpd -v) are the haystack.
    await page.waitFor(`${logLines}.filter((l) => l.endsWith('response:200')).length >= 3`, 30_000, 'request lines');
    await page.type('#search', 'version=');
    const found = await page.waitFor<string[]>(`(() => { const lines = ${logLines}; return lines.length === 1 && lines; })()`, 5_000, 'only the matching line');
    expect(found[0]).toMatch(/starting web-\S+ version=v1$/);
    expect(await page.evaluate(`document.querySelector('#logs mark').textContent`)).toBe('version=');
  });

  it('a changed file → a second iteration: a second bar appears live, and the new pod\'s line matches the search', async () => {
    const { page } = browser;
    const from = dev.events.length;
    await writeFile(join(app.dir, 'web', 'www', 'version'), 'v2\n');
    await dev.waitFor(iteration('ok', 2), 120_000, from);
    await page.waitFor(`${segments(2)}.includes('build')`, 10_000, 'the second bar');
    expect(await page.evaluate(`document.querySelectorAll('#timeline g.bar').length`)).toBe(2);
    expect(await page.evaluate(`document.getElementById('last-iteration').textContent`)).toMatch(/^iteration 2 ok in [\d.]+m?s — rebuild web: www\/version changed \([+−][\d.]+m?s vs iteration 1\)$/);
    await page.waitFor(`${logLines}.some((l) => l.endsWith('version=v2'))`, 30_000, 'the new pod\'s start line, through the search');

    // A synced file: a third, small bar (sync only).
    await writeFile(join(app.dir, 'web', 'www', 'public', 'page.txt'), 'page two\n');
    await dev.waitFor(iteration('ok', 3), 60_000, from);
    await page.waitFor(`${segments(3)}.join() === 'sync'`, 10_000, 'the third bar');

    const png = await page.screenshot();
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    await mkdir(join(ROOT, 'test-results'), { recursive: true });
    await writeFile(join(ROOT, 'test-results', 'web-view.png'), png);
    if (process.env.DEVLOOP_TEST_UPDATE_DOCS === '1') await copyFile(join(ROOT, 'test-results', 'web-view.png'), join(ROOT, 'docs', 'web-view.png'));
  }, 180_000);

  it('Ctrl-C: the page says the session ended', async () => {
    const { code } = await dev.signal('SIGINT', 90_000);
    expect(code).toBe(130);
    await browser.page.waitFor(`document.getElementById('connection').textContent === 'session ended'`, 10_000, 'the end of the session');
  }, 120_000);
});
