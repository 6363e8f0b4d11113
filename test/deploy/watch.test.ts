import { afterEach, describe, expect, it } from 'vitest';
import { watchCollection } from '../../src/deploy/watch.js';
import { applyObjects } from '../../src/deploy/apply.js';
import { startHarness, rendered, SERVICE, type Harness } from './support.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.fake.stop();
  harness = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('watchCollection', () => {
  it('resumes from the last resourceVersion when the stream drops, and relists after 410 Gone', async () => {
    harness = await startHarness();
    const h = harness;
    const stop = new AbortController();
    const seen: number[] = [];
    const watching = watchCollection(h.api, { apiVersion: 'v1', kind: 'Service', namespace: 'default' }, (objects) => seen.push(objects.size), stop.signal);
    await sleep(300);
    h.fake.controls.dropWatches();
    await sleep(200);
    await applyObjects({ api: h.api, objects: rendered(SERVICE('a')), emit: h.emit, signal: stop.signal });
    await sleep(300);
    h.fake.controls.dropWatches();
    h.fake.controls.compactWatchHistory();
    await applyObjects({ api: h.api, objects: rendered(SERVICE('b')), emit: h.emit, signal: stop.signal });
    await sleep(500);
    stop.abort();
    await watching;
    expect(seen.at(-1)).toBe(2);
    const watches = h.fake.requests.filter((r) => r.path === '/api/v1/namespaces/default/services' && r.query.watch === 'true');
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(watches.slice(1).every((r) => r.query.resourceVersion)).toBe(true);
  });

  it('gives up after 6 failed connections in a row (rejects with the last error), and stops at once when aborted', async () => {
    harness = await startHarness();
    const h = harness;
    await h.api.resolve('v1', 'Service'); // discovery is cached: the failures are the list's
    await h.fake.controls.setUnavailable(true);
    const error = await watchCollection(h.api, { apiVersion: 'v1', kind: 'Service', namespace: 'default' }, () => undefined, new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    await h.fake.controls.setUnavailable(false);

    const stop = new AbortController();
    let notified!: () => void;
    const listed = new Promise<void>((resolve) => (notified = resolve));
    const watching = watchCollection(h.api, { apiVersion: 'v1', kind: 'Service', namespace: 'default' }, () => notified(), stop.signal);
    await listed;
    stop.abort();
    await watching; // resolves: an abort is no failure
  });
});
