/**
 * Log streaming against the fake API server: pods replaced by rollouts, streams dropped mid-way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { startLogStreams } from '../../src/logs/index.js';
import { tailAndForward } from '../../src/runner/tail.js';
import type { ForwardEvent, LogEvent } from '../../src/events/types.js';
import { dropLogStreams } from '../support/fake-kube/logs.js';
import { freePort } from '../support/services.js';
import { app, CONFIG_NAME, deploy, eventually, httpGet, loadedConfig, recorder, redeploy, servingPods, startCluster, type Cluster } from '../forward/helpers.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
  await deploy(cluster, app({ name: 'talk', servicePort: 9200, targetPort: 8080 }));
});
afterAll(async () => {
  await cluster?.stop();
});

/** A request straight to the pod's simulated server: the pod logs "GET <path>". */
function hitPod(pod: string, path: string): Promise<void> {
  const endpoint = cluster.fake.runtime.endpoint(`default/${pod}`, 'talk', 8080);
  if (!endpoint) throw new Error(`pod ${pod} has no endpoint`);
  return new Promise((resolve, reject) => {
    const req = request({ host: endpoint.host, port: endpoint.port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

const logLines = (events: { type: string }[]): LogEvent[] => events.filter((e): e is LogEvent & { time: string } => e.type === 'log');

describe('log streaming', () => {
  it('streams every container with pod/container, resumes after drops without repeating, follows rollouts', async () => {
    const { emit, events } = recorder();
    const abort = new AbortController();
    const session = startLogStreams({ kube: cluster.kube, emit, signal: abort.signal, namespace: 'default', labelSelector: `devloop.dev/config=${CONFIG_NAME}` });
    try {
      const [first] = servingPods(cluster.fake, 'talk');
      await eventually(() => logLines(events).find((e) => e.pod === first && e.line === 'listening on :8080'));
      expect(logLines(events)[0]).toMatchObject({ pod: first, container: 'talk', line: 'starting talk image=example.test/talk:1' });

      for (let i = 0; i < 5; i++) await hitPod(first!, `/before-${i}`);
      await eventually(() => logLines(events).find((e) => e.line === 'GET /before-4'));
      // Cut the stream twice, with lines written while it is down and right after.
      for (let round = 0; round < 2; round++) {
        expect(dropLogStreams()).toBeGreaterThanOrEqual(1);
        for (let i = 0; i < 5; i++) await hitPod(first!, `/drop${round}-${i}`);
        await eventually(() => logLines(events).find((e) => e.line === `GET /drop${round}-4`));
      }

      await redeploy(cluster, 'talk', 1);
      const second = await eventually(() => servingPods(cluster.fake, 'talk').find((p) => p !== first));
      await eventually(() => logLines(events).find((e) => e.pod === second && e.line === 'listening on :8080'));
      await eventually(() => (servingPods(cluster.fake, 'talk').includes(first!) ? undefined : true));
      await eventually(() => (session.following().some((k) => k.startsWith(`${first}/`)) ? undefined : true), 5_000);
      await hitPod(second!, '/after');
      await eventually(() => logLines(events).find((e) => e.pod === second && e.line === 'GET /after'));
      // A line written now arrives after anything a stream would still repeat (lines come in order;
      // the first pod's streams are closed): the proof that nothing came twice, without a fixed wait.
      await hitPod(second!, '/sentinel');
      await eventually(() => logLines(events).find((e) => e.pod === second && e.line === 'GET /sentinel'));

      const lines = logLines(events).map((e) => `${e.pod} ${e.container} ${e.line}`);
      expect(new Set(lines).size).toBe(lines.length); // no line twice
      const ofFirst = logLines(events).filter((e) => e.pod === first).map((e) => e.line);
      expect(ofFirst.slice(0, 2)).toEqual(['starting talk image=example.test/talk:1', 'listening on :8080']);
      expect(ofFirst.filter((l) => l.startsWith('GET '))).toEqual([
        ...[0, 1, 2, 3, 4].map((i) => `GET /before-${i}`),
        ...[0, 1, 2, 3, 4].map((i) => `GET /drop0-${i}`),
        ...[0, 1, 2, 3, 4].map((i) => `GET /drop1-${i}`),
      ]);
      expect(session.following()).toEqual([`${second}/talk`]);
      // The drops were resumed from the last timestamp, not from the start.
      const resumed = cluster.fake.requests.filter((r) => r.path === `/api/v1/namespaces/default/pods/${first}/log` && r.query.sinceTime);
      expect(resumed.length).toBeGreaterThanOrEqual(2);
      expect(resumed[0]!.query).toMatchObject({ container: 'talk', follow: 'true', timestamps: 'true' });
    } finally {
      abort.abort();
      await session.close();
    }
  });

  it('tailAndForward streams logs and forwards until the signal aborts, then closes everything', async () => {
    const { emit, events } = recorder();
    const abort = new AbortController();
    const localPort = await freePort();
    const running = tailAndForward({
      kube: cluster.kube,
      loaded: loadedConfig([{ resource: 'service/talk', port: 9200, localPort }]),
      emit,
      signal: abort.signal,
      portForward: false,
    });
    const ready = await eventually(() => events.find((e): e is ForwardEvent & { time: string } => e.type === 'forward' && e.status === 'ready'));
    expect(ready.localPort).toBe(localPort);
    await httpGet(localPort, '/through-forward');
    await eventually(() => logLines(events).find((e) => e.line === 'GET /through-forward'));
    abort.abort();
    await running;
    expect(events.filter((e) => e.type === 'forward').at(-1)).toMatchObject({ status: 'stopped', localPort });
    await expect(httpGet(localPort, '/', 500)).rejects.toThrow();
  });

  it('an API outage longer than the stream retries: the log is followed again, without repeats, once the API is back', async () => {
    const { emit, events } = recorder();
    const abort = new AbortController();
    const session = startLogStreams({ kube: cluster.kube, emit, signal: abort.signal, namespace: 'default', labelSelector: `devloop.dev/config=${CONFIG_NAME}`, maxRetries: 2 });
    try {
      const [pod] = servingPods(cluster.fake, 'talk');
      await hitPod(pod!, '/before-outage');
      await eventually(() => logLines(events).find((e) => e.pod === pod && e.line === 'GET /before-outage'));
      await cluster.fake.controls.setUnavailable(true);
      await hitPod(pod!, '/during-outage');
      const gaveUp = await eventually(() => events.find((e) => e.type === 'notice' && /keeps failing/.test(e.message)), 10_000);
      expect((gaveUp as { message: string }).message).not.toContain('\n');
      await cluster.fake.controls.setUnavailable(false);
      await eventually(() => logLines(events).find((e) => e.pod === pod && e.line === 'GET /during-outage'), 10_000);
      await hitPod(pod!, '/after-outage');
      await eventually(() => logLines(events).find((e) => e.pod === pod && e.line === 'GET /after-outage'));
      const lines = logLines(events).map((e) => `${e.pod} ${e.line}`);
      expect(new Set(lines).size).toBe(lines.length);
    } finally {
      await cluster.fake.controls.setUnavailable(false);
      abort.abort();
      await session.close();
    }
  });
});
