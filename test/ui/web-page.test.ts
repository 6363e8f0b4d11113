/**
 * The web view's page in a real browser (headless chromium), fed synthetic events: what it draws
 * for artifacts, workloads, forwards, iterations and logs, and that the log search filters.
 * test/cluster/web-view.test.ts does the same against a real `devloop dev --ui`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events/bus.js';
import { startWebView, type WebView } from '../../src/ui/web/server.js';
import { CHROMIUM, chromiumPresent, launchChromium, rowCells, type Browser } from '../support/chromium.js';

const present = chromiumPresent();
if (!present) console.log(`test/ui/web-page: skipped, no chromium at ${CHROMIUM} (DEVLOOP_TEST_CHROMIUM names another)`);

describe.skipIf(!present)('web view page (chromium)', () => {
  let bus: EventBus;
  let view: WebView;
  let browser: Browser;

  beforeAll(async () => {
    bus = new EventBus();
    view = await startWebView(bus, { summaryDelayMs: 10 });
    bus.emit({ type: 'iteration', n: 1, status: 'start', reason: 'initial build and deploy', changed: [] });
    bus.emit({ type: 'stage', stage: 'build', artifact: 'web', status: 'start' });
    bus.emit({ type: 'stage', stage: 'build', artifact: 'web', status: 'end', durationMs: 1500 });
    bus.emit({ type: 'artifact', image: 'web', tag: '127.0.0.1:5000/web:1a2b@sha256:ff', cached: false });
    bus.emit({ type: 'stage', stage: 'push', artifact: 'web', status: 'end', durationMs: 400 });
    bus.emit({ type: 'workload', resource: 'deployment/web', namespace: 'dev', state: 'ready', message: 'web: 1/1 replicas ready' });
    bus.emit({ type: 'forward', resource: 'service/web', port: 80, localPort: 18080, address: '127.0.0.1', status: 'ready', pod: 'web-abc' });
    bus.emit({
      type: 'iteration',
      n: 1,
      status: 'ok',
      durationMs: 2100,
      stages: [
        { stage: 'build', durationMs: 1500 },
        { stage: 'push', durationMs: 400 },
        { stage: 'apply', durationMs: 100 },
      ],
    });
    for (let i = 0; i < 5; i++) bus.emit({ type: 'log', pod: 'web-abc', container: 'web', line: `GET /item/${i} 200` });
    bus.emit({ type: 'log', pod: 'db-0', container: 'db', line: 'checkpoint <b>done</b>' });
    browser = await launchChromium();
    await browser.page.navigate(view.url);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await view?.close();
  });

  it('shows artifacts, workloads and forwards as links', async () => {
    const { page } = browser;
    await page.waitFor(`document.getElementById('connection').textContent === 'live'`, 10_000, 'the stream');
    const artifact = await page.waitFor<string[]>(rowCells('#artifacts tr[data-image="web"]'), 5_000, 'the artifact row');
    expect(artifact).toEqual(['web', 'push done in 400ms', '127.0.0.1:5000/web:1a2b@sha256:ff']);
    // A failed artifact shows the stage and the error.
    bus.emit({ type: 'stage', stage: 'compile', artifact: 'api', status: 'start' });
    bus.emit({ type: 'stage', stage: 'compile', artifact: 'api', status: 'error', durationMs: 90 });
    bus.emit({ type: 'error', code: 'COMPILE_FAILED', message: 'go build exited with code 1', artifact: 'api', stage: 'compile' });
    const failed = await page.waitFor<string[]>(rowCells('#artifacts tr[data-image="api"]'), 5_000, 'the failed artifact');
    expect(failed).toEqual(['api', 'compile failedgo build exited with code 1', '']);
    expect(await page.evaluate(`document.querySelector('#artifacts tr[data-image="api"] .failure').textContent`)).toBe('go build exited with code 1');
    expect(await page.evaluate(rowCells('#workloads tr[data-resource="deployment/web"]'))).toEqual([
      'deployment/web (dev)',
      'ready',
      'web: 1/1 replicas ready',
    ]);
    expect(await page.evaluate(`document.querySelector('#forwards a').href`)).toBe('http://127.0.0.1:18080/');
  });

  it('draws a stacked bar per iteration, and a new one live', async () => {
    const { page } = browser;
    expect(await page.evaluate(`[...document.querySelectorAll('#timeline g.bar[data-n="1"] rect.segment')].map((r) => r.dataset.stage)`)).toEqual(['build', 'push', 'apply']);
    const heights = await page.evaluate<number[]>(`[...document.querySelectorAll('#timeline g.bar[data-n="1"] rect.segment')].map((r) => Number(r.getAttribute('height')))`);
    expect(heights[0]).toBeGreaterThan(heights[1]! * 3); // 1500 ms vs 400 ms
    bus.emit({ type: 'iteration', n: 2, status: 'start', reason: 'sync web: www/a.txt changed', changed: ['www/a.txt'] });
    bus.emit({ type: 'stage', stage: 'sync', artifact: 'web', status: 'end', durationMs: 60 });
    bus.emit({ type: 'iteration', n: 2, status: 'ok', durationMs: 70, stages: [{ stage: 'sync', durationMs: 60 }] });
    await page.waitFor(`document.querySelector('#timeline g.bar.ok[data-n="2"] rect.segment[data-stage="sync"]')`, 5_000, 'the second bar');
    expect(await page.evaluate(`document.getElementById('last-iteration').textContent`)).toMatch(/^iteration 2 ok in 70ms — sync web: www\/a.txt changed \(−2\.0s vs iteration 1\)$/);
  });

  it('shows logs per pod, filters them by a search, as text (no markup from log lines)', async () => {
    const { page } = browser;
    expect(await page.evaluate(`document.querySelectorAll('#logs .line').length`)).toBe(6);
    expect(await page.evaluate(`document.querySelector('#logs b')`)).toBeNull();
    await page.type('#search', 'item/3');
    await page.waitFor(`document.querySelectorAll('#logs .line').length === 1`, 5_000, 'the filtered log');
    expect(await page.evaluate(`document.querySelector('#logs .line').textContent`)).toBe('[web-abc/web] GET /item/3 200');
    expect(await page.evaluate(`document.querySelector('#logs mark').textContent`)).toBe('item/3');
    expect(await page.evaluate(`document.getElementById('matches').textContent`)).toBe('1 matching line');
    // A new matching line arrives live; one that does not match stays hidden.
    bus.emit({ type: 'log', pod: 'web-abc', container: 'web', line: 'GET /item/3 304' });
    bus.emit({ type: 'log', pod: 'web-abc', container: 'web', line: 'GET /other 200' });
    await page.waitFor(`document.querySelectorAll('#logs .line').length === 2`, 5_000, 'the live matching line');
    // One pod's stream only.
    await page.evaluate(`(() => { const s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input')); const p = document.getElementById('stream'); p.value = 'db-0/db'; p.dispatchEvent(new Event('change')); })()`);
    expect(await page.evaluate(`[...document.querySelectorAll('#logs .line')].map((l) => l.textContent)`)).toEqual(['[db-0/db] checkpoint <b>done</b>']);
  });

  it('says when the session ended', async () => {
    await view.close();
    await browser.page.waitFor(`document.getElementById('connection').textContent === 'session ended'`, 5_000, 'the end of the session');
  });
});
